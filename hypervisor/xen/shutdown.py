"""Guest shutdown: ask, wait, ask once more halfway; and the host's, which destroys what is left."""
from __future__ import annotations

import time
from typing import Callable, Sequence

from hypervisor.runner import CommandError
from hypervisor.xen.domains import has_shut_down
from hypervisor.xen.xl import Xl

DOM0 = 0


def ask_to_shut_down(xl: Xl, names: Sequence[str], *, wait: float, poll: float = 1.0,
                     ask: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Ask each guest to shut down and wait up to `wait` seconds until all have stopped; returns
    the names still running. A guest still booting can miss the request (its shutdown handler is
    not up yet), so halfway through those still running are asked once more. `ask` asks one guest
    (xl.shutdown unless given), so a caller can say what it does or carry on past an error."""
    ask = ask or xl.shutdown
    for name in names:
        ask(name)
    started, asked_again, remaining = clock(), False, list(names)
    while remaining and clock() - started < wait:
        sleep(poll)
        now = {d.name: d for d in xl.domains()}
        remaining = [name for name in remaining if not has_shut_down(now.get(name))]
        if remaining and not asked_again and clock() - started >= wait / 2:
            for name in remaining:
                ask(name)
            asked_again = True
    return remaining


def shutdown_guests(xl: Xl, *, timeout: float = 60, say: Callable[[str], None] = print,
                    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Returns the names of guests that had to be destroyed."""
    guests = {d.name: d.domid for d in xl.domains() if d.domid != DOM0}
    if not guests:
        say("no guests running")
        return []
    asked: set[str] = set()

    def ask(name: str) -> None:
        say(f"asking {name} again to shut down" if name in asked else f"shutting down {name} (id {guests[name]})")
        asked.add(name)
        try:
            xl.shutdown(name)
        except CommandError as error:
            say(f"{name}: {error.sentence}")

    remaining = ask_to_shut_down(xl, list(guests), wait=timeout, ask=ask, clock=clock, sleep=sleep)
    for name in remaining:
        say(f"{name} did not shut down within {timeout:.0f} s: destroying it")
        try:
            xl.destroy(name)
        except CommandError as error:
            say(f"{name}: {error.sentence}")
    say("all guests stopped")
    return remaining
