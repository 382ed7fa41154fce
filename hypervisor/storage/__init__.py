"""Local disks, LVM, iSCSI, NFS and disk images: pure parsers of each tool's output, thin classes that call it.

Every class takes the runner (`hypervisor.runner.run`) as an argument, so tests check the exact argv.
A `StorageError` is one sentence for the console: it names the device or share and says what to do.
"""
from __future__ import annotations

from pathlib import Path

from hypervisor.runner import CommandError

# Where the data store is mounted. Here rather than in datastore.py: the console reads its lock from
# a file there at start, and should not load LVM's module to learn where that is.
MOUNTPOINT = Path("/var/lib/xenbox")
# The data store's volume group and its filesystem's volume, here for the same reason: every manifest
# read checks its paths against them (hypervisor/appliances/guest_paths.py).
VG_NAME = "xenbox"
DATA_LV = "data"


class StorageError(Exception):
    """What went wrong with a named device, volume or share, and the fix, in one sentence."""


def human_size(size: int) -> str:
    """Bytes as a person reads them: 512 MiB, 1.2 GiB, 4 GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}"


def explain(error: CommandError, known: list[tuple[str, str]]) -> str:
    """The sentence for a failed tool: the first known phrase found in its output, else its last real line."""
    for phrase, sentence in known:
        if phrase.lower() in error.output.lower():
            return sentence
    lines = [line.strip() for line in error.output.splitlines()
             if line.strip() and not line.strip().startswith(("Run `", "WARNING:", "File descriptor"))]
    return lines[-1] if lines else error.sentence
