"""How every `xenbox` command speaks: one line per message, prefixed `xenbox:`, and its exit codes.

Progress and results go to standard output as they happen (flushed: a script or the serial console
sees each line at once); a failure goes to standard error and becomes the exit code.
"""
from __future__ import annotations

import sys

EXIT_FAILED = 1                 # the operation failed; the message says why and what to do
EXIT_USAGE = 2                  # bad usage (argparse's own code too)
EXIT_NOT_FOUND = 3              # no such appliance, guest or file
EXIT_NEEDS_CONFIRMATION = 4     # a disk holds data and its name was not given with --erase


def say(text: str) -> None:
    print(f"xenbox: {text}", flush=True)


def fail(text: str, code: int = EXIT_FAILED) -> int:
    """Say what went wrong on standard error; returns `code`, for `return fail(...)`."""
    print(f"xenbox: {text}", file=sys.stderr, flush=True)
    return code
