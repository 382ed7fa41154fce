"""Run a command in a shell on the serial console and hand back what it printed."""
from __future__ import annotations

DONE = b"BENCH-DONE"
# Xen keeps only 128 bytes of serial input for dom0: a long line typed at once loses
# characters whenever dom0 is busy. Type it a piece at a time.
PIECE = 32
PAUSE = 0.2


def type_slowly(console, line: str) -> None:
    data = line.encode() + b"\r"
    for start in range(0, len(data), PIECE):
        console.child.send(data[start:start + PIECE])
        console.settle(PAUSE)


def run(console, command: str, timeout: float = 240) -> str:
    """`command` must be one line. Its output is everything up to the end marker, typed echo included.

    The marker is typed as "BENCH""-DONE" so the echo of the typed line never matches it.
    Never type Ctrl-C here: QEMU's `-serial stdio` takes it as its own SIGINT and quits.
    """
    since = len(console.transcript)
    type_slowly(console, f'{command}; echo "BENCH""-DONE"')
    match = console.wait_for_output(DONE, timeout, since)
    return console.transcript[since:since + match.start()].decode(errors="replace")
