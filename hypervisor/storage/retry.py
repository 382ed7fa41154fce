"""Attaching what the boot finds kept (iSCSI targets, NFS pools) while the network may still be coming up.

DHCP runs meanwhile, and after a power cut a SAN or NAS may boot slower than this host: what fails is
tried again for about a minute before it is reported.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from hypervisor.storage import StorageError

ATTEMPTS, RETRY_SECONDS = 12, 5
Item = TypeVar("Item")


def attach_with_retries(items: list[Item], attach: Callable[[Item], object], name: Callable[[Item], str],
                        label: str, say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep,
                        attempts: int = ATTEMPTS) -> dict[str, StorageError]:
    """Attach each item; returns those that still failed after every attempt, by name, each said."""
    pending, failed = list(items), {}
    for attempt in range(attempts):
        failed = {}
        for item in pending:
            try:
                attach(item)
            except StorageError as error:
                failed[name(item)] = error
        pending = [item for item in pending if name(item) in failed]
        if not pending or attempt == attempts - 1:
            break
        if attempt == 0:
            say(f"{label} {', '.join(failed)}: not reachable yet; trying again for a minute")
        sleep(RETRY_SECONDS)
    for item_name, error in failed.items():
        say(f"{label} {item_name}: NOT attached: {error}; appliances with disks on it will not start")
    return failed
