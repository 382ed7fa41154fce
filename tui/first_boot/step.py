"""What every first-boot step shares: the answers so far, shown; a change posted to the flow, which keeps them."""
from __future__ import annotations

from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget

from hypervisor.answer.compose import FirstBootAnswers


class Step(Vertical, can_focus=True):
    """One step of the flow. Focused while shown, so its own keys are live and the footer lists them."""
    DEFAULT_CSS = """
    Step { height: 1fr; }
    Step Static.box { height: auto; padding: 0 1; border: solid $primary; border-title-color: $text; }
    Step .help { height: auto; padding: 0 1; }
    """
    TITLE = ""

    class Changed(Message):
        """The answers as this step changed them; the flow keeps them for every step."""

        def __init__(self, answers: FirstBootAnswers) -> None:
            super().__init__()
            self.answers = answers

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.answers = FirstBootAnswers()

    def enter(self, answers: FirstBootAnswers) -> None:
        """Shown, with the answers as they stand (typed at any step, in any order)."""
        self.answers = answers
        self.show()

    def show(self) -> None:
        """Draw the answers this step is about."""

    def change(self, answers: FirstBootAnswers) -> None:
        self.answers = answers
        self.show()
        self.post_message(self.Changed(answers))

    def not_ready(self) -> str | None:
        """Why the flow cannot go on to the next step yet; None when it can."""
        return None

    def focus_target(self) -> Widget:
        return self
