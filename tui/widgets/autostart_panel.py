"""On the overview: what the boot could not use (a settings file with problems) and which appliances it
did not start, and why, one line each.

Hidden when the boot used everything and every autostart appliance started (or none was asked to).
"""
from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual.widgets import Static

from hypervisor.appliances.autostart_status import Outcome
from hypervisor.host.boot_problems import BootProblem


def one_line(text: str) -> str:
    """A many-line reason (every problem of a manifest) joined into one line."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def failure_lines(outcomes: Sequence[Outcome]) -> list[str]:
    return [f"{o.name} NOT started: {one_line(o.reason) or 'no reason given'}" for o in outcomes if not o.started]


def problem_lines(problems: Sequence[BootProblem]) -> list[str]:
    return [f"{p.subject} {p.outcome}" + (f" - {'; '.join(p.details)}" if p.details else "") for p in problems]


class AutostartPanel(Static):
    DEFAULT_CSS = """
    AutostartPanel {
        height: auto; max-height: 8; padding: 0 1;
        border: solid $error; border-title-color: $text; color: $text;
        display: none;
    }
    """

    def on_mount(self) -> None:
        self.border_title = "Boot"
        self._lines: list[str] = []

    def show(self, outcomes: Sequence[Outcome], problems: Sequence[BootProblem] = ()) -> None:
        lines = problem_lines(problems) + failure_lines(outcomes)
        if lines == self._lines:
            return          # every two seconds the same: no redraw
        self._lines = lines
        self.display = bool(lines)
        self.update(Text("\n".join(lines)))
