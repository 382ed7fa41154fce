"""The screen's keys at the bottom, in columns, wrapped onto more lines when they do not fit on one
(80 columns over serial).

One widget that draws text, where Textual's Footer mounts a widget per key and builds them all again
whenever focus moves: under emulation that was a third of the overview's first frame, and a screen
with 17 keys paid it on every switch.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widget import Widget

CELL_WIDTH = 10     # "X Destroy" and a space: keep key descriptions to 8 characters


@dataclass(frozen=True)
class FooterKey:
    key: str            # what to press, as Textual names it ("ctrl+l")
    shown: str          # as the footer shows it ("^l")
    description: str
    enabled: bool


class KeyFooter(Widget):
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom; height: auto; max-height: 4;
        color: $footer-foreground; background: $footer-background;
    }
    KeyFooter > .key-footer--key { color: $footer-key-foreground; text-style: bold; }
    """
    COMPONENT_CLASSES = {"key-footer--key"}

    def __init__(self, cell_width: int = CELL_WIDTH) -> None:
        super().__init__()
        self.cell_width = cell_width

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        self.refresh(layout=True)       # a key came or went: maybe one line more or less

    def keys(self) -> list[FooterKey]:
        """The keys shown, one per action (the first of several bound to it), in the screen's order."""
        seen: dict[str, FooterKey] = {}
        for _, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen[binding.action] = FooterKey(binding.key, self.app.get_key_display(binding),
                                                 binding.description, enabled)
        return list(seen.values())

    def columns(self, width: int) -> int:
        return max(1, width // self.cell_width)

    def cell(self, width: int) -> int:
        """Each key's width: the line shared out between the columns."""
        return width // self.columns(width)

    def lines(self, width: int) -> list[list[FooterKey]]:
        keys, per_line = self.keys(), self.columns(width)
        return [keys[at:at + per_line] for at in range(0, len(keys), per_line)]

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.lines(width)))

    def render(self) -> Text:
        width = self.size.width
        cell = self.cell(width)
        key_style = self.get_component_rich_style("key-footer--key")
        text = Text(no_wrap=True, overflow="crop")
        for number, line in enumerate(self.lines(width)):
            if number:
                text.append("\n")
            for key in line:
                label = Text.assemble((key.shown, key_style), " ", key.description)
                label.truncate(cell, pad=True)
                if not key.enabled:
                    label.stylize("dim")
                text.append_text(label)
        return text

    def key_at(self, x: int, y: int) -> FooterKey | None:
        width = self.size.width
        lines, cell = self.lines(width), self.cell(width)
        if 0 <= y < len(lines) and 0 <= x // cell < len(lines[y]):
            return lines[y][x // cell]
        return None

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """A key clicked (a serial terminal that sends the mouse) is that key pressed."""
        key = self.key_at(event.x, event.y)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()
