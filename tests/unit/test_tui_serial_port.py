"""The console's `c` key (tui/serial_choice.py): the serial port from the next boot on, picked from a list and
kept in a real GRUB environment block in a temporary folder (what the boot menu reads), driven by Textual's
pilot. Xen is not needed: the overview behind it talks to a stand-in Xl."""
import pytest

import tui.app as console_app
import tui.serial_choice as serial_choice
from hypervisor.host import serial_port
from test_tui_lock import console_toml, drive  # noqa: F401  (console_toml: a fixture; no password, no lock)
from test_tui_import import pick
from tui.widgets.pick import Pick


@pytest.fixture
def places(tmp_path, monkeypatch):
    boot_env, cmdline = tmp_path / "boot.env", tmp_path / "cmdline"
    cmdline.write_text("root=live xenbox.serial=com1,115200 quiet\n")
    monkeypatch.setattr(serial_choice, "BOOT_ENV", boot_env)
    monkeypatch.setattr(serial_choice, "CMDLINE", cmdline)
    monkeypatch.setattr(console_app, "data_store_mounted", lambda: True)
    return boot_env


def test_c_lists_both_ports_and_keeps_the_one_picked_for_the_next_boots(console_toml, places):  # noqa: F811
    notes = []

    async def test(pilot, app):
        app.notify = lambda message, **options: notes.append(message)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, Pick)
        assert "  COM1 at 115200 baud   (this boot)" in app.screen.shown
        assert app.screen.question.startswith("The serial console is on COM1 at 115200 baud this boot, and on "
                                              "COM1 at 115200 baud at the next ones (nothing kept yet")
        await pick(pilot, "com2,115200")
        assert not isinstance(app.screen, Pick)
    drive(test)
    assert serial_port.kept(places) == serial_port.SerialPort("com2", 115200)
    assert places.read_text().startswith("# GRUB Environment Block\nxenbox_serial=com2,115200\n")
    assert len(places.read_bytes()) == 1024
    assert notes == ["The console is on COM2 at 115200 baud from the next boot on (Xen's and dom0's consoles "
                     "follow); this boot's stays on COM1 at 115200 baud."]


def test_the_kept_choice_is_marked_and_escape_changes_nothing(console_toml, places):  # noqa: F811
    serial_port.keep(serial_port.SerialPort("com2", 57600), places)
    before = places.read_bytes()

    async def test(pilot, app):
        await pilot.press("c")
        await pilot.pause()
        assert "  COM2 at 57600 baud   (kept)" in app.screen.shown
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, Pick)
    drive(test)
    assert places.read_bytes() == before


def test_without_a_data_store_it_says_where_the_choice_lives_and_writes_nothing(console_toml, places,  # noqa: F811
                                                                                monkeypatch):
    monkeypatch.setattr(console_app, "data_store_mounted", lambda: False)
    notes = []

    async def test(pilot, app):
        app.notify = lambda message, **options: notes.append(message)
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, Pick)
    drive(test)
    assert notes == ["The serial port is kept on the data store: make one first (key t), or pick the port in the "
                     "boot menu (keys 1 and 2) at each boot."]
    assert not places.exists()
