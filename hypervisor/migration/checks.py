"""Every reason a target host cannot take a guest, each saying what to do. An empty list: it may move.

The checks run before anything moves, so a refusal leaves the guest running where it is.
"""
from __future__ import annotations

import re

from hypervisor.migration.facts import HostFacts
from hypervisor.migration.needs import ISCSI, NFS, GuestNeeds

MEMORY_MARGIN_MIB = 16      # the target's own bookkeeping for a new domain (page tables, grant frames)
NO_SHADOW = ("a PV guest cannot move while it runs: Debian's Xen is built without shadow paging, which a PV "
             "guest's live migration needs; stop it and move it cold (save, copy, restore), or run it as PVH")


def refusals(needs: GuestNeeds, source: HostFacts, target: HostFacts) -> list[str]:
    found = [f"{why}: move its data to shared storage (an NFS pool or an iSCSI LUN both hosts see)"
             for why in needs.local_only]
    if needs.type == "pv":
        found.append(NO_SHADOW)
    if needs.name in target.appliances:
        found.append(f"{target.name} already has an appliance named {needs.name}: remove or rename one of them")
    for need in needs.storage:
        if need.kind == NFS and need.identity not in target.nfs_shares:
            found.append(f"{target.name} has no pool on {need.identity} ({need.disk}): add that NFS share as a pool "
                         f"there (Storage screen, p)")
        if need.kind == ISCSI and need.identity not in target.iscsi_luns:
            found.append(f"{target.name} does not see {need.disk}: attach that iSCSI target there")
    for bridge in needs.bridges:
        if bridge not in target.bridges:
            found.append(f"{target.name} has no bridge {bridge}: add it there (Network screen)")
    wanted = needs.memory_mib + MEMORY_MARGIN_MIB
    if target.free_memory_mib < wanted:
        found.append(f"{target.name} has {target.free_memory_mib} MiB free and the guest needs {wanted} MiB: "
                     "free memory there, or give the guest less first (mem-set)")
    if needs.type in ("hvm", "pvh") and not target.hvm:
        found.append(f"{target.name} cannot run {needs.type.upper()} guests (no VT-x/AMD-V with hardware-assisted "
                     "paging, or switched off in its firmware)")
    found += _xen_versions(source, target)
    missing = missing_cpu_features(source.hw_caps, target.hw_caps)
    if missing:
        found.append(f"{target.name}'s CPU lacks features this host's has ({missing}): a guest using them would "
                     "fail there")
    return found


def _version(text: str) -> tuple[int, int] | None:
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _xen_versions(source: HostFacts, target: HostFacts) -> list[str]:
    """Xen takes guests from its own release and the one before, never from a newer one."""
    mine, theirs = _version(source.xen_version), _version(target.xen_version)
    if mine is None or theirs is None:
        return [f"the Xen versions cannot be compared ({source.xen_version}, {target.xen_version})"]
    if theirs < mine:
        return [f"{target.name} runs Xen {target.xen_version}, older than this host's {source.xen_version}: "
                "update it first"]
    if theirs[0] != mine[0] or theirs[1] > mine[1] + 1:
        return [f"{target.name} runs Xen {target.xen_version}, more than one release after this host's "
                f"{source.xen_version}: Xen moves guests only to the same release or the next"]
    return []


def missing_cpu_features(source: str, target: str) -> str:
    """The feature words (as word:bits) the source's CPU has and the target's lacks; '' when none."""
    try:
        mine = [int(word, 16) for word in source.split(":")]
        theirs = [int(word, 16) for word in target.split(":")]
    except ValueError:
        return "the CPU feature lists cannot be read"
    theirs += [0] * (len(mine) - len(theirs))
    lacking = [f"word {index}: {mine_word & ~their_word:08x}"
               for index, (mine_word, their_word) in enumerate(zip(mine, theirs)) if mine_word & ~their_word]
    return ", ".join(lacking)
