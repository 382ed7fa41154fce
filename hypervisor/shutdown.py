"""Host shutdown: ask every guest to shut down, wait, then destroy what is left."""
from __future__ import annotations

import time
from typing import Callable

from hypervisor.runner import CommandError
from hypervisor.xl import Xl

DOM0 = 0


def shutdown_guests(xl: Xl, *, timeout: float = 60, say: Callable[[str], None] = print,
                    clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Returns the names of guests that had to be destroyed."""
    guests = [d for d in xl.domains() if d.domid != DOM0]
    if not guests:
        say("no guests running")
        return []
    for guest in guests:
        say(f"shutting down {guest.name} (id {guest.domid})")
        try:
            xl.shutdown(guest.name)
        except CommandError as error:
            say(f"{guest.name}: {error.sentence}")
    deadline = clock() + timeout
    remaining = guests
    while remaining and clock() < deadline:
        sleep(1)
        alive = {d.domid for d in xl.domains()}
        remaining = [g for g in remaining if g.domid in alive]
    for guest in remaining:
        say(f"{guest.name} did not shut down within {timeout:.0f} s: destroying it")
        try:
            xl.destroy(guest.name)
        except CommandError as error:
            say(f"{guest.name}: {error.sentence}")
    say("all guests stopped")
    return [g.name for g in remaining]
