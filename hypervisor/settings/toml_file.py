"""Reading a settings file's TOML into a dict, or every reason it cannot be, as FileProblems.

Nothing of the file's content is quoted back (it may hold a secret): tomllib's own messages name
only a line and a column, and text that is no UTF-8 is named by its line.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from hypervisor.settings.problems import FileProblems, Problem


def syntax_problem(message: str) -> Problem:
    """tomllib says `... (at line 3, column 5)`: lead with the place, like every other problem."""
    place = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if place is None:
        return Problem("toml", None, message)
    return Problem(f"line {place[1]}, column {place[2]}", None, message[:place.start()] + " (TOML syntax)")


def parse_toml(data: bytes, source: str) -> dict:
    """The document in `data` (UTF-8, a byte-order mark forgiven); FileProblems naming `source` if none."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise FileProblems(source, [Problem(f"line {line}", None, "is not UTF-8 text; save the file as UTF-8")]) \
            from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FileProblems(source, [syntax_problem(str(error))]) from None
    except RecursionError:
        raise FileProblems(source, [Problem("toml", None, "is nested too deeply to be read")]) from None


def load_toml(path: Path) -> dict | None:
    """The file's document; None when there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise FileProblems(str(path), [Problem("file", None, f"cannot be read: {error.strerror}")]) from None
    return parse_toml(data, str(path))
