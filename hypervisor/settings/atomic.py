"""Configuration files written so that a power cut leaves the old version or the new one, never half of one.

Write a temporary file beside the target, fsync it, keep the current version as `NAME.prev`,
rename the new one into place, and fsync the folder so the renames themselves are on disk.
"""
from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.new")
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    if path.exists():
        previous = path.with_name(f"{path.name}.prev")
        previous.unlink(missing_ok=True)
        os.link(path, previous)       # a hard link: the old version stays whole until the rename below
    os.replace(temporary, path)
    sync_directory(path.parent)


def sync_directory(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
