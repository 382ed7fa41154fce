"""What the console's screen tests share: an app that shows the one screen under test and records what it
notified, and waiting for the screen's worker threads between keys (Textual's pilot, real widgets)."""
from __future__ import annotations

from textual.app import App
from textual.widgets import DataTable, Input

from tui.widgets.prompt import Prompt


WATCHERS = ("disk-events",)


class ScreenApp(App):
    def __init__(self, screen, on_result=None):
        super().__init__()
        self.screen_under_test = screen
        self.on_result = on_result      # the screen's dismiss value goes here
        self.notified = []

    def notify(self, message, *, severity="information", **options):
        self.notified.append((message, severity))
        super().notify(message, severity=severity, **options)

    def on_mount(self):
        self.push_screen(self.screen_under_test, self.on_result)


async def settle(pilot):
    """Every worker done, but those that watch for as long as their screen is open (disk events)."""
    for _ in range(3):
        busy = [w for w in pilot.app.workers if w.group not in WATCHERS]
        if busy:            # (an empty list would mean every worker to Textual)
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


async def answer(pilot, text):
    """Type into the open prompt and press Enter."""
    assert isinstance(pilot.app.screen, Prompt), pilot.app.screen
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await settle(pilot)


def table_rows(screen, selector="DataTable"):
    table = screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
