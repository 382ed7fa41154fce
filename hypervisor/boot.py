"""What dom0 does at boot once Xen's daemons are up (`xenbox host boot`, run last by rc.services):

1. mount the data store, found by its tag;
2. set the host up: from the settings kept on the data store, or else from an answer file if there is one
   (checked whole first: one with any problem changes nothing and lists them all); with neither (and no
   data store), leave the marker that opens the console's first-boot screens (hypervisor/answer/first_boot.py);
3. attach the iSCSI targets and mount the NFS pools kept on the data store;
4. start the autostart appliances, unless in safe mode.
Every line goes to the serial console, prefixed "xenbox:".
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from hypervisor.appliances import autostart as boot_start
from hypervisor.appliances.autostart_status import write_status
from hypervisor.appliances.catalog import discover
from hypervisor.storage.datastore import DataStore, boot_device
from hypervisor.xen.xl import Xl

Say = Callable[[str], None]


def set_up_host(say: Say, cmdline: str, store: DataStore | None = None) -> None:
    from hypervisor.answer import first_boot
    from hypervisor.answer.apply import apply_answer, host_problems, reapply_settings
    from hypervisor.answer.fetch import FetchError, boot_medium, find_answer, labelled_volumes, release
    from hypervisor.answer.parse import AnswerError, parse_answer_bytes
    from hypervisor.appliances.claims import disks_given
    from hypervisor.storage.disks import Disks

    store = store or DataStore()
    first_boot.clear()              # this boot decides afresh
    if reapply_settings(say):
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
            return
        failures = apply_answer(answer, found.data, found.folder, disks, say)
        say("answer file: applied" if not failures else f"answer file: applied with {len(failures)} failure(s)")
    finally:
        release()


def attach_iscsi(say: Say) -> None:
    """The iSCSI targets kept on the data store, before the appliances whose disks are on them."""
    from hypervisor.storage.iscsi_targets import CONFIG, IscsiTargets
    if CONFIG.exists():
        IscsiTargets().attach_all(say)


def attach_pools(say: Say) -> None:
    """The pools added by name (NFS shares mounted, folders checked), before the appliances."""
    from hypervisor.storage.named_pools import CONFIG, NamedPools
    if CONFIG.exists():
        NamedPools().attach_all(say)


def back_to_normal_priority() -> None:
    """rc.services starts the boot at a low priority, so the consoles' start-up (seconds of CPU under
    emulation) is not slowed by the data store and answer file search. The appliances do not wait."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, 0)
    except OSError:
        pass            # not root (tests): the priority stays as it was


def boot(say: Say, safe: bool, xl: Xl | None = None, cmdline_path: Path = Path("/proc/cmdline")) -> int:
    say(DataStore().mount(say).line)
    try:
        set_up_host(say, cmdline_path.read_text())
    except Exception as error:      # the appliances still start: a setup bug must not keep guests down
        say(f"host setup failed: {error}")
    attach_iscsi(say)
    attach_pools(say)
    if safe:
        say("safe mode: no appliances are started")
        return 0
    back_to_normal_priority()
    outcomes = boot_start.autostart(discover(), xl or Xl.on_this_host(), say)
    write_status(outcomes)
    return 0 if all(o.started for o in outcomes) else 1
