"""Hand the terminal to a guest's console (`xl console`) until Ctrl-]; run with the app suspended."""
from __future__ import annotations

from typing import Sequence

from hypervisor import runner


def attach_console(name: str, command: Sequence[str]) -> str | None:
    """Run `command` (Xl.console_command) on the terminal. Returns None when the person came back with
    Ctrl-], else what went wrong in one sentence."""
    print(f"Attached to {name}'s console. Press Ctrl-] to come back.", flush=True)
    try:
        runner.attach(command)
    except runner.CommandError as error:
        return error.sentence
    return None
