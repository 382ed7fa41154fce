"""Checkpoints of a running appliance: its memory and a consistent copy of its disks, and the guest runs on.

`xl save -c` keeps the guest but has no moment for the disks, so a checkpoint is:
1. `xl save -p`: the guest is suspended, its memory written to the checkpoint's file (mode 600: it holds
   everything the guest knew), and left paused;
2. an LVM snapshot of each writable disk, while nothing writes to them;
3. `xl unpause`. How long the guest stood still is measured and kept with the checkpoint.
Disks that are data store volumes can be snapshotted; a guest with any other writable disk (an image file,
a host disk, an NFS or iSCSI disk) is refused, saying which, since its checkpoint would not be consistent.
Each snapshot is as big as its volume, so it can never fill up and break: a data store without the room
refuses the checkpoint, and nothing is deleted to make room.

Restoring one puts back each volume as it was (the snapshot merged into it; a new snapshot of the same
moment takes its place, so the checkpoint can be restored again) and then the memory, through the same
gate as `xenbox appliance restore`.

On the data store: checkpoints/NAME/STAMP/{memory.save,checkpoint.toml}, volumes NAME.TARGET.cp-STAMP.
"""
from __future__ import annotations

import os
import shutil
import time
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from hypervisor import runner
from hypervisor.settings.atomic import sync_directory, write_atomically
from hypervisor.settings.names import OutsideFolder, inside
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import StorageError, human_size
from hypervisor.storage.datastore import MOUNTPOINT
from hypervisor.storage.lvm import Lvm
from hypervisor.xen.guest_disks import GuestDisk
from hypervisor.xen.xl import Xl

FOLDER = MOUNTPOINT / "checkpoints"
MEMORY = "memory.save"
RECORD = "checkpoint.toml"
MIB = 1024 * 1024
SAVE_OVERHEAD = 16 * MIB        # xl's headers and the guest's configuration beside its pages
Say = Callable[[str], None]


class CheckpointError(Exception):
    """Nothing was taken, restored or deleted (the guest runs on as it was); the message says why."""


@dataclass(frozen=True)
class Snapshot:
    target: str         # the guest's disk
    origin: str         # its volume
    name: str           # the snapshot volume


@dataclass(frozen=True)
class Checkpoint:
    appliance: str
    stamp: str                      # 20261207T140200Z: names its folder and its snapshots
    taken: str                      # ISO 8601, UTC
    paused_ms: int
    memory_bytes: int
    snapshots: tuple[Snapshot, ...]
    folder: Path


def stamp_now(now: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if now is None else now, timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def volume_of(disk: GuestDisk, group: str) -> str | None:
    """The data store volume a disk is, by its device path, or None."""
    for prefix in (f"/dev/{group}/", f"/dev/mapper/{group}-"):
        if disk.path.startswith(prefix) and disk.backend == "vbd":
            name = disk.path[len(prefix):]
            return name.replace("--", "-") if prefix.startswith("/dev/mapper/") else name
    return None


def plan_snapshots(name: str, disks: list[GuestDisk], group: str, stamp: str) -> tuple[Snapshot, ...]:
    """A snapshot for each writable disk; CheckpointError naming every disk that cannot have one."""
    snapshots, refused = [], []
    for disk in disks:
        if disk.cdrom or not disk.writable:
            continue                # read only: the same at any moment
        volume = volume_of(disk, group)
        if volume is None:
            refused.append(f"disk {disk.target} ({disk.path})")
        else:
            snapshots.append(Snapshot(disk.target, volume, f"{volume}.cp-{stamp}"))
    if refused:
        raise CheckpointError(f"{name} cannot have a consistent checkpoint: {', '.join(refused)} "
                              f"{'is' if len(refused) == 1 else 'are'} not on the data store's volumes, which are "
                              "the disks XenBox can snapshot with the guest; move them to pool local first")
    return tuple(snapshots)


class Checkpoints:
    def __init__(self, xl: Xl, lvm: Lvm, group: str, disks_of: Callable[[int], list[GuestDisk]],
                 folder: Path = FOLDER, clock: Callable[[], float] = time.monotonic,
                 free_bytes: Callable[[Path], int] | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.xl, self.lvm, self.group, self.disks_of = xl, lvm, group, disks_of
        self.sleep = sleep
        self.folder, self.clock = folder, clock
        self.free_bytes = free_bytes or (lambda path: shutil.disk_usage(path).free)

    # -- listing -----------------------------------------------------------------------------------
    def _folder_of(self, name: str) -> Path:
        try:
            return inside(self.folder, name)
        except OutsideFolder as error:
            raise CheckpointError(str(error)) from None

    def list(self, name: str) -> list[Checkpoint]:
        """The appliance's checkpoints, oldest first. One left half-made by a power cut is not listed."""
        found = []
        for record in sorted(self._folder_of(name).glob(f"*/{RECORD}")):
            try:
                found.append(read_record(record))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found

    def find(self, name: str, stamp: str) -> Checkpoint:
        for checkpoint in self.list(name):
            if checkpoint.stamp == stamp:
                return checkpoint
        known = ", ".join(c.stamp for c in self.list(name)) or "none"
        raise CheckpointError(f"{name} has no checkpoint {stamp} (it has: {known})")

    # -- taking --------------------------------------------------------------------------------------
    def take(self, name: str, say: Say = lambda line: None, now: float | None = None) -> Checkpoint:
        domain = self.xl.domain(name)
        if domain is None:
            raise CheckpointError(f"{name} is not running: a checkpoint is of a running guest (start it first)")
        stamp = stamp_now(now)
        snapshots = plan_snapshots(name, self.disks_of(domain.domid), self.group, stamp)
        sizes = {s.origin: self._size_of(s.origin) for s in snapshots}     # read once, before the guest stands still
        self._check_room(name, domain.memory_mib * MIB, sum(sizes.values()))
        home = self._folder_of(name)
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        work = home / f".{stamp}"               # hidden until whole: a cut leaves nothing listed
        work.mkdir(mode=0o700)
        made: list[Snapshot] = []
        paused_at = None
        try:
            say(f"saving {name}'s {domain.memory_mib} MiB of memory (the guest stands still meanwhile)")
            paused_at = self.clock()
            self.xl.save_paused(name, str(work / MEMORY))
            for snapshot in snapshots:
                self.lvm.snapshot_lv(self.group, snapshot.origin, snapshot.name, sizes[snapshot.origin])
                made.append(snapshot)
        except BaseException as error:
            for snapshot in made:
                self._remove_volume(snapshot.name)
            shutil.rmtree(work, ignore_errors=True)
            if paused_at is not None:
                self._unpause(name)
            if isinstance(error, (StorageError, CheckpointError)):
                raise CheckpointError(f"no checkpoint of {name} was taken: {error}; it runs on") from error
            if isinstance(error, runner.CommandError):
                raise CheckpointError(f"no checkpoint of {name} was taken: {error.sentence}; it runs on") from error
            raise
        self._unpause(name)
        paused_ms = int((self.clock() - paused_at) * 1000)
        memory = (work / MEMORY).stat().st_size
        checkpoint = Checkpoint(name, stamp, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                paused_ms, memory, tuple(made), home / stamp)
        write_atomically(work / RECORD, record_text(checkpoint))
        os.replace(work, home / stamp)
        sync_directory(home)
        say(f"checkpoint {stamp} of {name}: {human_size(memory)} of memory and {len(made)} disk snapshot(s); "
            f"the guest stood still for {paused_ms} ms")
        return checkpoint

    def _check_room(self, name: str, memory: int, needed: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        free = self.free_bytes(self.folder)
        if free < memory + SAVE_OVERHEAD:
            raise CheckpointError(f"no checkpoint of {name} was taken: the data store has {human_size(free)} free "
                                  f"and its memory needs {human_size(memory + SAVE_OVERHEAD)}; delete old "
                                  "checkpoints or other files first. Nothing was deleted")
        room = self.lvm.free(self.group)
        if needed > room:
            raise CheckpointError(f"no checkpoint of {name} was taken: its disk snapshots need {human_size(needed)} "
                                  f"and the data store's volume group has {human_size(room)} free; delete old "
                                  "checkpoints, or add a disk to the data store. Nothing was deleted")

    def _size_of(self, volume: str) -> int:
        found = [lv for lv in self.lvm.lvs(self.group) if lv.name == volume]
        if not found:
            raise CheckpointError(f"the volume {self.group}/{volume} is gone")
        return found[0].size

    def _wait_closed(self, volume: str, seconds: float = 30) -> None:
        """Until no backend holds the volume: a destroyed guest's block backend lets go a moment after."""
        deadline = self.clock() + seconds
        while any(lv.name == volume and lv.in_use for lv in self.lvm.lvs(self.group)):
            if self.clock() > deadline:
                raise CheckpointError(f"the volume {volume} is still in use: stop whatever holds it and try again")
            self.sleep(0.5)

    def _unpause(self, name: str) -> None:
        try:
            self.xl.unpause(name)
        except Exception as error:          # noqa: BLE001 - said, never hidden: the guest is left paused
            raise CheckpointError(f"{name} could not be unpaused ({error}): it stands still; "
                                  f"`xenbox appliance unpause {name}` tries again") from error

    def _remove_volume(self, volume: str) -> None:
        try:
            self.lvm.remove_lv(self.group, volume)
        except StorageError:
            pass                    # gone already; `xenbox storage volumes` lists any left behind

    # -- restoring and deleting ---------------------------------------------------------------------
    def restore(self, name: str, stamp: str, say: Say = lambda line: None,
                restore_memory: Callable[[Path], str] | None = None) -> Checkpoint:
        """The guest as it was at `stamp`: whatever runs now under that name is destroyed first (the caller
        asked the operator). Each volume gets its snapshot back, then the memory is restored."""
        checkpoint = self.find(name, stamp)
        if self.xl.domain(name) is not None:
            say(f"stopping {name} as it runs now")
            self.xl.destroy(name)
        for snapshot in checkpoint.snapshots:
            size = self._size_of(snapshot.name)
            say(f"putting back disk {snapshot.target} ({snapshot.origin}) as it was at {stamp}")
            self._wait_closed(snapshot.origin)
            try:
                self.lvm.merge_snapshot(self.group, snapshot.name)
                if any(lv.name == snapshot.name for lv in self.lvm.lvs(self.group)):
                    # LVM merges an open origin only at its next activation: the guest would get the new disk
                    raise CheckpointError(f"the volume {snapshot.origin} was still open, so LVM put off putting it "
                                          "back; nothing was started: try again once no guest uses it")
                self.lvm.snapshot_lv(self.group, snapshot.origin, snapshot.name, size)    # restorable again
            except StorageError as error:
                raise CheckpointError(f"{name} was not restored: {error}") from error
        say(f"restoring {name}'s memory")
        (restore_memory or (lambda path: self.xl.restore(str(path))))(checkpoint.folder / MEMORY)
        return checkpoint

    def delete(self, name: str, stamp: str) -> Checkpoint:
        checkpoint = self.find(name, stamp)
        for snapshot in checkpoint.snapshots:
            self._remove_volume(snapshot.name)
        (checkpoint.folder / RECORD).unlink()           # no longer listed, even if the rest is cut short
        shutil.rmtree(checkpoint.folder, ignore_errors=True)
        return checkpoint

    def prune(self, name: str, keep: int) -> list[Checkpoint]:
        """The oldest beyond the newest `keep`, deleted."""
        old = self.list(name)[:-keep] if keep > 0 else []
        return [self.delete(name, checkpoint.stamp) for checkpoint in old]


def on_this_host(xl: Xl) -> Checkpoints:
    """The checkpoints kept on this host's data store; CheckpointError when it has none mounted."""
    from hypervisor.storage.datastore import DataStore
    from hypervisor.xen.guest_disks import guest_disks
    status = DataStore().status()
    if status.group is None or not status.mounted:
        raise CheckpointError("checkpoints are kept on the data store, and this host has none mounted: make one "
                              "first (Storage screen, key t)")
    return Checkpoints(xl, Lvm(), status.group.name, guest_disks)


def is_due(every_min: int | None, taken: list[Checkpoint], now: datetime) -> bool:
    """A scheduled checkpoint is due when none was taken yet, or the newest is `every_min` old."""
    if every_min is None:
        return False
    if not taken:
        return True
    newest = datetime.strptime(taken[-1].taken, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return (now - newest).total_seconds() >= every_min * 60 - 30     # the timer's minute is not exact


def record_text(checkpoint: Checkpoint) -> str:
    return dumps({"format": 1, "appliance": checkpoint.appliance, "stamp": checkpoint.stamp,
                  "taken": checkpoint.taken, "paused_ms": checkpoint.paused_ms,
                  "memory_bytes": checkpoint.memory_bytes,
                  "snapshots": [{"target": s.target, "origin": s.origin, "name": s.name}
                                for s in checkpoint.snapshots]})


def read_record(path: Path) -> Checkpoint:
    data = tomllib.loads(path.read_text())
    snapshots = tuple(Snapshot(str(s["target"]), str(s["origin"]), str(s["name"])) for s in data["snapshots"])
    return Checkpoint(str(data["appliance"]), str(data["stamp"]), str(data["taken"]), int(data["paused_ms"]),
                      int(data["memory_bytes"]), snapshots, path.parent)
