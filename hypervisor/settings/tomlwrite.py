"""TOML text for the files XenBox writes, by tomli-w (PyPI; tomllib only reads).

Lone surrogates become '?': they are how Python holds a file name or an argument that is not
UTF-8, and a TOML file is UTF-8, so writing one would fail halfway through the file.
"""
from __future__ import annotations

import tomli_w


def dumps(document: dict) -> str:
    """Top-level values, then [tables]; a short list of tables is written inline, a long one as
    [[tables]]; a non-empty list one item a line."""
    return tomli_w.dumps(document).encode("utf-8", "replace").decode("utf-8")


def key_text(key: str) -> str:
    """A key as a TOML file spells it: bare, or quoted when it must be ("my key")."""
    return dumps({key: 0}).removesuffix(" = 0\n")
