"""This host's side of a move, read from the running system: its facts for a peer that asks, and what one
of its appliances needs. The side effects (xl, sysfs, the pools and disks) are all here; needs.py,
facts.py and checks.py only compute."""
from __future__ import annotations

import re
import socket
from pathlib import Path

from hypervisor.appliances.catalog import discover
from hypervisor.appliances.claims import disks_given
from hypervisor.appliances.manifest import Manifest
from hypervisor.appliances.new_guest import bridges
from hypervisor.host.summary import detect_hvm
from hypervisor.migration.facts import HostFacts
from hypervisor.migration.needs import GuestNeeds, guest_needs, normal_share
from hypervisor.storage.disks import Disks
from hypervisor.storage.named_pools import NamedPools
from hypervisor.xen.xl import Xl


def image_build(cmdline: Path = Path("/proc/cmdline")) -> str:
    """The XenBox build running here, as GRUB passed it to dom0 (xenbox.build=...)."""
    try:
        found = re.search(r"(?:^|\s)xenbox\.build=(\S+)", cmdline.read_text())
    except OSError:
        found = None
    return found.group(1) if found else "unknown"


def nfs_pools(pools: NamedPools | None = None) -> dict[str, tuple[str, Path]]:
    """Each NFS pool usable now: name -> (its share, where it is mounted)."""
    pools = pools or NamedPools()
    return {pool.name: (pool.share, pools.folder(pool)) for pool in pools.list()
            if pool.type == "nfs" and pool.share and pools.problem(pool) is None}


def iscsi_luns(disks: Disks | None = None) -> set[str]:
    """Every stable id of every disk that is a LUN of an attached iSCSI target."""
    listed = (disks or Disks(given=disks_given)).list()
    return {name for disk in listed if disk.transport == "iscsi" for name in (disk.stable_id, *disk.other_ids) if name}


def gather_facts(xl: Xl) -> HostFacts:
    info = xl.info()
    return HostFacts(
        name=socket.gethostname(), build=image_build(), xen_version=info.version, hw_caps=info.hw_caps,
        free_memory_mib=info.free_memory_mib, hvm=detect_hvm(xl, info).available, bridges=bridges(),
        nfs_shares=tuple(sorted({normal_share(share) for share, _ in nfs_pools().values()})),
        iscsi_luns=tuple(sorted(iscsi_luns())), appliances=tuple(sorted(entry.name for entry in discover())))


def needs_of(manifest: Manifest, xl: Xl) -> GuestNeeds:
    """What `manifest`'s guest needs on another host: its memory as it runs now (else as it would start)."""
    running = xl.domain(manifest.name)
    memory = running.memory_mib if running is not None else manifest.memory.initial_mib
    shares = nfs_pools()
    luns = iscsi_luns()
    return guest_needs(manifest, memory, {name: share for name, (share, _) in shares.items()},
                       {folder: share for share, folder in shares.values()}, lambda device: device in luns)
