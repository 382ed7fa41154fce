"""Hand the terminal to a guest's console (`xl console`) until Ctrl-]; run with the app suspended
(tui/handover.py): left with no input for the idle limit, it is detached."""
from __future__ import annotations

from hypervisor import runner

CONSOLE = ("xl", "console")


def attach_console(name: str, command: tuple[str, ...] = CONSOLE, idle_limit: int | None = None) -> str | None:
    """Returns None when the person came back with Ctrl-], else what went wrong in one sentence.
    Raises runner.LeftIdle when it was detached for want of input."""
    print(f"Attached to {name}'s console. Press Ctrl-] to come back.", flush=True)
    try:
        runner.attach([*command, name], idle_limit=idle_limit)
    except runner.CommandError as error:
        lines = [line.strip() for line in error.output.splitlines() if line.strip()]
        return lines[-1] if lines else f"{' '.join(command)} ended with exit code {error.returncode}"
    return None
