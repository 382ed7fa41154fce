"""The XenBox data store: where the host keeps what must survive a reboot.

One LVM volume group on the disks the operator chose. Its `data` volume holds an ext4
filesystem, mounted at /var/lib/xenbox: the host's configuration, appliance bundles and
file images. The rest of the group is the `local` pool, carved into guest volumes.

At boot the group is found by its LVM tag (LVM reads every disk's label), never by a
device name: disks that change places, or move to another controller, are still found.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor import runner
from hypervisor.settings.atomic import write_atomically
from hypervisor.storage import DATA_LV, MOUNTPOINT, VG_NAME, StorageError, human_size
from hypervisor.storage.disks import Disk, holds_data, never_erased
from hypervisor.storage.lvm import Lvm, VolumeGroup
from hypervisor.storage.mounts import MOUNT_TABLE, mounted_at, read_mounts
from hypervisor.storage.signatures import Signatures

TAG = "xenbox_datastore"          # what marks a volume group as a XenBox data store
LABEL = "XENBOX_DATA"
FOLDERS = ("appliances", "images", "config")
GIB = 1024 ** 3

Progress = Callable[[str], None]


class ConfirmationNeeded(StorageError):
    """The disk holds data: it is erased only when the operator types its name."""

    def __init__(self, disk: Disk, reason: str) -> None:
        self.disk = disk
        self.reason = reason
        super().__init__(f"{disk.path} ({disk.summary}) {reason}: type its name, {disk.name}, to erase it "
                         "and everything on it, or choose another disk")


def data_volume_size(vg_size: int, extent: int) -> int:
    """A quarter of the group for configuration and file images, at least 1 GiB (half of a group
    under 2 GiB), at most 64 GiB: guest volumes, the heavy users, get the rest."""
    wanted = min(max(vg_size // 4, min(GIB, vg_size // 2)), 64 * GIB)
    return wanted // extent * extent


def check_can_initialise(disk: Disk, boot_device: str | None, confirmed_name: str | None = None) -> None:
    """Refuse the boot medium and a disk in use; a disk holding data needs its name typed."""
    refused = never_erased(disk, boot_device)
    if refused:
        raise StorageError(f"{disk.path} ({disk.summary}) {refused}: choose another disk")
    reason = holds_data(disk)
    if reason and confirmed_name not in (disk.name, disk.path):
        raise ConfirmationNeeded(disk, reason)


@dataclass(frozen=True)
class Status:
    group: VolumeGroup | None
    mounted: bool
    problem: str | None = None

    @property
    def line(self) -> str:
        """One line for the overview and `xenbox datastore status`."""
        if self.problem:
            return f"Data store: {self.problem}"
        if self.group is None:
            return "Data store: none - set one up on the Storage screen (key t)"
        g = self.group
        line = (f"Data store: VG {g.name}, {human_size(g.size)} on {g.pv_count} disk{'s' * (g.pv_count > 1)}, "
                f"{human_size(g.free)} free for guest volumes")
        return line if self.mounted else f"{line} - NOT mounted at {MOUNTPOINT}"


class DataStore:
    def __init__(self, run: runner.Runner = runner.run, mountpoint: Path = MOUNTPOINT,
                 mounts: Path = MOUNT_TABLE) -> None:
        self._run = run
        self._lvm = Lvm(run)
        self.mountpoint = mountpoint
        self._mounts = mounts

    def groups(self) -> list[VolumeGroup]:
        """Every volume group tagged as a XenBox data store (`vgs @tag`)."""
        return self._lvm.vgs(f"@{TAG}")

    def is_mounted(self) -> bool:
        try:
            return mounted_at(self.mountpoint, read_mounts(self._mounts))
        except OSError:
            return False

    def status(self) -> Status:
        try:
            groups = self.groups()
        except StorageError as error:
            return Status(None, False, str(error))
        mounted = self.is_mounted()
        if len(groups) > 1:
            names = ", ".join(g.name for g in groups)
            return Status(None, mounted, f"{len(groups)} data stores found ({names}): unplug the disks of the one "
                                         "not wanted, then reboot")
        if not groups and mounted:
            return Status(None, True, f"MISSING - its disk is gone (unplugged or failed) while in use: nothing on "
                                      f"it can be read or written; reattach the disk, then reboot")
        if groups and groups[0].missing_pvs:
            group = groups[0]
            return Status(group, mounted, f"VG {group.name} is MISSING {group.missing_pvs} of its "
                                          f"{group.pv_count} disks: reattach them, then reboot; appliances with "
                                          "volumes on it are not started")
        return Status(groups[0] if groups else None, mounted)

    def mount(self, say: Progress = lambda line: None) -> Status:
        """At boot: activate the data store's volumes and mount its filesystem. Never creates anything."""
        status = self.status()
        if status.problem or status.group is None or status.mounted:
            return status       # a data store missing disks is not mounted: its volumes may be on them
        name = status.group.name
        say(f"activating the volumes of VG {name}")
        self._tool(["vgchange", "--activate", "y", name], f"the volumes of VG {name} could not be activated")
        self._mount(f"/dev/{name}/{DATA_LV}")
        return self.status()

    def initialise(self, disks: list[Disk], say: Progress = lambda line: None) -> Status:
        """Erase `disks` and make them the data store. The caller has run check_can_initialise on each."""
        if not disks:
            raise StorageError("choose at least one disk for the data store")
        existing = self.status()
        if existing.group is not None:
            raise StorageError(f"this host already has a data store (VG {existing.group.name}): add disks to it "
                               "instead of making a second one")
        erase = Signatures(self._run)
        for disk in disks:
            for part in [*disk.partitions, disk]:
                say(f"erasing what is written on {part.path}")
                erase.erase(part.path)
            # The kernel still lists the old partitions until it reads the (now empty) table again.
            self._optional(["blockdev", "--rereadpt", disk.path])
        devices = [d.path for d in disks]
        say(f"creating volume group {VG_NAME} on {', '.join(devices)}")
        # Tagged only once its filesystem is whole (below): the boot finds a data store by that tag, so a power
        # cut before then leaves no data store at all, never one that cannot be mounted (which keeps the
        # consoles locked, as it may hold a password).
        self._tool(["vgcreate", "--yes", VG_NAME, *devices], f"VG {VG_NAME} could not be created",
                   [("already exists", f"a volume group called {VG_NAME} already exists (another XenBox's data "
                                       "store?): unplug its disks, or rename it with vgrename")])
        group = self._lvm.vg(VG_NAME)
        size = data_volume_size(group.size, group.extent_size)
        say(f"creating the {human_size(size)} data volume")
        self._tool(["lvcreate", "--yes", "--name", DATA_LV, "--size", f"{size}b", VG_NAME],
                   "the data volume could not be created")
        device = f"/dev/{VG_NAME}/{DATA_LV}"
        say(f"making an ext4 filesystem on {device}")
        # Lazy init: the inode tables are zeroed in the background, so a 20 GB store is ready in seconds.
        self._tool(["mkfs.ext4", "-q", "-F", "-L", LABEL, "-m", "0",
                    "-E", "lazy_itable_init=1,lazy_journal_init=1,nodiscard", device],
                   f"no filesystem could be made on {device}")
        self._tool(["vgchange", "--addtag", TAG, VG_NAME], f"VG {VG_NAME} could not be tagged as the data store")
        self._mount(device)
        write_atomically(self.mountpoint / "config" / "datastore.toml",
                         f'# Written when this data store was made; XenBox finds it by the LVM tag "{TAG}".\n'
                         f'volume_group = "{VG_NAME}"\nuuid = "{group.uuid}"\n'
                         f'disks = [{", ".join(repr(d) for d in devices)}]\n'.replace("'", '"'))
        status = self.status()
        say(status.line)
        return status

    def _mount(self, device: str) -> None:
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self._tool(["mount", "-t", "ext4", "-o", "noatime", device, str(self.mountpoint)],
                   f"{device} could not be mounted at {self.mountpoint}")
        for folder in FOLDERS:
            (self.mountpoint / folder).mkdir(exist_ok=True)

    def _tool(self, argv: list[str], what: str, known: list[tuple[str, str]] = ()) -> str:
        try:
            return self._run(argv, input="", timeout=300)
        except runner.CommandError as error:
            for phrase, sentence in known:
                if phrase.lower() in error.output.lower():
                    raise StorageError(sentence) from error
            raise StorageError(f"{what}: {error.sentence}") from error

    def _optional(self, argv: list[str]) -> None:
        try:
            self._run(argv, timeout=30)
        except runner.CommandError:
            pass


def boot_device(path: Path = Path("/run/xenbox/boot-device")) -> str | None:
    """The device the initramfs found the boot medium on."""
    try:
        return path.read_text().strip() or None
    except OSError:
        return None

