"""Whether dom0's Xen daemons are up yet, and where xenconsoled keeps each guest's console log.

At boot the consoles start beside rc.services, which is still starting xenstored and
xenconsoled: `xl`, or Xen's bindings, asked before then would hang on xenstore or give
up. rc.boot leaves a marker that rc.services removes once the daemons answer (or it gives up).
"""
from __future__ import annotations

import time
from pathlib import Path

STARTING = Path("/run/xenbox/xen-starting")
# A limit for a boot gone wrong, not a wait anyone should see: the daemons take a second or two.
LIMIT_SECONDS = 120.0
# xenconsoled --log=guest (rc.services) writes guest-NAME.log here.
CONSOLE_LOGS = Path("/var/log/xen/console")


def starting(marker: Path | None = None) -> bool:
    return (marker or STARTING).exists()


def wait_until_up(marker: Path | None = None, limit: float = LIMIT_SECONDS, poll: float = 0.1) -> bool:
    """Until the marker is gone; False if it was still there after `limit` seconds."""
    marker = marker or STARTING
    deadline = time.monotonic() + limit
    while marker.exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True
