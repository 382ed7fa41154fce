"""A new guest, step by step (from the Appliances screen, key N): keyboard only, 80x24, over serial too.

Each step asks one thing: a list to pick from (arrows, Enter) or a line to type (Enter). Esc goes back a
step, every answer kept; on the first step it leaves. The last step shows the choices; c (or Enter)
makes the guest: `create` runs in a worker thread with its progress lines shown, and a failure shows its
sentence with the choices kept, so Esc goes back to fix them. What this host offers is read once, in a
worker too, when the steps open. The screen is dismissed with the new guest's name, or None.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option as ListOption

from hypervisor.appliances.new_guest import GuestChoices, HostOffer, Say, create, host_offer
from hypervisor.runner import CommandError
from tui.invalid import Invalid
from tui.screens.new_guest_steps import STEPS, Context, Draft, Step, choices, steps_for, summary
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.key_footer import KeyFooter

Create = Callable[[GuestChoices, Say], Path]
SHOWN_PROGRESS = 3          # the last lines create() said


def sentence(error: Exception) -> str:
    """What a person reads of a failure: a program's own last line, else the error's message."""
    if isinstance(error, CommandError):
        return error.sentence
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror} ({error.filename})" if error.filename else error.strerror
    return str(error) or type(error).__name__


class NewGuestScreen(ClockedScreen):
    DEFAULT_CSS = """
    NewGuestScreen #steps { height: 1; padding: 0 1; text-style: bold; }
    NewGuestScreen #question { height: auto; padding: 1 1 0 1; }
    /* single-line boxes: the VGA console font has no glyphs for the default "tall" borders */
    NewGuestScreen OptionList, NewGuestScreen OptionList:focus {
        height: auto; max-height: 12; margin: 0 1; border: solid $accent;
    }
    NewGuestScreen Input, NewGuestScreen Input:focus { margin: 0 1; border: solid $accent; }
    NewGuestScreen #note { height: auto; padding: 0 1; color: $text-muted; }
    NewGuestScreen #problem { height: auto; padding: 0 1; color: $error; text-style: bold; }
    NewGuestScreen #summary { height: auto; padding: 1 1 0 1; }
    NewGuestScreen #keys { height: auto; margin-top: 1; padding: 0 1; color: $text-muted; }
    NewGuestScreen #progress { height: auto; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("enter", "next", "Next", show=False),
        Binding("c", "create", "Create"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, offer: Callable[[], HostOffer] = host_offer, make: Create = create,
                 taken: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._read_offer = offer
        self._make = make
        self._taken = taken
        self.context: Context | None = None
        self.draft: Draft = {}
        self.at = 0                 # an index into STEPS; len(STEPS): the summary
        self.creating = False
        self.created: str | None = None
        self._said: list[str] = []

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield Static("", id="steps")
        yield Static("Reading what this host offers ...", id="question")
        yield OptionList()
        yield Input()
        yield Static("", id="summary")
        yield Static("", id="note")
        yield Static("", id="problem")
        yield Static("", id="progress")
        yield Static("", id="keys")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.sub_title = "New guest"
        self.query_one(OptionList).display = self.query_one(Input).display = False
        self._offer()

    @work(thread=True, exit_on_error=False)
    def _offer(self) -> None:
        try:
            offer, problem = self._read_offer(), None
        except Exception as error:          # whatever host_offer() met is shown as its sentence, never a trace
            offer, problem = None, sentence(error)
        self.app.call_from_thread(self._offered, offer, problem)

    def _offered(self, offer: HostOffer | None, problem: str | None) -> None:
        if offer is None:
            self._set("#question", f"Could not read what this host offers: {problem.rstrip('.')}. Esc goes back.")
            return
        self.context = Context(offer, self._taken)
        self._show(0)

    # -- where we are ------------------------------------------------------------------------------------
    @property
    def on_summary(self) -> bool:
        return self.at == len(STEPS)

    @property
    def step(self) -> Step | None:
        return None if self.on_summary else STEPS[self.at]

    def _set(self, selector: str, text: str) -> None:
        """Show a line (or lines); an empty one takes no room."""
        shown = self.query_one(selector, Static)
        shown.update(Text(text))
        shown.display = bool(text)

    def _step_line(self) -> str:
        """The step's number counts the steps taken to reach it: how many follow depends on the answers."""
        shown = steps_for(self.draft, self.context)
        if self.on_summary:
            return f"New guest, step {len(shown) + 1}: Create"
        number = next((n for n, step in enumerate(shown, 1) if step is self.step), len(shown))
        return f"New guest, step {number}: {self.step.title}"

    def _show(self, at: int) -> None:
        self.at = at
        listing, typing = self.query_one(OptionList), self.query_one(Input)
        self._set("#problem", "")
        self._set("#progress", "")
        self._set("#steps", self._step_line())
        self._set("#summary", "")
        if self.on_summary:
            self._show_summary()
            listing.display = typing.display = False
            self.refresh_bindings()
            return
        step, draft, at_host = self.step, self.draft, self.context
        self._set("#question", step.question)
        self._set("#note", step.note(draft, at_host))
        value = step.value(draft, at_host)
        if step.options is None:
            listing.display, typing.display = False, True
            typing.value = step.show(value)
            typing.cursor_position = len(typing.value)
            typing.focus()
            self._set("#keys", "Type, then Enter to go on; Esc goes back a step.")
        else:
            offered = step.options(draft, at_host)
            listing.clear_options()
            listing.add_options([ListOption(Text(option.label), id=str(number))
                                 for number, option in enumerate(offered)])
            listing.highlighted = next((n for n, option in enumerate(offered) if option.value == value), 0)
            listing.display, typing.display = True, False
            listing.focus()
            self._set("#keys", "Up/Down chooses, Enter goes on; Esc goes back a step.")
        self.refresh_bindings()

    def _show_summary(self) -> None:
        made = choices(self.draft, self.context)
        self._set("#summary", "\n".join(f"{what:<12}{chosen}" for what, chosen in summary(made)))
        self._set("#question", "")
        self._set("#note", "c creates and starts it; Esc goes back to change a choice.")
        self._set("#keys", "")

    # -- answering ---------------------------------------------------------------------------------------
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.step is None or self.step.options is None:
            return
        offered = self.step.options(self.draft, self.context)
        self._answered(offered[event.option_index].value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.step is None or self.step.read is None:
            return
        try:
            value = self.step.read(event.value.strip(), self.draft, self.context)
        except Invalid as problem:
            self._set("#problem", str(problem))
            return
        self._answered(value)

    def _answered(self, value: object) -> None:
        self.draft[self.step.key] = value
        self._show(self._next(self.at))

    def _next(self, at: int) -> int:
        later = [n for n in range(at + 1, len(STEPS)) if STEPS[n].applies(self.draft, self.context)]
        return later[0] if later else len(STEPS)

    def _previous(self, at: int) -> int | None:
        earlier = [n for n in range(at) if STEPS[n].applies(self.draft, self.context)]
        return earlier[-1] if earlier else None

    # -- the keys ----------------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.creating and action in ("back", "next", "create"):
            return False                # nothing interrupts create()
        if action == "create":
            return self.context is not None and self.on_summary and self.created is None
        return True

    def action_next(self) -> None:
        """Enter where no list or line has the focus: on the summary it creates, once made it leaves."""
        if self.created is not None:
            self.dismiss(self.created)
        elif self.on_summary:
            self.action_create()

    def action_back(self) -> None:
        if self.created is not None:
            self.dismiss(self.created)
            return
        previous = self._previous(self.at) if self.context is not None else None
        if previous is None:
            self.dismiss(None)
        else:
            self._show(previous)

    def action_create(self) -> None:
        if not self.on_summary or self.creating or self.created is not None:
            return
        made = choices(self.draft, self.context)
        self.creating, self._said = True, []
        self._set("#note", f"Creating {made.name} ...")
        self._set("#problem", "")
        self.refresh_bindings()
        self._create(made)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _create(self, made: GuestChoices) -> None:
        try:
            folder, problem = self._make(made, lambda line: self.app.call_from_thread(self._progress, line)), None
        except Exception as error:          # create() raises with a sentence, of several layers: shown, never a trace
            folder, problem = None, sentence(error)
        self.app.call_from_thread(self._finished, made, folder, problem)

    def _progress(self, line: str) -> None:
        self._said = [*self._said, line][-SHOWN_PROGRESS:]
        if self.is_attached:
            self._set("#progress", "\n".join(self._said))

    def _finished(self, made: GuestChoices, folder: Path | None, problem: str | None) -> None:
        self.creating = False
        if problem is not None:
            self._set("#problem", f"{made.name} was not created: {problem}")
            self._set("#note", "Esc goes back to change the choices; c tries again.")
        else:
            self.created = made.name
            self._set("#note", f"{made.name} is created ({folder}) and started. Enter or Esc goes back.")
            self.notify(f"{made.name} is created and started.", markup=False)
        self.refresh_bindings()
