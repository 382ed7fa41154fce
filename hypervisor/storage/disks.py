"""The host's local disks (`lsblk`), what each holds now, and which one XenBox booted from.

XenBox's dom0 runs no udev: lsblk then leaves FSTYPE, LABEL, SERIAL and WWN empty and pads MODEL, and
/dev/disk/by-id does not exist. So `Disks` fills a disk's contents from `wipefs`, its volume group from
`pvs`, and its stable id from /dev/disk/by-id when there is one, else the same name made from sysfs
(hypervisor/storage/disk_ids.py).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from hypervisor import runner
from hypervisor.runner import ParseError
from hypervisor.storage import StorageError, human_size, lvm, signatures
from hypervisor.storage.disk_ids import DiskIds, disk_ids, preferred

COLUMNS = "NAME,PATH,TYPE,SIZE,MODEL,SERIAL,WWN,TRAN,RM,HOTPLUG,RO,FSTYPE,LABEL,UUID,PTTYPE,PARTTYPENAME,MOUNTPOINT,PKNAME"
LSBLK = ["lsblk", "--json", "--bytes", "--output", COLUMNS]
NOT_DISKS = ("fd", "zram", "ram", "loop", "sr", "nbd")     # floppies, RAM disks, loops, optical drives


@dataclass(frozen=True)
class Disk:
    """A disk, or one of its partitions (type 'part'), or a volume on it (type 'lvm', 'crypt', 'raid1', ...)."""
    name: str
    path: str
    type: str
    size: int
    model: str | None = None
    serial: str | None = None
    wwn: str | None = None
    transport: str | None = None      # sata, nvme, usb, iscsi, ... (None for virtio)
    removable: bool = False
    read_only: bool = False
    fstype: str | None = None         # what is written on it: ext4, LVM2_member, linux_raid_member, iso9660
    label: str | None = None
    pttype: str | None = None         # gpt, dos
    mountpoint: str | None = None
    children: tuple["Disk", ...] = ()
    vg: str | None = None             # the volume group when it is an LVM physical volume
    stable_id: str | None = None      # its /dev/disk/by-id name (the one shown), made from sysfs without udev
    other_ids: tuple[str, ...] = ()   # its other by-id names, and the ids XenBox showed before: all accepted
    given_to: str | None = None       # "appliance web as its disk xvdb": a manifest names it (host disks)

    def known_as(self, disk_id: str) -> bool:
        """Is `disk_id` (a manifest's `device`, an answer file's /dev/disk/by-id/NAME) this disk?"""
        return bool(disk_id) and (disk_id == self.stable_id or disk_id in self.other_ids)

    @property
    def partitions(self) -> list["Disk"]:
        return [c for c in self.children if c.type == "part"]

    def partition(self, number: int) -> "Disk | None":
        """Partition `number`: vdb2, or nvme0n1p2 / mmcblk0p2 (a name ending in a digit takes a p)."""
        names = {f"{self.name}{number}", f"{self.name}p{number}"}
        return next((part for part in self.partitions if part.name in names), None)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def summary(self) -> str:
        """'QEMU HARDDISK, 512 MiB, usb' — what a person recognises a disk by."""
        return ", ".join(p for p in (self.model, human_size(self.size), self.transport) if p)


def _text(value) -> str | None:
    value = value.strip() if isinstance(value, str) else value
    return value or None


def _device(row: dict) -> Disk:
    try:
        return Disk(
            name=row["name"], path=row["path"], type=row["type"], size=int(row["size"] or 0),
            model=_text(row.get("model")), serial=_text(row.get("serial")), wwn=_text(row.get("wwn")),
            transport=_text(row.get("tran")), removable=bool(row.get("rm") or row.get("hotplug")),
            read_only=bool(row.get("ro")), fstype=_text(row.get("fstype")), label=_text(row.get("label")),
            pttype=_text(row.get("pttype")) if row["type"] != "part" else None,
            mountpoint=_text(row.get("mountpoint")), children=tuple(_device(c) for c in row.get("children", ())))
    except (KeyError, TypeError, ValueError) as error:
        raise ParseError(f"unexpected device in `lsblk --json` output: {row!r}") from error


def parse_lsblk(text: str) -> list[Disk]:
    """Every top-level block device lsblk prints, partitions and volumes as children."""
    try:
        rows = json.loads(text)["blockdevices"]
    except (ValueError, KeyError, TypeError) as error:
        raise ParseError(f"unexpected `lsblk --json` output: {text[:200]!r}") from error
    return [_device(row) for row in rows]


def is_local_disk(disk: Disk) -> bool:
    return disk.type == "disk" and disk.size > 0 and not disk.name.startswith(NOT_DISKS)


def holds_data(disk: Disk) -> str | None:
    """Why erasing this disk would lose something, as the end of a sentence about it; None when it is blank."""
    if disk.given_to:       # a guest writes on it what it likes: no signature need show
        return f"is given to {disk.given_to}"
    mounted = [d for d in disk.walk() if d.mountpoint]
    if mounted:
        where = mounted[0]
        return f"is mounted at {where.mountpoint}" if where is disk else f"has {where.name} mounted at {where.mountpoint}"
    if disk.fstype == "LVM2_member":
        return f"is an LVM physical volume of VG {disk.vg}" if disk.vg else "is an LVM physical volume in no volume group"
    if disk.fstype == "linux_raid_member":
        return f"is a member of RAID array {disk.label}" if disk.label else "is a RAID member (Linux md)"
    if disk.fstype:
        return f"holds {signatures.kind(disk.fstype, disk.label)}"
    parts = disk.partitions
    if parts:
        inside = "; ".join(f"{p.name}: {(holds_data(p) or 'empty').removeprefix('holds ').removeprefix('is ')}" for p in parts)
        return f"has {len(parts)} partition{'s' if len(parts) > 1 else ''} ({inside})"
    if disk.pttype:
        return f"has an empty {disk.pttype.upper() if disk.pttype == 'gpt' else disk.pttype} partition table"
    return None


def boot_disk(disks: list[Disk], boot_device: str | None) -> Disk | None:
    """The disk XenBox booted from, given the device the initramfs recorded (the disk or one of its partitions)."""
    if not boot_device:
        return None
    for disk in disks:
        if any(d.path == boot_device for d in disk.walk()):
            return disk
    return None


def never_erased(disk: Disk, boot_device: str | None) -> str | None:
    """Why `disk` can never be erased, whatever the operator types: the boot medium, read-only, or in use
    (a mounted filesystem on it). None: it can be, after asking when `holds_data` says it holds some."""
    if boot_disk([disk], boot_device):
        return "is the XenBox boot medium"
    if disk.read_only:
        return "is read-only"
    mounted = [d for d in disk.walk() if d.mountpoint]
    if mounted:
        return f"has {mounted[0].path} mounted at {mounted[0].mountpoint}, so it is in use"
    return None


def as_it_is_now(chosen: Disk, listed_now: list[Disk]) -> Disk:
    """The disk an operator chose from an earlier listing, as it is now (found by its stable id, else
    its path); StorageError when it is gone or changed since: another size, other contents, something
    mounted. What was confirmed is what gets erased, or nothing is."""
    same = [d for d in listed_now if (d.stable_id == chosen.stable_id if chosen.stable_id else d.path == chosen.path)]
    if not same:
        raise StorageError(f"{chosen.path} ({chosen.summary}) is no longer attached: nothing was erased")
    now = same[0]
    changes = [f"it is {now.path} now"] if now.path != chosen.path else []
    if now.size != chosen.size:
        changes.append(f"its size is {human_size(now.size)} now, not {human_size(chosen.size)}")
    before, after = holds_data(chosen) or "holds nothing", holds_data(now) or "holds nothing"
    if after != before:
        changes.append(f"it {after} now; it {before} when it was chosen")
    elif _contents(now) != _contents(chosen):
        changes.append("what is written on it changed")
    if changes:
        raise StorageError(f"{chosen.path} changed since it was chosen: {'; '.join(changes)}. Nothing was erased: "
                           "look at the disks again and choose again")
    return now


def _contents(disk: Disk) -> list[tuple]:
    """What is on the disk: its partitions' sizes too, its own is said apart."""
    return [(d.name, d.size if d is not disk else None, d.fstype, d.label, d.pttype, d.mountpoint, d.vg,
             d.given_to, d.read_only) for d in disk.walk()]


# (stable id, partition) -> "appliance web as its disk xvdb": whoever lists disks says which are given to
# appliances (hypervisor.appliances.claims.disks_given), so that none of them is offered to be erased.
Given = dict[tuple[str, "int | None"], str]


def mark_given(disk: Disk, given: Given) -> Disk:
    if not disk.stable_id:
        return disk
    children = tuple(replace(child, given_to=next((who for (sid, number), who in given.items() if number and
                                                   disk.known_as(sid) and disk.partition(number) == child), None))
                     if child.type == "part" else child for child in disk.children)
    return replace(disk, given_to=next((who for (sid, number), who in given.items() if number is None
                                        and disk.known_as(sid)), None), children=children)


class Disks:
    def __init__(self, run: runner.Runner = runner.run, *, by_id: Path = Path("/dev/disk/by-id"),
                 sysfs: Path = Path("/sys"), given: Callable[[], Given]) -> None:
        self._run = run
        self._by_id = by_id
        self._sysfs = sysfs
        self._given = given

    def list(self) -> list[Disk]:
        """The local disks, contents filled in; loops, RAM disks, floppies and CD drives left out."""
        try:
            disks = [d for d in parse_lsblk(self._run(LSBLK)) if is_local_disk(d)]
        except runner.CommandError as error:
            raise StorageError(f"the disks could not be listed ({error.sentence})") from error
        try:
            pv_vgs = {pv.path: pv.vg for pv in lvm.Lvm(self._run).pvs()}
        except StorageError:
            pv_vgs = {}      # no LVM tools, or no PVs: nothing to add
        links = self._links()
        given = self._given()
        # Without udev lsblk knows no serials: sysfs tells them (disk_ids), a virtio disk's in its own file.
        return [mark_given(replace(self._contents(d, pv_vgs), **self._ids(d, links)), given) for d in disks]

    def usable(self, boot_device: str | None) -> list[Disk]:
        """Disks a new volume group may take now: not the boot medium, holding no data."""
        disks = self.list()
        booted = boot_disk(disks, boot_device)
        return [d for d in disks if d != booted and holds_data(d) is None]

    def _contents(self, disk: Disk, pv_vgs: dict[str, str | None]) -> Disk:
        fstype, label, pttype = disk.fstype, disk.label, disk.pttype
        if not fstype and not pttype and disk.type in ("disk", "part"):
            found = signatures.Signatures(self._run).probe(disk.path)
            fs = [s for s in found if s.type not in signatures.PARTITION_TABLES]
            table = [s for s in found if s.type in signatures.PARTITION_TABLES and s.type != "PMBR"]
            fstype, label = (fs[0].type, fs[0].label) if fs else (None, None)
            pttype = table[0].type if table and disk.type == "disk" else None
        children = tuple(self._contents(c, pv_vgs) for c in disk.children)
        return replace(disk, fstype=fstype, label=label, pttype=pttype, vg=pv_vgs.get(disk.path), children=children)

    def _ids(self, disk: Disk, links: dict[str, list[str]]) -> dict:
        """Its by-id names: udev's links when udev runs, else the same names made from sysfs."""
        made = disk_ids(self._sysfs, disk.name)
        linked = [n for n in links.get(disk.path, []) if "-part" not in n and not n.startswith(("lvm-", "dm-", "md-"))]
        ids = DiskIds(preferred(linked), made.all) if linked else made
        return {"stable_id": ids.primary, "other_ids": tuple(i for i in ids.all if i != ids.primary),
                "serial": disk.serial or made.serial or self._read(disk.name, "serial")}

    def _links(self) -> dict[str, list[str]]:
        links: dict[str, list[str]] = {}
        if self._by_id.is_dir():
            for entry in self._by_id.iterdir():
                links.setdefault(os.path.realpath(entry), []).append(entry.name)
        return links

    def _read(self, name: str, what: str) -> str | None:
        try:
            return (self._sysfs / "block" / name / what).read_text().strip() or None
        except OSError:
            return None
