"""LVM through `pvs`/`vgs`/`lvs` JSON reports, and a thin class that creates, resizes and removes volumes."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from hypervisor import runner
from hypervisor.runner import ParseError
from hypervisor.storage import StorageError, explain, human_size

REPORT = ["--reportformat", "json", "--units", "b", "--nosuffix", "-o"]
PV_FIELDS = "pv_name,vg_name,pv_size,pv_free,pv_uuid,dev_size"
VG_FIELDS = "vg_name,vg_size,vg_free,vg_extent_size,pv_count,lv_count,vg_uuid,vg_missing_pv_count"
LV_FIELDS = "lv_name,vg_name,lv_size,lv_path,lv_attr,lv_uuid,devices"
NAME = re.compile(r"[A-Za-z0-9+_.][A-Za-z0-9+_.-]*\Z")     # what LVM accepts, minus a leading '-'


@dataclass(frozen=True)
class PhysicalVolume:
    path: str
    vg: str | None       # None: a PV in no volume group yet
    size: int
    free: int
    uuid: str


@dataclass(frozen=True)
class VolumeGroup:
    name: str
    size: int
    free: int
    extent_size: int
    pv_count: int
    lv_count: int
    uuid: str
    missing_pvs: int = 0     # disks LVM knows are part of it but cannot find


@dataclass(frozen=True)
class LogicalVolume:
    name: str
    vg: str
    size: int
    path: str
    attr: str            # lvs's lv_attr, e.g. -wi-ao----
    uuid: str
    devices: tuple[str, ...] = field(default=())   # /dev/vda(0): PV and first extent, one per segment

    @property
    def active(self) -> bool:
        return self.attr[4:5] == "a"

    @property
    def in_use(self) -> bool:
        """Open: mounted, or attached to a running guest."""
        return self.attr[5:6] == "o"


def _rows(text: str, key: str) -> list[dict[str, str]]:
    try:
        return [row for report in json.loads(text)["report"] for row in report[key]]
    except (ValueError, KeyError, TypeError) as error:
        raise ParseError(f"unexpected LVM {key}s report: {text[:200]!r}") from error


def _build(cls, row: dict[str, str], **values):
    try:
        return cls(**values)
    except (KeyError, ValueError) as error:
        raise ParseError(f"LVM report row lacks or garbles {error}: {row!r}") from error


def parse_pvs(text: str) -> list[PhysicalVolume]:
    return [_build(PhysicalVolume, r, path=r["pv_name"], vg=r["vg_name"] or None, size=int(r["pv_size"]),
                   free=int(r["pv_free"]), uuid=r["pv_uuid"]) for r in _rows(text, "pv")]


def parse_vgs(text: str) -> list[VolumeGroup]:
    return [_build(VolumeGroup, r, name=r["vg_name"], size=int(r["vg_size"]), free=int(r["vg_free"]),
                   extent_size=int(r["vg_extent_size"]), pv_count=int(r["pv_count"]),
                   lv_count=int(r["lv_count"]), uuid=r["vg_uuid"],
                   missing_pvs=int(r.get("vg_missing_pv_count") or 0)) for r in _rows(text, "vg")]


def parse_lvs(text: str) -> list[LogicalVolume]:
    """One LV per uuid: with the `devices` field lvs prints a row per segment, so a spanning LV comes twice."""
    volumes: dict[str, LogicalVolume] = {}
    for r in _rows(text, "lv"):
        lv = _build(LogicalVolume, r, name=r["lv_name"], vg=r["vg_name"], size=int(r["lv_size"]), path=r["lv_path"],
                    attr=r["lv_attr"], uuid=r["lv_uuid"], devices=tuple(d for d in r.get("devices", "").split(",") if d))
        seen = volumes.get(lv.uuid)
        volumes[lv.uuid] = lv if seen is None else replace(seen, devices=seen.devices + lv.devices)
    return list(volumes.values())


def _check_name(what: str, name: str) -> None:
    if not NAME.match(name):
        raise StorageError(f"{name!r} is not a usable {what} name: use letters, digits, '+', '_', '.' and '-'")


def _round_up(size: int, extent: int) -> int:
    return -(-size // extent) * extent


class Lvm:
    """Calls LVM's tools; never passes a bare VG to a remove, never answers yes to wiping a PV's old data."""

    def __init__(self, run: runner.Runner = runner.run) -> None:
        self._run = run

    def _lvm(self, argv: list[str], known: list[tuple[str, str]] = ()) -> str:
        try:
            return self._run(argv, input="", timeout=120)     # empty stdin: any y/n question gets "no"
        except runner.CommandError as error:
            known = [*known, ("device-mapper", "the kernel has no device-mapper driver, so LVM volumes cannot be "
                              "activated: load it with `modprobe dm_mod`")]
            raise StorageError(explain(error, known)) from error

    def pvs(self) -> list[PhysicalVolume]:
        return parse_pvs(self._lvm(["pvs", *REPORT, PV_FIELDS]))

    def vgs(self, select: str | None = None) -> list[VolumeGroup]:
        """Every volume group, or those `select` names: a VG name or @tag."""
        return parse_vgs(self._lvm(["vgs", *REPORT, VG_FIELDS, *([select] if select else [])]))

    def lvs(self, vg: str | None = None) -> list[LogicalVolume]:
        return parse_lvs(self._lvm(["lvs", *REPORT, LV_FIELDS, *([vg] if vg else [])]))

    def vg(self, name: str) -> VolumeGroup:
        _check_name("volume group", name)
        found = [g for g in self.vgs() if g.name == name]
        if not found:
            raise StorageError(f"there is no volume group {name}: create it from a free disk first")
        return found[0]

    def free(self, vg: str) -> int:
        return self.vg(vg).free

    def _need(self, group: VolumeGroup, needed: int, what: str) -> None:
        needed = _round_up(needed, group.extent_size)
        if needed > group.free:
            raise StorageError(f"VG {group.name} has {human_size(group.free)} free; {what} needs "
                               f"{human_size(needed)}: add a disk or choose a smaller size")

    def create_vg(self, name: str, devices: list[str]) -> None:
        """The devices must hold no data: LVM is asked, and answers no, before wiping an old signature."""
        _check_name("volume group", name)
        if not devices or not all(d.startswith("/dev/") for d in devices):
            raise StorageError(f"volume group {name} needs one or more disks given as /dev/... paths")
        holds = f"{', '.join(devices)} still holds data (a filesystem or partition table): erase the disk first, or choose another"
        self._lvm(["vgcreate", name, *devices], [
            ("already exists", f"a volume group called {name} already exists: choose another name"),
            ("device has a signature", holds), ("existing signature left", holds)])

    def create_lv(self, vg: str, name: str, size: int) -> None:
        _check_name("volume", name)
        self._need(self.vg(vg), size, f"the disk {name}")
        self._lvm(["lvcreate", "--yes", "--name", name, "--size", f"{size}b", vg], [
            ("already exists", f"VG {vg} already has a volume called {name}: choose another name")])

    def snapshot_lv(self, vg: str, origin: str, name: str, size: int) -> None:
        """A snapshot of `origin` as it is now, with `size` bytes for what changes after (as big as the origin:
        it can never fill up and break)."""
        _check_name("volume", name)
        self._need(self.vg(vg), size, f"the snapshot {name}")
        self._lvm(["lvcreate", "--yes", "--snapshot", "--name", name, "--size", f"{size}b", f"{vg}/{origin}"], [
            ("already exists", f"VG {vg} already has a volume called {name}: delete it first")])

    def merge_snapshot(self, vg: str, name: str) -> None:
        """The snapshot's content back into its origin, which must not be open; the snapshot is used up."""
        _check_name("volume", name)
        self._lvm(["lvconvert", "--merge", f"{vg}/{name}"], [
            ("in use", f"the volume {name} comes from is in use: stop its guest first")])

    def activate(self, vg: str, name: str) -> None:
        self._lvm(["lvchange", "--activate", "y", f"{vg}/{name}"])

    def resize_lv(self, vg: str, name: str, size: int) -> None:
        """Grow only: shrinking would cut off the end of a guest's disk."""
        current = [lv for lv in self.lvs(vg) if lv.name == name]
        if not current:
            raise StorageError(f"VG {vg} has no volume {name}: check the name")
        if size < current[0].size:
            raise StorageError(f"{vg}/{name} is {human_size(current[0].size)}; shrinking it to {human_size(size)} "
                               "would destroy the end of its data: copy the data to a new, smaller volume instead")
        if size > current[0].size:
            self._need(self.vg(vg), size - current[0].size, f"growing {name} to {human_size(size)}")
            self._lvm(["lvresize", "--size", f"{size}b", f"{vg}/{name}"])

    def rename_lv(self, vg: str, name: str, new: str) -> None:
        """One step (lvrename): an open volume keeps its guest, under its new name."""
        _check_name("volume group", vg)
        _check_name("volume", name)
        _check_name("volume", new)
        self._lvm(["lvrename", vg, name, new], [
            ("already exists", f"VG {vg} already has a volume called {new}: delete or rename that one first"),
            ("not found", f"VG {vg} has no volume {name}: it may have been renamed or removed already")])

    def remove_lv(self, vg: str, name: str) -> None:
        _check_name("volume group", vg)
        _check_name("volume", name)
        self._lvm(["lvremove", "--yes", f"{vg}/{name}"], [
            ("in use", f"{vg}/{name} is in use (mounted or attached to a running guest): stop the guest or unmount it first"),
            ("failed to find", f"VG {vg} has no volume {name}: it may have been removed already")])
