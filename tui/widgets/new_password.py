"""Asking for a new console password: typed twice, hidden, at least SHORTEST characters."""
from __future__ import annotations

from typing import Callable

from textual.app import App

from tui.invalid import Invalid
from tui.widgets.prompt import Prompt

SHORTEST = 8


def long_enough(text: str) -> str:
    if len(text) < SHORTEST:
        raise Invalid(f"use at least {SHORTEST} characters")
    return text


def ask_new_password(app: App, then: Callable[[str], None]) -> None:
    """Two prompts; `then` gets the password once both matched (nothing when either was cancelled)."""
    def confirmed(first: str | None) -> None:
        if first is None:
            return

        def same(again: str) -> str:
            if again != first:
                raise Invalid("the two passwords differ: type the same one again, or Escape")
            return again
        app.push_screen(Prompt("Type the console password again:", read=same, password=True),
                        lambda again: again and then(again))
    app.push_screen(Prompt(f"Console password (at least {SHORTEST} characters):", read=long_enough, password=True),
                    confirmed)
