"""Problems in a settings file (a manifest, an answer file, a host setting): every one, not just the first."""
from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

# Values are quoted back to the reader; a whole table or a 10 kB string would drown the message.
_short = reprlib.Repr()
_short.maxstring = 80
_short.maxother = 80


@dataclass(frozen=True)
class Problem:
    field: str        # dotted path such as `memory.initial_mib` or `disks[1].format`, or `line 3`
    value: Any        # what was found; None when the field is missing (TOML has no null)
    message: str      # what is wrong, and what would be valid

    def __str__(self) -> str:
        found = "" if self.value is None else f" = {_short.repr(self.value)}"
        return f"{self.field}{found}: {self.message}"


def repeated_names(table: str, names: list[str | None]) -> list[Problem]:
    """`table[i].name` for each name an earlier entry of the list has already (None: an entry too broken to name)."""
    first: dict[str, int] = {}
    return [Problem(f"{table}[{index}].name", name, f"is already the name of {table}[{first[name]}]")
            for index, name in enumerate(names) if name is not None and first.setdefault(name, index) != index]


class FileProblems(ValueError):
    """All the problems of one file, so a person can fix them in one go."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        heading = f"{self.source}: {count} problem{'s' if count != 1 else ''}"
        return "\n".join([heading, *(f"  {problem}" for problem in self.problems)])
