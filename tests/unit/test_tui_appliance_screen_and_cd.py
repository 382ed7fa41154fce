"""The Appliances screen's S (an hvm guest's screen) and C (its CD drive), on a real hvm bundle in a
temporary folder: the manifest is changed for real, through the same functions as `xenbox appliance
display` and `cd-eject`. Xen cannot run here: the FakeXl of test_tui_appliances stands in for it, and the
guest is stopped, so no xl call is made."""
import shutil
import tomllib

import pytest

import test_tui_appliances as harness
from hypervisor.appliances.catalog import read_entry
from test_tui_appliances import FakeXl, domains, drive, select, settle

MANIFEST = """name = "installer"
type = "hvm"
[memory]
initial_mib = 128
[[disks]]
file = "rescue.iso"
cdrom = true
target = "hdc"
"""


@pytest.fixture
def hvm(tmp_path, monkeypatch):
    folder = tmp_path / "installer"
    folder.mkdir()
    (folder / "appliance.toml").write_text(MANIFEST)
    (folder / "rescue.iso").write_bytes(bytes(0x8001) + b"CD001" + bytes(2043))
    shown = harness.catalog()
    monkeypatch.setattr(harness, "catalog", lambda: [*shown, read_entry(folder)])
    return folder


def manifest(folder):
    return tomllib.loads((folder / "appliance.toml").read_text())


def test_s_turns_an_hvm_guests_screen_on_after_asking(hvm):
    async def test(pilot, screen, xl):
        await select(pilot, screen, "installer")
        await pilot.press("S")
        await settle(pilot)
        assert pilot.app.screen.question.startswith("Turn on installer's screen?")
        await pilot.press("y")
        await settle(pilot)
        assert manifest(hvm)["display"] == {"enabled": True}
        assert pilot.app.notified[-1] == ("installer's display is on; it applies at its next start.", "information")
        assert xl.calls == []
    drive(test)


def test_s_and_c_say_why_a_pv_appliance_has_neither(hvm):
    async def test(pilot, screen, xl):
        await select(pilot, screen, "sample-web")
        await pilot.press("S", "C")
        await settle(pilot)
        assert pilot.app.notified[-2:] == [
            ("sample-web has no screen to show: only hvm appliances have one.", "warning"),
            ("sample-web has no CD drive: only hvm appliances have one.", "warning")]
    drive(test)


def test_c_ejects_the_cd_of_a_stopped_guest_and_keeps_it_ejected(hvm):
    async def test(pilot, screen, xl):
        await select(pilot, screen, "installer")
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("enter")              # nothing typed: eject
        await settle(pilot)
        assert "file" not in manifest(hvm)["disks"][0] and manifest(hvm)["disks"][0]["cdrom"] is True
        assert pilot.app.notified[-1] == ("installer: CD ejected from hdc (at its next start, and kept in its "
                                          "appliance.toml)", "information")
        assert xl.calls == []
    drive(test)
