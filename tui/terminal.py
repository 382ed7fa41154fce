"""Prepare a serial or screen terminal for the console: its real size and colours.

Serial and hvc ttys report 0x0 and send no SIGWINCH, so the terminal on the far
end is asked directly: park the cursor at the bottom-right corner and request its
position (the trick `resize` uses). No answer within a second means 80x24.
"""
from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import termios
import tty as ttymod

FALLBACK = (24, 80)
QUERY = b"\x1b7\x1b[999;999H\x1b[6n\x1b8"
REPLY = re.compile(rb"\x1b\[(\d+);(\d+)R")


def parse_position_reply(data: bytes) -> tuple[int, int] | None:
    match = REPLY.search(data)
    if not match:
        return None
    return plausible_size(int(match.group(1)), int(match.group(2)))


def plausible_size(rows: int, cols: int) -> tuple[int, int] | None:
    """A terminal's answer, unless too small to be one (some keys send look-alike sequences)."""
    return (rows, cols) if rows >= 10 and cols >= 40 else None


def is_serial(tty: str) -> bool:
    """A serial line (hvc0, ttyS0) can't tell the kernel its size: it must be asked."""
    return tty.startswith(("hvc", "ttyS", "ttyAMA", "ttyUSB"))


def kernel_size(fd: int) -> tuple[int, int]:
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return rows, cols


def set_kernel_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def ask_terminal_size(fd: int, timeout: float = 1.0) -> tuple[int, int] | None:
    saved = termios.tcgetattr(fd)
    try:
        ttymod.setraw(fd)
        termios.tcflush(fd, termios.TCIFLUSH)
        os.write(fd, QUERY)
        data = b""
        while not REPLY.search(data):
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                break
            data += os.read(fd, 64)
        return parse_position_reply(data)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def size_terminal(fd: int = 0) -> tuple[int, int]:
    """Make the tty's size right before Textual reads it; returns (rows, cols)."""
    rows, cols = kernel_size(fd)
    if rows and cols:
        return rows, cols       # the screen (tty1) knows its own size
    rows, cols = ask_terminal_size(fd) or FALLBACK
    set_kernel_size(fd, rows, cols)
    return rows, cols
