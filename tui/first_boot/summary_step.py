"""Step 5: every answer for review, checked as an answer file is, then applied by the answer file's own steps.

The answers are written as answer-file text, read back by parse_answer and checked against this host by
host_problems: any problem is listed (field, value, what is valid) and nothing is applied. Apply runs
apply_answer in a worker thread, each line it says shown as it happens.

The answer file's modules are imported when this step is first shown, not with the first-boot screens: on
a first boot those screens are the console's first frame, and under emulation each import costs.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Log, Static

from hypervisor.answer.compose import SOURCE, FirstBootAnswers, answer_text, disk_name
from hypervisor.settings.problems import Problem
from hypervisor.storage import StorageError
from hypervisor.storage.disks import Disk, Disks
from tui.first_boot.step import Step
from tui.widgets.confirm import Confirm

if TYPE_CHECKING:
    from hypervisor.answer.parse import Answer

Apply = Callable[..., list[str]]         # apply_answer's signature: (answer, text, folder, disks, say) -> failures
Claim = Callable[[FirstBootAnswers], None]


def apply_answer(*args) -> list[str]:
    from hypervisor.answer.apply import apply_answer as apply_now
    return apply_now(*args)


def check(answers: FirstBootAnswers, disks: list[Disk],
          boot_device: str | None) -> tuple[Answer | None, list[Problem]]:
    """The answers as the answer file they make, and what stops it being applied on this host."""
    from hypervisor.answer.apply import host_problems
    from hypervisor.answer.parse import AnswerError, parse_answer
    try:
        answer = parse_answer(answer_text(answers), SOURCE)
    except AnswerError as error:
        return None, error.problems
    return answer, host_problems(answer, None, disks, boot_device)


def review_lines(answer: Answer) -> list[str]:
    """`xenbox answer check`'s summary, said for a host with nothing set up yet."""
    from hypervisor.answer.summary import summary
    lines = [line if line != "console password: unchanged" else "console password: none - anyone at the console "
             "can use it" for line in summary(answer)]
    if not answer.storage.data_disks:
        before = next(i for i, line in enumerate(lines) if line.startswith("console password:"))
        lines.insert(before, "data store: none - this host keeps nothing across reboots")
    if answer.password_hash and not answer.storage.data_disks:
        lines.append("  (with no data store the console password is not kept)")
    return lines + [f"note: {warning}" for warning in answer.warnings]


class SummaryStep(Step):
    TITLE = "Review"
    DEFAULT_CSS = """
    SummaryStep VerticalScroll { height: 1fr; border: solid $primary; border-title-color: $text; padding: 0 1; }
    SummaryStep #problems { color: $error; }
    SummaryStep Log { height: 1fr; border: solid $accent; display: none; }
    """
    BINDINGS = [Binding("a", "apply", "Apply")]

    class Applied(Message):
        """apply_answer has run: what failed (each also said in the log); empty when all went well."""

        def __init__(self, failures: list[str]) -> None:
            super().__init__()
            self.failures = failures

    def __init__(self, disks: Disks, listed: Callable[[], list[Disk]], boot_device: Callable[[], str | None],
                 apply: Apply = apply_answer, claim: Claim = lambda answers: None) -> None:
        super().__init__(id="summary")
        self.disks = disks              # listed again at Apply: a disk may have changed since step 3
        self.listed = listed            # the disks as step 3 showed them
        self.boot_device = boot_device
        self.apply = apply
        self.claim = claim              # told the answers just before anything changes: set up from here
        self.problems: list[Problem] = []
        self.applying = False
        self.applied = False

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("", id="review")
            yield Static("", id="problems")
        yield Log(highlight=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).border_title = "These settings are applied when you press a"

    def show(self) -> None:
        answer, self.problems = check(self.answers, self.listed(), self.boot_device())
        self.query_one("#review", Static).update(Text("\n".join(review_lines(answer)) if answer else ""))
        self.query_one("#problems", Static).update(Text(
            "\n".join([f"NOT APPLICABLE, {len(self.problems)} problem(s): go back (b) and change them:"]
                      + [f"  {problem}" for problem in self.problems]) if self.problems else ""))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "apply" and (self.applying or self.applied))

    def action_apply(self) -> None:
        if self.problems:
            self.notify("Not applied: change what the list says first (b goes back).", severity="error")
            return
        paths = {disk_name(disk): disk.path for disk in self.listed()}
        erased = " ".join(paths.get(name, name) for name in self.answers.data_disks)
        question = "Apply these settings now?" + (f"\nEverything on {erased} is erased." if erased else "")
        self.app.push_screen(Confirm(question), lambda yes: yes and self._start())

    def _start(self) -> None:
        self.applying = True
        self.refresh_bindings()
        self.query_one(VerticalScroll).display = False
        log = self.query_one(Log)
        log.display = True
        log.border_title = "Applying"
        self._apply(self.answers)

    @work(thread=True, exclusive=True, group="first-boot-apply", exit_on_error=False)
    def _apply(self, answers: FirstBootAnswers) -> None:
        def say(line: str) -> None:
            self.app.call_from_thread(self.query_one(Log).write_line, line)
        try:
            disks = self.disks.list()
        except StorageError as error:
            self.app.call_from_thread(self._refused, [Problem("storage.data_disks", None, str(error))])
            return
        answer, problems = check(answers, disks, self.boot_device())
        if problems:
            self.app.call_from_thread(self._refused, problems)
            return
        self.claim(answers)
        text = answer_text(answers)
        try:
            failures = self.apply(answer, text.encode(), None, disks, say)
        except Exception as error:      # apply_answer reports each step's failure; this is what it could not
            failures = [str(error)]
            say(f"FAILED: {error}")
        self.app.call_from_thread(self._applied, failures)

    def _refused(self, problems: list[Problem]) -> None:
        """The disks changed since step 3 (or could not be listed): nothing was applied, the list says why."""
        self.applying = False
        self.refresh_bindings()
        self.query_one(Log).display = False
        self.query_one(VerticalScroll).display = True
        self.show()
        self.problems = problems
        self.query_one("#problems", Static).update(Text("\n".join(
            ["NOT APPLIED, nothing was changed: go back (b) and change them:"] + [f"  {p}" for p in problems])))

    def _applied(self, failures: list[str]) -> None:
        self.applying, self.applied = False, True
        self.query_one(Log).border_title = "Applied" if not failures else f"Applied, {len(failures)} step(s) failed"
        self.post_message(self.Applied(failures))
