"""Kernel messages printed on the consoles, for the console UI to draw itself again after them.

dom0 boots with `loglevel=4`: the kernel prints its errors and worse (levels 0-3) on every
console it was given, the screen (tty1) and the serial line (hvc0), straight over what the
console UI drew there. /dev/kmsg gives each reader every new record, one per read; the
console opens it once, skips what was logged before, and asks every second what came since.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

KMSG = "/dev/kmsg"
PRINTK = Path("/proc/sys/kernel/printk")    # its first field: the level below which messages are printed
BOARD_LOGLEVEL = 4                          # board/pc/board.toml's loglevel, if printk cannot be read
RECORD_BYTES = 8192                         # more than one record can hold (a line is cut at 1 KiB)


def console_loglevel(printk: Path = PRINTK) -> int:
    try:
        return int(printk.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return BOARD_LOGLEVEL


def printed_text(record: bytes, loglevel: int) -> str | None:
    """The text of a /dev/kmsg record ("PRI,SEQ,USEC,FLAGS;TEXT" and continuation lines) if the
    kernel printed it on the consoles, else None. PRI is facility * 8 + level."""
    head, _, rest = record.decode(errors="replace").partition(";")
    try:
        level = int(head.split(",", 1)[0]) & 7
    except ValueError:
        return None
    if level >= loglevel:
        return None
    return rest.split("\n", 1)[0].strip()


class PrintedMessages:
    """What the kernel printed on the consoles since the last look."""

    def __init__(self, kmsg: str = KMSG, printk: Path = PRINTK) -> None:
        self.loglevel = console_loglevel(printk)
        try:
            self._fd: int | None = os.open(kmsg, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            os.lseek(self._fd, 0, os.SEEK_END)      # from now on: the boot's own messages are long drawn over
        except OSError:
            self._fd = None     # no /dev/kmsg (not Linux, not root): nothing is watched

    def since_last_look(self) -> list[str]:
        texts: list[str] = []
        while self._fd is not None:
            try:
                record = os.read(self._fd, RECORD_BYTES)
            except BlockingIOError:
                break
            except OSError as error:
                if error.errno == errno.EPIPE:      # records overwritten before they were read: some printed
                    texts.append("(kernel messages were lost)")
                    continue
                break
            if not record:
                break
            text = printed_text(record, self.loglevel)
            if text is not None:
                texts.append(text)
        return texts

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
