"""Configuration files written so that a power cut leaves the old version or the new one, never half of one.

Write a temporary file beside the target, fsync it, keep the current version as `NAME.prev`,
rename the new one into place, and fsync the folder so the renames themselves are on disk.

Every file written here is root's alone (mode 600) from its first byte: some hold secrets (a password
hash, a CHAP secret, an answer file), and dom0 has no other user who needs to read the rest. Each writer
has its own temporary name (mkstemp makes it, mode 600), so two writers of one file at once each leave a
whole version, the later one in place.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

MODE = 0o600
STALE_SECONDS = 600     # a temporary file this old was left by a writer that never finished (a power cut)


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        keep_previous(path, temporary.with_name(temporary.name + ".prev"))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)
    remove_stale(path)


def keep_previous(path: Path, link: Path) -> None:
    """NAME.prev: a hard link to the current version, which stays whole until the rename that replaces it.
    Linked under the writer's own name first, then renamed over the old NAME.prev: one step, never absent."""
    try:
        os.link(path, link)
    except FileNotFoundError:
        return                      # the first version: nothing to keep
    os.chmod(link, MODE)            # a version written before files were kept private
    os.replace(link, path.with_name(f"{path.name}.prev"))
    link.unlink(missing_ok=True)    # NAME.prev was this very file already: rename(2) then leaves both names


def remove_stale(path: Path) -> None:
    """Temporary files of writers cut off long ago; a writer at work now has a fresh one."""
    for leftover in path.parent.glob(f".{path.name}.*.new*"):
        try:
            if time.time() - leftover.lstat().st_mtime > STALE_SECONDS:
                leftover.unlink()
        except OSError:
            pass                    # gone already: another writer removed it


def sync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
