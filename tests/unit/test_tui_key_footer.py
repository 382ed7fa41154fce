"""The footer: every key of the screen in columns, wrapped, one per action, dimmed when unavailable,
and a click on one is that key pressed (Textual's pilot, real widgets)."""
import asyncio

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from tui.widgets.key_footer import KeyFooter


class Keys(Screen):
    BINDINGS = [Binding("n,enter", "next", "Next"), Binding("b", "back", "Back"),
                *(Binding(letter, f"say('{letter}')", f"Say {letter}") for letter in "cdefgh"),
                Binding("x", "gone", "Hidden", show=False), Binding("ctrl+l", "say('redraw')", "Redraw")]

    def __init__(self):
        super().__init__()
        self.said = []

    def compose(self):
        yield KeyFooter(cell_width=10)

    def action_say(self, what):
        self.said.append(what)

    def check_action(self, action, parameters):
        return None if action == "back" else True     # None: shown, but not available now


class KeysApp(App):
    def on_mount(self):
        self.push_screen(Keys())


def drive(test, width=40):
    async def run():
        app = KeysApp()
        async with app.run_test(size=(width, 12)) as pilot:
            await pilot.pause()
            await test(pilot, app.screen, app.screen.query_one(KeyFooter))
    asyncio.run(run())


def test_keys_wrap_into_columns_one_per_action_hidden_ones_left_out():
    async def test(pilot, screen, footer):
        assert [key.key for key in footer.keys()] == ["n", "b", "c", "d", "e", "f", "g", "h", "ctrl+l"]
        lines = footer.render().plain.splitlines()
        assert lines == ["n Next    b Back    c Say c   d Say d   ",
                         "e Say e   f Say f   g Say g   h Say h   ",
                         "^l Redraw "]
        assert footer.size.height == 3 and footer.region.bottom == 12
    drive(test)


def test_an_unavailable_key_is_dimmed_and_a_click_on_it_does_nothing():
    async def test(pilot, screen, footer):
        back = next(key for key in footer.keys() if key.key == "b")
        assert not back.enabled
        assert any(span.style == "dim" and span.start == 10 for span in footer.render().spans)
        await pilot.click(KeyFooter, offset=(12, 0))
        assert screen.said == []
    drive(test)


def test_a_click_on_a_key_presses_it():
    async def test(pilot, screen, footer):
        await pilot.click(KeyFooter, offset=(31, 1))        # "h Say h", second line, fourth column
        await pilot.pause()
        assert screen.said == ["h"]
    drive(test)


def test_a_wider_terminal_takes_more_keys_on_a_line():
    async def test(pilot, screen, footer):
        assert footer.size.height == 2 and len(footer.render().plain.splitlines()[0]) == 80
    drive(test, width=80)
