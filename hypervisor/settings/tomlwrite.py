"""Writing appliance.toml: top-level values, then [tables] and [[arrays of tables]], one level deep.

Enough for the manifest's own shape; tomllib reads TOML but cannot write it, and
the appliance layer takes no dependency for this.
"""
from __future__ import annotations

import re

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def dumps(document: dict) -> str:
    def is_tables(value: object) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(item, dict) for item in value)
    lines = [f"{key_text(key)} = {value_text(value)}" for key, value in document.items()
             if not isinstance(value, dict) and not is_tables(value)]
    for key, value in document.items():
        for header, table in ([(f"[{key_text(key)}]", value)] if isinstance(value, dict) else
                              [(f"[[{key_text(key)}]]", item) for item in value] if is_tables(value) else []):
            lines += ["", header, *(f"{key_text(name)} = {value_text(item)}" for name, item in table.items())]
    return "\n".join(lines).lstrip("\n") + "\n"


def key_text(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else string_text(key)


def value_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return string_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(value_text(item) for item in value) + "]"
    raise TypeError(f"{value!r}: appliance.toml holds only text, numbers, true/false and lists")


def string_text(text: str) -> str:
    # Lone surrogates cannot be written as UTF-8, nor escaped in TOML: they become '?'.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return '"' + "".join(_ESCAPES.get(ch) or (f"\\u{ord(ch):04x}" if ord(ch) < 32 or ord(ch) == 127 else ch)
                         for ch in text) + '"'
