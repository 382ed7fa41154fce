"""The one gate for host paths given to a guest: its disks' files, its kernel and its ramdisk.

A guest may be given only
- a file inside its own bundle folder;
- an image file on a pool: the data store's `files` pool folder, or the folder of a pool added by name;
- a volume of the data store (`/dev/xenbox/NAME`), never the data store's own `data` volume,
  whose filesystem holds the host's configuration and every appliance.
- an ISO of the ISO library (the `isos` folder of a pool: hypervisor.storage.iso_library), and only as a
  read-only CD-ROM: guests share these images, and none may write to one;
A host disk is given only through a manifest's `device = "<stable id>"` (hypervisor.storage.host_disks),
whose rules (never the boot medium, never a disk the host or another guest uses) a path would skip.
Everything else is refused with what was named, why, and the fix.

Paths are judged where they lead at the moment they are checked: links followed and `..` taken
away. Every way a guest configuration gets in calls `check_guest`: a bundle's manifest when it is read
(`xenbox appliance check`, add, the catalog) and again at each start right before its xl.cfg is
written (a file swapped for a link since is caught), `xenbox appliance import`, a saved guest's file
before `xl restore`, and so guests made at the console or received from another host.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from hypervisor.storage import DATA_LV, MOUNTPOINT, VG_NAME, StorageError

FILES_POOL = MOUNTPOINT / "images"
# The data store's folders of its own: a pool folder holding one of them, or inside one, is no pool here
# (a pool added at /var/lib/xenbox would hand a guest the console's password hash or another guest's memory).
OWN_FOLDERS = tuple(MOUNTPOINT / name for name in ("config", "appliances", "saved"))
DEVICE_FIX = ('use device = "<stable id>" for a host disk (the ID column of `xenbox storage disks`), which '
              "checks it is not the boot medium and no one else uses it")
DATA_VOLUME = ("is the data store's own volume, which holds this host's configuration and every appliance: "
               'no guest is given it; give the guest a volume of its own with pool = "local"')
ISO_FOLDER = "isos"         # a pool's ISO library (hypervisor.storage.iso_library names it too)
ISO_ONLY_AS_CD = ("is in the ISO library, which guests share: it is given only as a read-only CD-ROM "
                  '(cdrom = true, mode "ro"); copy it out of the library to give it as a disk')
OUTSIDE = ("is outside the bundle, on no pool and no volume of the data store: copy it into the bundle and name "
           "it there (a path relative to the bundle), or put the image on a pool")


class Refused(ValueError):
    """Paths a guest may not be given; `reasons` maps each one named ("disk xvda") to why, with the fix."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(f"its {what} {reason}" for what, reason in reasons.items()))


def named_pool_folders(config: Path | None = None) -> list[Path]:
    """The folders of the pools added by name (config/pools.toml); none when it cannot be read."""
    from hypervisor.storage.iscsi_targets import NAME
    from hypervisor.storage.named_pools import NamedPools
    pools = NamedPools(**({"config": config} if config else {}))
    try:        # a name edited into pools.toml by hand could lead its folder anywhere: such a pool is none
        return [pools.folder(pool) for pool in pools.list()
                if isinstance(pool.name, str) and NAME.fullmatch(pool.name)]
    except StorageError:
        return []           # the boot and the pool screen say why; no folder is a pool meanwhile


@dataclass(frozen=True)
class Host:
    """Where this host keeps what the rules name; tests point these into a temporary folder."""
    pools: Callable[[], list[Path]] = field(default=lambda: [FILES_POOL, *named_pool_folders()])
    dev: Path = Path("/dev")
    sys: Path = Path("/sys")
    proc: Path = Path("/proc")


HOST = Host()


def check_guest(paths: Iterable[tuple[str, str | Path]], bundle: Path | None = None,
                host: Host | None = None, cdroms: Iterable[str] = ()) -> dict[str, Path]:
    """The entry point for a guest configuration from anywhere: each (what, host path) it names,
    such as ("disk xvda", "/dev/xenbox/web.xvda") or ("kernel", ...), checked now. Returns what to
    give the guest for each: a file where its links lead, a volume by its name. Raises Refused
    naming every path refused. Host disks found by `device =` are not given here: their own
    rules (hypervisor.storage.host_disks) cleared them. `cdroms` names those (what) given as read-only
    CD-ROMs, the only way an ISO of the ISO library is given."""
    given, refused, cdroms, host = {}, {}, frozenset(cdroms), host or HOST
    for what, path in paths:
        reason = refusal(path, bundle, host, cdrom=what in cdroms)
        if reason:
            refused[what] = f"({path}) {reason}"
        else:
            lexical = Path(os.path.normpath(path))
            given[what] = lexical if _volume_name(lexical, host) else Path(os.path.realpath(lexical))
    if refused:
        raise Refused(refused)
    return given


def refusal(path: str | Path, bundle: Path | None = None, host: Host | None = None, cdrom: bool = False) -> str | None:
    """Why a guest may not be given `path` (a sentence's end: "is ...: fix"), or None when it may;
    `cdrom`: given as a read-only CD-ROM. `host` is this host's (HOST) unless a test gives its own."""
    host = host or HOST
    text = str(path)
    if not text.startswith("/"):
        return "is not a full path"
    if "\0" in text:
        return "holds a NUL character, which no path can"
    lexical = Path(os.path.normpath(text))
    try:
        real = Path(os.path.realpath(lexical))
        found = os.stat(real)
    except FileNotFoundError:
        found = None
    except (OSError, ValueError) as error:      # a link loop, a name too long, a folder not readable
        return f"cannot be looked up ({getattr(error, 'strerror', None) or error})"
    leads = f" (it leads to {real})" if real != lexical else ""
    volume = _volume_name(lexical, host)
    if volume is not None or (found and stat.S_ISBLK(found.st_mode)):
        return _volume_refusal(volume, found, leads, host)
    if found and stat.S_ISCHR(found.st_mode):
        return f"is a device node, not a file{leads}: {DEVICE_FIX}"
    if lexical.is_relative_to(host.dev) or real.is_relative_to(host.dev):
        return f"is a host device{leads}: {DEVICE_FIX}"
    if any(place.is_relative_to(root) for place in (lexical, real) for root in (host.proc, host.sys)):
        return f"is one of the kernel's files{leads}, not a disk image: copy the image into the bundle"
    if bundle is not None and real.is_relative_to(Path(os.path.realpath(bundle))):
        return None if found and stat.S_ISREG(found.st_mode) else f"is not a file in the bundle{leads}"
    folders = [folder for folder in map(_pool_folder, host.pools()) if folder]
    if any(real.is_relative_to(folder / ISO_FOLDER) for folder in folders):
        if not cdrom:
            return ISO_ONLY_AS_CD + leads
        return None if found and stat.S_ISREG(found.st_mode) else f"is not an ISO file in the ISO library{leads}"
    if any(real.is_relative_to(folder) for folder in folders):
        if found is None:
            return None     # made at the first start, or on a share not mounted yet: the start says if missing
        return None if stat.S_ISREG(found.st_mode) else f"is not an image file on its pool{leads}"
    if bundle is not None and lexical.is_relative_to(os.path.abspath(bundle)):
        return f"must stay inside the bundle{leads}: no '..', no links out of it"
    return OUTSIDE + leads


def _pool_folder(folder: Path) -> Path | None:
    """The folder where its links lead, unless it holds or lies in one of the data store's own."""
    real = Path(os.path.realpath(folder))
    return None if any(own.is_relative_to(real) or real.is_relative_to(own) for own in OWN_FOLDERS) else real


def _volume_name(lexical: Path, host: Host) -> str | None:
    """NAME for /dev/xenbox/NAME, the way a data store volume is named."""
    return lexical.name if lexical.parent == host.dev / VG_NAME else None


def _volume_refusal(volume: str | None, found: os.stat_result | None, leads: str, host: Host) -> str | None:
    """A data store volume by its name, or any block device: only a guest volume of the data store passes."""
    if volume == DATA_LV:
        return DATA_VOLUME
    if found is None:
        return None     # its volume group is activated at boot: the start says if it is still missing
    mapped = _mapper_name(found, host) if stat.S_ISBLK(found.st_mode) else None
    if mapped == _mapper(VG_NAME, DATA_LV):
        return DATA_VOLUME
    if volume is not None and mapped == _mapper(VG_NAME, volume):
        return None
    if volume is not None:
        return f"is not a volume of the data store{leads}: {DEVICE_FIX}"
    return f"is a host device{leads}: {DEVICE_FIX}"


def _mapper(group: str, volume: str) -> str:
    """The device-mapper name LVM gives a volume: dashes doubled, then group-volume."""
    return f"{group.replace('-', '--')}-{volume.replace('-', '--')}"


def _mapper_name(found: os.stat_result, host: Host) -> str | None:
    number = f"{os.major(found.st_rdev)}:{os.minor(found.st_rdev)}"
    try:
        return (host.sys / "dev" / "block" / number / "dm" / "name").read_text().strip()
    except OSError:
        return None     # not a device-mapper device
