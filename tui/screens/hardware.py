"""What the host is made of: CPU (microcode, VT-x/AMD-V, HAP, IOMMU), memory, NICs (driver, firmware, link,
MAC), disk controllers and disks (with the stable ids the Storage screen shows). Read once when opened
(sysfs and two xl calls), again on `u`; arrows and PgUp/PgDn scroll what does not fit on 24 lines."""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from hypervisor.host.hardware import Hardware, read_hardware, sections
from hypervisor.runner import CommandError, ParseError
from hypervisor.xen.xl import Xl
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.key_footer import KeyFooter


HARDWARE_KEY_WIDTH = 13     # "P Power off" and a space: the app's keys show here too
PARTS = 5       # CPU, memory, NICs, disk controllers, disks: sections()'s blocks


class HardwareScreen(ClockedScreen):
    DEFAULT_CSS = """
    HardwareScreen Static.box { height: auto; padding: 0 1; border: solid $primary; border-title-color: $text; }
    HardwareScreen #problem { height: auto; padding: 0 1; color: $error; }
    """
    BINDINGS = [
        Binding("u", "reload", "Update"),
        Binding("escape,b", "app.pop_screen", "Back"),
    ]

    def __init__(self, xl: Xl, read: Callable[[], Hardware] | None = None) -> None:
        super().__init__()
        self.read = read or (lambda: read_hardware(xl))

    def compose(self) -> ComposeResult:
        yield ScreenHeader(icon="")
        with VerticalScroll(id="parts"):
            yield Static("", id="problem")
            yield Static("Reading the hardware ...", classes="box", id="part-0")
            for number in range(1, PARTS):
                yield Static("", classes="box", id=f"part-{number}")
        yield KeyFooter(HARDWARE_KEY_WIDTH)

    def on_mount(self) -> None:
        self.sub_title = "Hardware"
        self.query_one("#parts").focus()
        self.action_reload()

    @work(thread=True, exclusive=True, group="hardware", exit_on_error=False)
    def action_reload(self) -> None:
        try:
            hardware = self.read()
        except (CommandError, ParseError, OSError) as error:
            message = error.sentence if isinstance(error, CommandError) else str(error)
            self.app.call_from_thread(self.show_problem, f"Could not read the hardware: {message}")
            return
        self.app.call_from_thread(self.show, hardware)

    def show_problem(self, message: str) -> None:
        self.query_one("#problem", Static).update(Text(message))

    def show(self, hardware: Hardware) -> None:
        self.query_one("#problem", Static).update("")
        for number, (title, lines) in enumerate(sections(hardware)):
            static = self.query_one(f"#part-{number}", Static)
            static.border_title = title
            static.update(Text("\n".join(lines)))      # a long line wraps: nothing is cut off
