"""Reading one TOML table strictly: every key known, every value of its type, every problem kept.

Methods return None when a key is absent *or* wrong, after recording why; the
caller applies its default and never sees a value of the wrong type.

A reader of a file that may hold secrets (an answer file, console.toml, iscsi.toml) is given the names of
its secret keys, and then quotes back only a known key's own text or number: never a secret's, never a
value of the wrong type or a table or list (a secret may be in it), never an unknown key's (a misspelt
secret such as `pasword_hash`). Its problems name key paths; the value stays in the file.
"""
from __future__ import annotations

import difflib
import re
from typing import Any, Collection, Iterable

from hypervisor.settings.problems import Problem
from hypervisor.settings.tomlwrite import key_text

# What a person wrote, said in words: "must be a whole number (found text)".
_FOUND = [(bool, "true/false"), (int, "a number"), (float, "a decimal number"), (str, "text"),
          (dict, "a table"), (list, "a list")]


def describe(value: Any) -> str:
    return next((words for kind, words in _FOUND if isinstance(value, kind)), "a date or time")


def has_control_characters(text: str) -> bool:
    """Lone surrogates count too: a Python string can hold them, a UTF-8 xl.cfg cannot."""
    return any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in text)


class TableReader:
    def __init__(self, data: dict, path: str, problems: list[Problem], secrets: Collection[str] = ()) -> None:
        self.data, self.path, self.problems = data, path, problems
        self.secrets = frozenset(secrets)       # key names whose values are never quoted back
        self._known: list[str] = []

    def field(self, key: str) -> str:
        """The dotted path as TOML would write it: memory.initial_mib, disks[1]."my key"."""
        return f"{self.path}.{key_text(key)}" if self.path else key_text(key)

    def problem(self, key: str, value: Any, message: str) -> None:
        self.problems.append(Problem(self.field(key), None if self._withheld(key, value) else value, message))

    def item_problem(self, key: str, index: int, value: Any, message: str) -> None:
        """A problem with one item of the list at `key`, named `key[index]`; in a file that may hold
        secrets the item is not quoted (it may be one in the wrong place)."""
        self.problems.append(Problem(f"{self.field(key)}[{index}]", None if self.secrets else value, message))

    def _withheld(self, key: str, value: Any) -> bool:
        return bool(self.secrets) and (key in self.secrets or key not in self._known or isinstance(value, (dict, list)))

    def _child(self, data: dict, path: str) -> TableReader:
        return TableReader(data, path, self.problems, self.secrets)

    def take(self, key: str, kind: type, expected: str, missing: str | None = None) -> Any:
        """The value if it is a `kind`; `missing` says how to add a required key."""
        self._known.append(key)
        if key not in self.data:
            if missing is not None:
                self.problem(key, None, f"missing: {missing}")
            return None
        value = self.data[key]
        # TOML's true is no number, though Python's bool is an int.
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            # Where a secret file has a value of the wrong type, it may be a secret in the wrong place.
            self.problem(key, None if self.secrets else value, f"must be {expected} (found {describe(value)})")
            return None
        return value

    def string(self, key: str, missing: str | None = None, *, choices: Iterable[str] = (),
               pattern: re.Pattern | None = None, valid: str = "", multiline: bool = False) -> str | None:
        value = self.take(key, str, "text in quotes", missing)
        choices = tuple(choices)
        if value is None:
            return None
        if choices and value not in choices:
            self.problem(key, value, "must be one of " + ", ".join(f'"{choice}"' for choice in choices))
        elif pattern is not None and not pattern.fullmatch(value):
            self.problem(key, value, f"must be {valid}")
        elif not multiline and has_control_characters(value):
            self.problem(key, value, "must be one line without control characters")
        else:
            return value
        return None

    def integer(self, key: str, missing: str | None = None, *, minimum: int | None = None,
                unit: str = "") -> int | None:
        value = self.take(key, int, f"a whole number of {unit}" if unit else "a whole number", missing)
        if value is not None and minimum is not None and value < minimum:
            self.problem(key, value, f"must be at least {minimum} {unit}".rstrip())
            return None
        return value

    def boolean(self, key: str) -> bool | None:
        return self.take(key, bool, "true or false")

    def table(self, key: str, missing: str | None = None) -> TableReader | None:
        value = self.take(key, dict, f"a table, written [{self.field(key)}]", missing)
        return None if value is None else self._child(value, self.field(key))

    def tables(self, key: str) -> list[TableReader]:
        expected = f"a list of tables, each written [[{self.field(key)}]]"
        value = self.take(key, list, expected) or []
        if not all(isinstance(item, dict) for item in value):
            self.problem(key, value, f"must be {expected}")
            return []
        return [self._child(item, f"{self.field(key)}[{index}]") for index, item in enumerate(value)]

    def refuse(self, key: str, message: str) -> None:
        """A key that is known but not usable here: named as such, not as a typo."""
        self._known.append(key)
        if key in self.data:
            self.problem(key, None if self.secrets else self.data[key], message)

    def finish(self) -> None:
        """Report every key that no one asked for, with the closest valid one."""
        for key, value in self.data.items():
            if key not in self._known:
                close = difflib.get_close_matches(key, self._known, n=1, cutoff=0.6)
                suggestion = f'did you mean "{close[0]}"? ' if close else ""
                self.problem(key, value, f"unknown key; {suggestion}valid keys here: {', '.join(self._known)}")
