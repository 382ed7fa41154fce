"""Answer files: the whole host set up at first boot with no keystrokes.

- `parse`     answer.toml read strictly into frozen dataclasses; every problem in one AnswerError
- `sources`   where to look for it: kernel command line, a volume labelled XENBOX, the boot medium
- `summary`   what an answer file sets up, a line each (`xenbox answer check`, the first-boot summary)
- `network_settings` the host's network as kept on the data store, in the answer file's form
- `fetch`     fetching it from a URL or a volume
- `apply`     every check on this host, then each step, said as it happens
- `compose`   the console's first-boot answers written as answer-file text (the same checks and steps)
- `first_boot` the boot's marker that opens the console's first-boot screens

The names below are loaded on first use: importing this package (every `xenbox`
command does, for its parser) must not pull in the network and password modules.
"""
import importlib

_HOME = {name: "parse" for name in ("Answer", "AnswerError", "Appliance", "RequestedPool", "Storage",
                                     "check_answer", "disk_problems", "parse_answer", "parse_answer_bytes")}
_HOME.update({name: "sources" for name in ("AnswerSource", "Volume", "answer_sources")})
__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
