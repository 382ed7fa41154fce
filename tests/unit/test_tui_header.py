"""The header's clock ticks only on the screen in front: a covered screen's clock made Textual lay out
and redraw the whole front screen every second (a LayoutUpdate, each one a full screen over serial)."""
import asyncio

from textual.app import App, ComposeResult
from textual.widgets import Static

from tui.widgets.header import ClockedScreen, ScreenHeader


class Clocked(ClockedScreen):
    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield Static("body")


def updates_in_front(covered: bool, seconds: float = 2.5) -> list[str]:
    drawn: list[str] = []

    async def run():
        app = App()
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(Clocked())
            if covered:
                await app.push_screen(Clocked())
            await pilot.pause(0.5)
            display = app._display
            app._display = lambda screen, update: drawn.append(type(update).__name__) or display(screen, update)
            await pilot.pause(seconds)
    asyncio.run(run())
    return drawn


def test_a_covered_screens_clock_does_not_redraw_the_front_one():
    drawn = updates_in_front(covered=True)
    assert "LayoutUpdate" not in drawn, drawn
    assert 1 <= drawn.count("ChopsUpdate") <= 4         # the front clock still ticks, as lines


def test_the_front_clock_ticks():
    assert 1 <= updates_in_front(covered=False).count("ChopsUpdate") <= 4


def test_a_screen_uncovered_again_shows_the_time_again():
    async def run():
        app = App()
        async with app.run_test(size=(80, 24)) as pilot:
            await app.push_screen(Clocked())
            under = app.screen
            await app.push_screen(Clocked())
            await pilot.pause(0.2)
            assert [clock.ticker._active.is_set() for clock in under.query("FrontClock")] == [False]
            app.pop_screen()
            await pilot.pause(0.2)
            assert [clock.ticker._active.is_set() for clock in under.query("FrontClock")] == [True]
    asyncio.run(run())
