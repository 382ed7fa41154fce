"""What dom0 does at boot once Xen's daemons are up (`xenbox host boot`, run last by rc.services):

1. mount the data store, found by its tag, and tell the consoles whether the console password kept there
   can be read (hypervisor/host/data_store_word.py: until then they stay locked); remove what an appliance
   add or replace cut short left there;
2. set the host up: from the settings kept on the data store, or else from an answer file if there is one
   (checked whole first: one with any problem changes nothing and lists them all); with neither (and no
   data store), leave the marker that opens the console's first-boot screens (hypervisor/answer/first_boot.py);
3. attach the iSCSI targets and mount the NFS pools kept on the data store;
4. start the autostart appliances, unless in safe mode.
Every line goes to the serial console, prefixed "xenbox:".

Every settings file read on the way (config/network.toml or answer.toml, console.toml, iscsi.toml and
the initiator name, pools.toml) is checked whole, as an answer file is. One with any problem is said,
its path, each key path and what is wrong there, and the fix; listed in the overview's Boot panel
(hypervisor/host/boot_problems.py); and not used: the boot goes on without it. No step's failure
keeps the appliances from starting.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from hypervisor.appliances import autostart as boot_start
from hypervisor.appliances.autostart_status import write_status
from hypervisor.appliances.catalog import APPLIANCE_DIRS, discover
from hypervisor.appliances.staging import sweep
from hypervisor.host import boot_problems, data_store_word
from hypervisor.host.boot_problems import BootProblem
from hypervisor.host.data_store_word import NONE, READ, UNREADABLE, Word
from hypervisor.settings.problems import FileProblems
from hypervisor.storage.datastore import DataStore, Status, boot_device
from hypervisor.xen.xl import Xl

Say = Callable[[str], None]
NEXT_BOOT = "the next boot reads it again"


def refused(say: Say, error: FileProblems, outcome: str, fix: str) -> None:
    """A settings file the boot does not use: said line by line, and listed on the overview.
    The problems name key paths; the readers of files that hold secrets leave the values out."""
    count = len(error.problems)
    say(f"{error.source}: NOT used, {count} problem{'s' * (count != 1)}: {outcome}")
    for problem in error.problems:
        say(f"  {problem}")
    say(f"{error.source}: to fix: {fix}; {NEXT_BOOT}")
    boot_problems.add(BootProblem(error.source, f"NOT used: {outcome}. To fix: {fix}",
                                  tuple(str(problem) for problem in error.problems)))


def read_data_store(say: Say, safe: bool, store: DataStore | None = None) -> None:
    """Mount the data store; then the consoles hear whether the console password on it can be read."""
    try:
        status = (store or DataStore()).mount(say)
    except Exception as error:      # told even so: the consoles would otherwise wait, locked, for ever
        data_store_word.tell(Word(UNREADABLE, str(error), safe))
        raise
    say(status.line)
    data_store_word.tell(word_for(status, safe))


def word_for(status: Status, safe: bool) -> Word:
    if status.problem is None and status.mounted:
        return Word(READ)
    if status.problem is None and status.group is None:
        return Word(NONE)           # no data store at all: no password anywhere
    return Word(UNREADABLE, status.line.removeprefix("Data store: "), safe)


def set_up_host(say: Say, cmdline: str, store: DataStore | None = None) -> None:
    from hypervisor.answer import first_boot
    from hypervisor.answer.apply import apply_answer, host_problems, reapply_settings
    from hypervisor.answer.fetch import FetchError, boot_medium, find_answer, labelled_volumes, release
    from hypervisor.answer.parse import AnswerError, parse_answer_bytes
    from hypervisor.appliances.claims import disks_given
    from hypervisor.storage.disks import Disks

    store = store or DataStore()
    first_boot.clear()              # this boot decides afresh
    if reapply_settings(say, lambda error, outcome, fix: refused(say, error, outcome, fix)):
        return
    device = boot_device()
    try:
        found = find_answer(cmdline, labelled_volumes() + boot_medium(device),
                            say=lambda line: say(f"answer file: {line}"))
    except FetchError as error:
        say(f"answer file: {error}; nothing was set up from it")
        return
    if found is None:
        if not store.is_mounted():      # a data store made by hand (Storage screen) is a host set up
            first_boot.mark()
            say("no settings kept and no answer file: the console opens the first-boot screens")
        return
    say(f"answer file: found on {found.origin}: {found.location}")
    try:
        try:
            answer = parse_answer_bytes(found.data, found.location)
            disks = Disks(given=disks_given).list()
            problems = host_problems(answer, found.folder, disks, device)
        except AnswerError as error:
            problems = error.problems
        if problems:
            say(f"answer file: REFUSED, nothing was changed: {len(problems)} problem{'s' * (len(problems) > 1)}:")
            for problem in problems:
                say(f"answer file:   {problem}")
            say("answer file: fix them (`xenbox answer check FILE` checks a file offline) and boot again")
            boot_problems.add(BootProblem(found.location, "REFUSED, nothing was changed. To fix: correct it "
                                          "(`xenbox answer check FILE` checks a file offline) and boot again",
                                          tuple(str(problem) for problem in problems)))
            return
        failures = apply_answer(answer, found.data, found.folder, disks, say)
        say("answer file: applied" if not failures else f"answer file: applied with {len(failures)} failure(s)")
    finally:
        release()


def check_console(say: Say) -> None:
    """console.toml is the console's to read; checked here too, so its problems are said at boot. A usable
    password_hash locks the console whatever else is wrong there."""
    from hypervisor.host.console_password import CONSOLE_CONFIG, read_access
    access = read_access(CONSOLE_CONFIG)
    if access.problems:
        outcome = ("the console is locked with its password_hash all the same" if access.password_hash
                   else "the console is NOT locked")
        refused(say, FileProblems(str(CONSOLE_CONFIG), list(access.problems)), outcome,
                "correct these keys, or set the password again from the console (key w)")


def attach_iscsi(say: Say) -> None:
    """The iSCSI targets kept on the data store, before the appliances whose disks are on them."""
    from hypervisor.storage.config_files import KeptFileProblems
    from hypervisor.storage.iscsi_targets import CONFIG, INITIATOR, IscsiTargets
    if CONFIG.exists():
        try:
            IscsiTargets(config=CONFIG, initiator=INITIATOR).attach_all(say)
        except KeptFileProblems as error:
            refused(say, error, "no iSCSI target is attached, so appliances with disks on one do not start",
                    error.fix)


def attach_pools(say: Say) -> None:
    """The pools added by name (NFS shares mounted, folders checked), before the appliances."""
    from hypervisor.storage.config_files import KeptFileProblems
    from hypervisor.storage.named_pools import CONFIG, NamedPools
    if CONFIG.exists():
        try:
            NamedPools(config=CONFIG).attach_all(say)
        except KeptFileProblems as error:
            refused(say, error, "no pool in it is attached, so appliances with disks on one do not start",
                    error.fix)


def step(say: Say, title: str, action: Callable[[Say], None]) -> None:
    """One step of the boot: a failure (a bug, a tool missing) is said, and the boot goes on."""
    try:
        action(say)
    except Exception as error:      # the appliances still start: a setup bug must not keep guests down
        say(f"{title} failed: {error}")


def remove_unfinished_installs(say: Say, into: Path = APPLIANCE_DIRS[0]) -> None:
    """Before autostart: each work folder an interrupted add or replace left is removed, and said, so the
    operator learns which copy of the appliance is in place (hypervisor/appliances/staging.py)."""
    for line in sweep(into):
        say(line)


def back_to_normal_priority() -> None:
    """rc.services starts the boot at a low priority, so the consoles' start-up (seconds of CPU under
    emulation) is not slowed by the data store and answer file search. The appliances do not wait."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:
        pass            # not root (tests): the priority stays as it was


def boot(say: Say, safe: bool, xl: Xl | None = None, cmdline_path: Path = Path("/proc/cmdline"),
         store: DataStore | None = None, appliance_dirs: tuple[Path, ...] = APPLIANCE_DIRS) -> int:
    boot_problems.clear()           # the overview lists this boot's, not the last one's
    step(say, "mounting the data store", lambda say: read_data_store(say, safe, store))
    step(say, "host setup", lambda say: set_up_host(say, cmdline_path.read_text(), store))
    step(say, "reading console.toml", check_console)
    step(say, "attaching iSCSI targets", attach_iscsi)
    step(say, "attaching pools", attach_pools)
    # After the pools: an interrupted add's volumes may be on one (bundle_disks.py).
    step(say, "removing unfinished appliance copies", lambda say: remove_unfinished_installs(say, appliance_dirs[0]))
    if safe:
        say("safe mode: no appliances are started")
        return 0
    back_to_normal_priority()
    outcomes = boot_start.autostart(discover(appliance_dirs), xl or Xl.on_this_host(), say)
    write_status(outcomes)
    return 0 if all(o.started for o in outcomes) else 1
