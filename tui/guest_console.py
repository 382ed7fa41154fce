"""Hand the terminal to a guest's console (`xl console`) until Ctrl-]; run with the app suspended."""
from __future__ import annotations

import subprocess

CONSOLE = ("xl", "console")


def attach_console(name: str, command: tuple[str, ...] = CONSOLE) -> str | None:
    """Returns None when the person came back with Ctrl-], else what went wrong in one sentence."""
    print(f"Attached to {name}'s console. Press Ctrl-] to come back.", flush=True)
    try:
        # Only stderr is captured: the guest's console needs the real terminal on stdin and stdout.
        done = subprocess.run([*command, name], stderr=subprocess.PIPE, text=True, errors="replace")
    except OSError as error:
        return f"{command[0]}: {error.strerror}"
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
        return lines[-1] if lines else f"{' '.join(command)} ended with exit code {done.returncode}"
    return None
