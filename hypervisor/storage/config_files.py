"""Reading back the storage settings kept on the data store (config/pools.toml, config/iscsi.toml),
written by hypervisor.settings.atomic and read as strictly as an answer file: every key known, every
value of its type, every problem at once. A file with any problem is not used at all; the boot says
so and goes on without it (hypervisor/boot.py)."""
from __future__ import annotations

from pathlib import Path

from hypervisor.settings.problems import FileProblems, Problem
from hypervisor.settings.toml_file import load_toml
from hypervisor.storage import StorageError


class KeptFileProblems(FileProblems, StorageError):
    """A settings file on the data store that cannot be used as it is: every problem, and the fix.
    A StorageError too, so every caller that reports one (the console's screens, the CLI) reports this."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        previous = path.with_name(f"{path.name}.prev")
        self.fix = "correct these keys" + (f", or put back {previous.name} beside it (the version before the "
                                           "last change)" if previous.exists() else "")
        super().__init__(str(path), problems)

    def __str__(self) -> str:
        return f"{super().__str__()}\nto fix: {self.fix}"


def read_toml(path: Path) -> dict:
    """The file's document, {} when there is none; KeptFileProblems when it cannot be read as TOML."""
    try:
        return load_toml(path) or {}
    except FileProblems as error:
        raise KeptFileProblems(path, error.problems) from None
