"""What each appliance key asks and does, as data the screen runs: no Textual here.

A Question is what a prompt asks, its default and how the answer is read; a Job
is one call to Xen with what the status line says while it runs and what the
notification says after. The screen runs every Job in a worker thread.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hypervisor.appliances.actions import ACTIONS
from hypervisor.appliances.catalog import APPLIANCE_DIRS
from hypervisor.appliances.launch import start as launch
from hypervisor.appliances.saved import restore as restore_saved
from hypervisor.storage import human_size
from hypervisor.xen.daemons import CONSOLE_LOGS
from hypervisor.xen.domains import state_has
from hypervisor.xen.shutdown import ask_to_shut_down
from hypervisor.xen.xl import Xl
from tui.screens import appliance_input as typed
from tui.screens.appliance_rows import ApplianceRow


@dataclass(frozen=True)
class Places:
    """Where files go; tests point these at a temporary folder."""
    saved: Path = typed.SAVED_DIR
    cores: Path = typed.CORES_DIR
    console_logs: Path = CONSOLE_LOGS
    appliances: Path = APPLIANCE_DIRS[0]      # where an added bundle is installed

    def console_log(self, name: str) -> Path:
        return self.console_logs / f"guest-{name}.log"


@dataclass(frozen=True)
class Job:
    doing: str                      # on the status line while it runs: "Pausing sample-web"
    failed: str                     # put before Xen's own sentence when it did not
    call: Callable[[], Any] = field(repr=False)     # may return the notification itself
    done: str | None = None         # the notification when it worked, if `call` returns none
    follow: str | None = None       # the appliance to select afterwards (a rename, a restore)
    reports: bool = False           # `call` takes a say(line) for progress, shown on the status line
    lingers: float | None = None    # seconds its notification stays (what it says is to be copied)


@dataclass(frozen=True)
class Question:
    text: str
    read: Callable[[str], Any] = field(repr=False)    # typed text -> value, or raises Invalid
    value: str = ""                 # the default, selected so typing replaces it
    placeholder: str = ""


def action(verb: str, xl: Xl, name: str, follow: str | None = None, **values: Any) -> Job:
    """A Job for one of the actions `xenbox appliance` has too, in the same words (hypervisor/appliances/actions.py)."""
    doing, failed, _ = ACTIONS[verb].words(name, **values)
    return Job(doing, failed, lambda: ACTIONS[verb].run(xl, name, **values), follow=follow)


def start(xl: Xl, row: ApplianceRow) -> Job:
    manifest = row.manifest
    return Job(f"Starting {row.name}", f"Could not start {row.name}", lambda: launch(manifest, xl),
               done=f"{row.name} started")


class NotDone(Exception):
    """Xen took the request but the guest did not do it; the message says what to do next."""


SHUTDOWN_WAIT = 120.0       # seconds: a guest's own shutdown under emulation takes tens of them


def shutdown(xl: Xl, row: ApplianceRow, wait: float = SHUTDOWN_WAIT, poll: float = 2.0,
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Job:
    """Ask, then watch until the guest is gone, asking once more halfway (hypervisor/xen/shutdown.py)."""
    def call() -> str:
        if ask_to_shut_down(xl, [row.name], wait=wait, poll=poll, clock=clock, sleep=sleep):
            raise NotDone(f"{row.name} was asked twice to shut down and is still running after {wait:.0f} s: "
                          f"it may not act on Xen's request. X destroys it.")
        return f"{row.name} has shut down"
    return Job(f"Shutting down {row.name}", f"Could not shut down {row.name}", call)


def reboot(xl: Xl, row: ApplianceRow) -> Job:
    return action("reboot", xl, row.name)


def destroy_question(row: ApplianceRow) -> str:
    return ACTIONS["destroy"].confirm.format(name=row.name)


def destroy(xl: Xl, row: ApplianceRow) -> Job:
    return action("destroy", xl, row.name)


# Xen counts pauses: a second pause needs a second unpause. One toggle at a time, so a
# quick double press can't pause twice.
_toggling = threading.Lock()


def pause_or_unpause(xl: Xl, row: ApplianceRow) -> Job:
    """Which way is Xen's to say when the key is acted on: the table may still be a refresh
    behind a pause that just finished, and pausing twice would need two unpauses."""
    def call() -> str:
        with _toggling:
            now = xl.domain(row.name)
            verb = "unpause" if now is not None and state_has(now.state, "paused") else "pause"
            return ACTIONS[verb].run(xl, row.name)
    guess = "Unpausing" if state_has(row.state, "paused") else "Pausing"
    return Job(f"{guess} {row.name}", f"Could not pause or unpause {row.name}", call)


def save_question(row: ApplianceRow, saved_dir: Path) -> Question:
    return Question(f"Save {row.name} to this file ({row.name} stops running once saved):",
                    lambda text: typed.file_path(text, saved_dir), str(typed.save_file(row.name, saved_dir)))


@dataclass(frozen=True)
class Choose:
    """A job that ends with a list to pick from: the bundles and files to import on a device or in a folder."""
    where: str                      # "sdb1", or the folder
    found: tuple = ()               # on_media.Found, listed by kind
    device: str | None = None
    pool: str | None = None         # a device's: where a bundle picked from it puts its disk images (asked first)

    @property
    def question(self) -> str:
        return f"{self.where} holds these. Which one is to be added or imported?"

    def groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        from hypervisor.appliances.on_media import KINDS
        return [(heading, [(item.path, item.path) for item in self.found if item.kind == kind])
                for kind, heading in KINDS.items() if any(item.kind == kind for item in self.found)]

    def picked(self, path: str) -> Path | typed.OnDevice | typed.ToImport:
        """What the screen does with the one picked: a bundle to add, or a file to import."""
        item = next(item for item in self.found if item.path == path)
        if item.kind == "bundle":
            return typed.OnDevice(self.device, path) if self.device else Path(self.where) / path
        return typed.ToImport(path if self.device else str(Path(self.where) / path), item.kind, self.device)


def add_question() -> Question:
    return Question("Add an appliance: its bundle (a folder or a .tar of one), a file to import (.ova, .ovf, a "
                    "qcow2/vmdk/vhd/vhdx/raw/img disk image, an xl.cfg), or a folder holding them, by its full "
                    "path; or the USB stick or partition they are on, mounted read-only while it is read (sdb1):",
                    typed.bundle_source, placeholder="sdb1  or  /var/lib/xenbox/web.tar  or  /mnt/guest.ova")


def look_in(folder: Path) -> Job:
    """The bundles and files to import in `folder`, to pick from (adding.found_in_folder)."""
    from hypervisor.appliances.adding import NothingAdded, found_in_folder

    def call() -> Choose:
        try:
            return Choose(str(folder), tuple(found_in_folder(folder)))
        except NothingAdded as error:
            raise NotDone(_sentence(str(error))) from error
    return Job(f"Looking in {folder}", f"Could not look in {folder}", call)


def pool_question(what: str, default: str = "local") -> Question:
    """Where a bundle's disk images or an import's disks go, as `--pool` says for the CLI."""
    return Question(f"Put {what} on which pool? local (volumes on the data store), files (image files there), or a "
                    "pool added by name (`xenbox storage pools`):", typed.pool_name, default)


def bundle_pool_question(source: Path | typed.OnDevice) -> Question:
    shown = source.name if isinstance(source, Path) else (source.bundle or source.device)
    return pool_question(f"{shown}'s disk images")


def add(source: Path | typed.OnDevice, into: Path, has_data_store: Callable[[], bool] | None = None,
        pool: str = "local") -> Job:
    """Installed as `xenbox appliance add --pool POOL` does (hypervisor/appliances/adding.py): checked first,
    images copied onto volumes on `pool` with progress. From a device, it is mounted read-only first and
    unmounted after; with several bundles on it, or files to import, what it holds is listed to pick from
    (Choose, which keeps the pool)."""
    from hypervisor.appliances.adding import NothingAdded, Several, add_bundle, add_from_device
    from hypervisor.appliances.on_media import Found
    on_device = isinstance(source, typed.OnDevice)
    if on_device:
        shown = f"{source.bundle} from {source.device}" if source.bundle else f"from {source.device}"
    else:
        shown = source.name

    def call(say: Callable[[str], None]) -> str | Choose:
        try:
            if on_device:
                added = add_from_device(source.device, source.bundle, into, say, has_data_store=has_data_store,
                                        imports=True, pool=pool)
            else:
                added = add_bundle(source, into, say, has_data_store=has_data_store, pool=pool)
        except NothingAdded as error:
            raise NotDone(_sentence(str(error))) from error
        if isinstance(added, Several):      # several bundles, or files to import too: picked from a list
            found = added.found or tuple(Found("bundle", bundle) for bundle in added.bundles)
            return Choose(added.device, found, added.device, pool)
        unmounted = f" from {source.device} ({source.device} is unmounted again)" if on_device else ""
        return f"Added appliance {added.name}{unmounted}: select it and press u to start it."
    return Job(f"Adding {shown}", f"Could not add {source if not on_device else shown}", call, reports=True)


def import_name_question(source: typed.ToImport, taken: frozenset[str]) -> Question:
    default = source.default_name
    keeps = "" if default else " (leave it empty for the name its OVF gives)"
    return Question(f"Import {source.shown} as the appliance named{keeps}:",
                    lambda text: typed.appliance_name(text, taken, default), default,
                    placeholder="" if default else "the name in the OVF")


def import_pool_question(source: typed.ToImport, default: str = "local") -> Question:
    return pool_question(f"{source.path}'s disks", default)


def size_question(source: typed.ToImport) -> Question:
    says = "its OVF says" if source.kind == "package" else "512 MiB, 1 vCPU"
    return Question(f"Memory in MiB and vCPUs, e.g. 1024 2 (leave it empty for what {says}):",
                    typed.memory_and_vcpus, placeholder="1024 2")


def import_file(source: typed.ToImport, into: Path, answers=None,
                has_data_store: Callable[[], bool] | None = None) -> Job:
    """Imported as `xenbox appliance import` does (adding.import_found, through importing.py): checked first,
    then converted by qemu-img with its progress on the status line; a refusal leaves nothing behind."""
    from hypervisor.appliances.adding import NothingAdded, import_found
    from hypervisor.appliances.importing import Answers
    answers = answers or Answers()

    def call(say: Callable[[str], None]) -> str:
        try:
            done = import_found(source.path, into, answers, say, source.device, has_data_store)
        except NothingAdded as error:
            raise NotDone(_sentence(str(error))) from error
        disks = f", disks {done.disks}" if done.disks else ""
        unmounted = f" ({source.device} is unmounted again)" if source.device else ""
        warned = "".join(f" Warning: {_sentence(warning)}" for warning in done.warnings)
        return f"Imported {source.shown} as appliance {done.name}{disks}{unmounted}: select it and press u to " \
               f"start it.{warned}"
    follow = answers.name or source.default_name or None
    return Job(f"Importing {source.shown}", f"Could not import {source.shown}", call, reports=True, follow=follow)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def save(xl: Xl, row: ApplianceRow, path: Path, saved: dict[str, Path]) -> Job:
    """`saved` remembers the file, so the restore prompt offers it next."""
    def call() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        xl.save(row.name, str(path))
        saved[row.name] = path
    return Job(f"Saving {row.name} to {path}", f"Could not save {row.name}", call,
               done=f"{row.name} saved to {path}; o restores it")


TAKE = "take"


def checkpoint_choices(xl: Xl, row: ApplianceRow) -> tuple[str, list[tuple[str, list[tuple[str, str]]]]]:
    """The question and the groups for K: take one now (if it runs), or restore one it has."""
    from hypervisor.appliances.checkpoints import CheckpointError, on_this_host
    try:
        taken = on_this_host(xl).list(row.name)
    except CheckpointError as error:
        raise NotDone(_sentence(str(error))) from None
    groups = []
    if row.running:
        groups.append(("Now", [("Take a checkpoint: memory and volumes as they are (it runs on)", TAKE)]))
    if taken:
        groups.append(("Go back to one (what it did since is lost)",
                       [(f"{c.stamp}  memory {human_size(c.memory_bytes)}, {len(c.snapshots)} volume(s), "
                         f"paused {c.paused_ms} ms", c.stamp) for c in reversed(taken)]))
    if not groups:
        raise NotDone(f"{row.name} is not running and has no checkpoint: start it, then K takes one.")
    return f"Checkpoints of {row.name}:", groups


def checkpoint(xl: Xl, row: ApplianceRow) -> Job:
    """Memory and volumes kept as they are now; the guest runs on (hypervisor/appliances/checkpoints.py)."""
    from hypervisor.appliances.checkpoints import CheckpointError, on_this_host

    def call(say: Callable[[str], None]) -> str:
        try:
            taken = on_this_host(xl).take(row.name, say)
        except CheckpointError as error:
            raise NotDone(_sentence(str(error))) from None
        return (f"Checkpoint {taken.stamp} of {row.name}: {human_size(taken.memory_bytes)} of memory and "
                f"{len(taken.snapshots)} disk snapshot(s); it stood still for {taken.paused_ms} ms.")
    return Job(f"Taking a checkpoint of {row.name}", f"Could not checkpoint {row.name}", call, reports=True,
               lingers=15)


def restore_checkpoint_question(name: str, stamp: str) -> str:
    return (f"Put {name} back as it was at {stamp}? It stops now; its memory and volumes go back to then, and "
            "what it did since is lost.")


def restore_checkpoint(xl: Xl, name: str, stamp: str) -> Job:
    """Through the same gate as a restore from a file (hypervisor/appliances/saved.py)."""
    from hypervisor.appliances.checkpoints import CheckpointError, on_this_host

    def call(say: Callable[[str], None]) -> str:
        try:
            on_this_host(xl).restore(name, stamp, say, restore_memory=lambda path: restore_saved(path, xl))
        except CheckpointError as error:
            raise NotDone(_sentence(str(error))) from None
        return f"{name} runs again as it was at {stamp}."
    return Job(f"Putting {name} back to {stamp}", f"Could not restore {name}'s checkpoint", call, reports=True,
               follow=name)


def restore_question(name: str, remembered: Path | None, saved_dir: Path) -> Question:
    default = typed.restore_file(name, remembered, saved_dir) if name else ""
    return Question("Restore a guest from this saved file:", lambda text: typed.existing_file(text, saved_dir),
                    str(default))


def restore(xl: Xl, path: Path, name: str | None) -> Job:
    """Through the guest path gate: the file names its guest's disks (hypervisor/appliances/saved.py)."""
    return Job(f"Restoring from {path}", f"Could not restore {path}", lambda: restore_saved(path, xl),
               done=f"Restored {path}", follow=name)


def memory_question(row: ApplianceRow) -> Question:
    limit = f", up to {row.max_memory_mib}" if row.max_memory_mib else ""
    return Question(f"Memory for {row.name} in MiB (now {row.memory_mib}{limit}):",
                    lambda text: typed.memory_mib(text, row), str(row.memory_mib))


def set_memory(xl: Xl, row: ApplianceRow, mib: int) -> Job:
    return action("mem-set", xl, row.name, mib=mib)


def vcpus_question(row: ApplianceRow) -> Question:
    limit = f", up to {row.max_vcpus}" if row.max_vcpus else ""
    return Question(f"Number of vCPUs for {row.name} (now {row.vcpus}{limit}):",
                    lambda text: typed.vcpu_count(text, row), str(row.vcpus))


def set_vcpus(xl: Xl, row: ApplianceRow, count: int) -> Job:
    return action("vcpu-set", xl, row.name, count=count)


def pin_question(row: ApplianceRow) -> Question:
    return Question(f"Pin {row.name}'s vCPUs: type VCPU CPUS, e.g. 'all 0' or '0 1':",
                    lambda text: typed.pin(text, row), placeholder="VCPU CPUS")


def pin(xl: Xl, row: ApplianceRow, choice: typed.Pin) -> Job:
    return action("vcpu-pin", xl, row.name, vcpu=choice.vcpu, cpus=choice.cpus)


def rename_question(row: ApplianceRow) -> Question:
    note = f" (its appliance.toml keeps {row.name})" if row.manifest else ""
    return Question(f"New name for {row.name}{note}:", lambda text: typed.new_name(text, row), row.name)


def rename(xl: Xl, row: ApplianceRow, new: str) -> Job:
    return action("rename", xl, row.name, follow=new, new=new)


def sysrq_question(row: ApplianceRow) -> Question:
    return Question(f"SysRq key for {row.name} (one letter: s sync, u read-only, b reboot, h help):",
                    typed.sysrq_key)


def sysrq(xl: Xl, row: ApplianceRow, key: str) -> Job:
    return action("sysrq", xl, row.name, key=key)


def core_question(row: ApplianceRow, cores_dir: Path) -> Question:
    return Question(f"Write {row.name}'s memory to this core file:",
                    lambda text: typed.file_path(text, cores_dir), str(typed.core_file(row.name, cores_dir)))


def dump_core(xl: Xl, row: ApplianceRow, path: Path) -> Job:
    job = action("dump-core", xl, row.name, path=path)
    def call() -> str:
        path.parent.mkdir(parents=True, exist_ok=True)
        return job.call()
    return Job(job.doing, job.failed, call)


# -- an hvm guest's screen and CD drive (hypervisor/appliances/display.py and cd.py, as the CLI's) ----------
SCREEN_SHOWN_FOR = 300      # seconds the address and token stay on the screen: long enough to copy them


def screen_question(row: ApplianceRow) -> Question:
    return Question(f"{row.name}'s screen is on. Type show for its address and a new token (60 minutes), or off "
                    "to turn it off from its next start:", typed.screen_choice, "show")


def screen_on_question(row: ApplianceRow) -> str:
    return (f"Turn on {row.name}'s screen? From its next start it can be watched in a browser, over TLS, with a "
            "token that S then shows.")


def turn_screen(row: ApplianceRow, on: bool, xl: Xl) -> Job:
    from hypervisor.appliances import display
    from hypervisor.appliances.catalog import discover

    def call() -> str:
        try:
            return display.turn(row.manifest.bundle_dir, row.name, on, xl.domain(row.name) is not None,
                                lambda: (e.manifest for e in discover())) + "."
        except display.DisplayError as error:
            raise NotDone(str(error)) from error
    return Job(f"Turning {row.name}'s screen {'on' if on else 'off'}", f"Could not change {row.name}'s screen", call)


def show_screen(row: ApplianceRow, xl: Xl) -> Job:
    from hypervisor.appliances import display

    def call() -> str:
        try:
            shown = display.show_here(row.manifest, xl.domain(row.name) is not None)
        except display.DisplayError as error:
            raise NotDone(str(error)) from error
        return "\n".join(display.lines(shown))
    return Job(f"Opening {row.name}'s screen (websockify starts the first time)", f"Could not show {row.name}'s screen",
               call, lingers=SCREEN_SHOWN_FOR)


def cd_question(row: ApplianceRow) -> Question:
    return Question(f"ISO for {row.name}'s CD drive, by its name in the ISO library (`xenbox iso list`); leave it "
                    "empty to eject the CD:", typed.iso_name, placeholder="debian-12.iso")


def change_cd(xl: Xl, row: ApplianceRow, iso: str) -> Job:
    from hypervisor.appliances.catalog import read_entry
    from hypervisor.appliances.cd import CdError, change_cd_by_name

    def call() -> str:
        try:
            return change_cd_by_name(read_entry(row.manifest.bundle_dir), iso, xl)
        except CdError as error:
            raise NotDone(str(error)) from error
    doing = f"Inserting {iso} in {row.name}'s CD drive" if iso else f"Ejecting {row.name}'s CD"
    return Job(doing, f"Could not change {row.name}'s CD", call)
