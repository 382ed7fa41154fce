"""What the boot's autostart did to each appliance: a small JSON file the consoles show.

Kept apart from autostart.py so a console can read it without importing what starting
guests needs (manifests, xl.cfg): its first frame waits on every import.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

STATUS_FILE = Path("/run/xenbox/autostart.json")


@dataclass(frozen=True)
class Outcome:
    name: str
    started: bool
    reason: str = ""


def write_status(outcomes: list[Outcome], path: Path | None = None) -> None:
    path = path or STATUS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps([asdict(o) for o in outcomes], indent=2))
    temporary.replace(path)


def read_status(path: Path | None = None) -> list[Outcome]:
    try:
        return [Outcome(**item) for item in json.loads((path or STATUS_FILE).read_text())]
    except (OSError, ValueError, TypeError):
        return []
