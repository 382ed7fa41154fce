"""Start the autostart appliances at boot, in their order and delays; one failure never stops the rest.

What happened to each is said line by line on the serial console as it happens, and
written to a status file the console shows (autostart_status.py).
"""
from __future__ import annotations

import time
from typing import Callable

from hypervisor.appliances.autostart_status import Outcome
from hypervisor.appliances.catalog import Entry
from hypervisor.appliances.launch import CannotStart, start
from hypervisor.runner import CommandError
from hypervisor.xen.xl import Xl

def autostart(entries: list[Entry], xl: Xl, say: Callable[[str], None],
              sleep: Callable[[float], None] = time.sleep) -> list[Outcome]:
    outcomes = [Outcome(e.name, False, f"its appliance.toml is not valid: {e.problem}")
                for e in entries if e.manifest is None]
    for outcome in outcomes:
        say(f"appliance {outcome.name} NOT started: {outcome.reason}")
    chosen = sorted((e for e in entries if e.autostart), key=lambda e: (e.manifest.autostart.order, e.name))
    for number, entry in enumerate(chosen):
        delay = entry.manifest.autostart.delay_s
        if number and delay:
            say(f"waiting {delay} s before starting {entry.name}")
            sleep(delay)
        outcome = _start_one(entry, xl)
        say(f"appliance {entry.name} started" if outcome.started
            else f"appliance {entry.name} NOT started: {outcome.reason}")
        outcomes.append(outcome)
    return outcomes


def _start_one(entry: Entry, xl: Xl) -> Outcome:
    try:
        start(entry.manifest, xl)
    except CannotStart as error:
        return Outcome(entry.name, False, str(error))
    except CommandError as error:
        return Outcome(entry.name, False, f"Xen refused it: {error.sentence}")
    return Outcome(entry.name, True)

