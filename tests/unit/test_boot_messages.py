"""Boot messages go to the serial line and into the boot log; the serial console redraws after them."""
import asyncio
import io

import pytest

import tui.app as console_app
from hypervisor.host.boot_messages import log_size, say_at_boot
from tui.app import XenBoxApp
from test_tui_appliances import FakeXl, domains


def test_a_boot_message_is_said_then_kept(tmp_path):
    out, log = io.StringIO(), tmp_path / "boot.log"
    say_at_boot("appliance web started", out, log)
    say_at_boot("data store: none", out, log)
    assert out.getvalue() == "xenbox: appliance web started\nxenbox: data store: none\n"
    assert log.read_text() == out.getvalue()


def test_without_a_place_for_the_log_the_message_is_still_said(tmp_path):
    out = io.StringIO()
    say_at_boot("hello", out, tmp_path / "missing-folder" / "boot.log")
    assert out.getvalue() == "xenbox: hello\n"
    assert log_size(tmp_path / "missing-folder" / "boot.log") == 0


class KernelSays:
    """The kernel's log as the console sees it, scripted: the machine running the tests has its own kernel,
    whose messages would come and go at random (tests/unit/test_kernel_messages.py reads the real one)."""
    pending: list[str] = []

    def since_last_look(self) -> list[str]:
        said, KernelSays.pending = KernelSays.pending, []
        return said


def redraws_after(tmp_path, monkeypatch, tty: str, write_message: bool, kernel_says: tuple[str, ...] = ()
                  ) -> tuple[list[bool], list[str]]:
    """What the console asked to redraw in full, and what it said, after (maybe) a boot message and
    (maybe) kernel messages were printed over it."""
    log = tmp_path / "boot.log"
    monkeypatch.setattr(console_app, "log_size", lambda: log_size(log))
    monkeypatch.setattr(console_app, "PrintedMessages", KernelSays)
    KernelSays.pending = []
    repaints: list[bool] = []
    notices: list[str] = []

    async def run():
        app = XenBoxApp(tty=tty, xl=FakeXl(domains()))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            original = app.refresh
            app.refresh = lambda **how: repaints.append(how.get("repaint", True)) or original(**how)
            app.notify = lambda message, **how: notices.append(f"{how.get('title')}: {message}")
            if write_message:
                say_at_boot("xenbr0 has address 10.0.2.15", io.StringIO(), log)
            KernelSays.pending = list(kernel_says)
            await pilot.pause(console_app.MESSAGES_SECONDS * 2.5)
    asyncio.run(run())
    return repaints, notices


def test_the_serial_console_redraws_once_after_a_boot_message(tmp_path, monkeypatch):
    assert redraws_after(tmp_path, monkeypatch, "hvc0", write_message=True) == ([True], [])


def test_no_message_no_redraw(tmp_path, monkeypatch):
    assert redraws_after(tmp_path, monkeypatch, "hvc0", write_message=False) == ([], [])


def test_the_screen_console_does_not_watch_the_serial_lines_messages(tmp_path, monkeypatch):
    assert redraws_after(tmp_path, monkeypatch, "tty1", write_message=True) == ([], [])


@pytest.mark.parametrize("tty", ["tty1", "hvc0"])
def test_both_consoles_redraw_after_kernel_errors_and_say_the_last_ones(tmp_path, monkeypatch, tty):
    errors = tuple(f"blk_update_request: I/O error, dev xvdb, sector {n}" for n in range(5))
    repaints, notices = redraws_after(tmp_path, monkeypatch, tty, write_message=False, kernel_says=errors)
    assert repaints == [True]
    assert notices == [f"Kernel: {error}" for error in errors[-console_app.KERNEL_NOTICES:]]
