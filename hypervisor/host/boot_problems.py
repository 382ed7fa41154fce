"""What the boot could not use (a settings file with problems, ...): a small JSON file the overview shows
in its Boot panel, beside the appliances autostart did not start, until the next boot.

Each is said on the serial line too, as it is found (hypervisor/boot.py). Written as the boot goes, not
at its end: the appliances' start can take minutes, and the operator should see why meanwhile.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

PROBLEMS_FILE = Path("/run/xenbox/boot-problems.json")


@dataclass(frozen=True)
class BootProblem:
    subject: str                    # what could not be used: "config/pools.toml"
    outcome: str                    # what the boot did instead, and the fix
    details: tuple[str, ...] = ()   # one line per problem: a key path and what is wrong there


def clear(path: Path | None = None) -> None:
    (path or PROBLEMS_FILE).unlink(missing_ok=True)


def add(problem: BootProblem, path: Path | None = None) -> None:
    path = path or PROBLEMS_FILE
    problems = [*read_problems(path), problem]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as file:
        json.dump([asdict(p) for p in problems], file, indent=2)
    os.replace(temporary, path)


def read_problems(path: Path | None = None) -> list[BootProblem]:
    try:
        return [BootProblem(item["subject"], item["outcome"], tuple(item["details"]))
                for item in json.loads((path or PROBLEMS_FILE).read_text())]
    except (OSError, ValueError, TypeError, KeyError):
        return []
