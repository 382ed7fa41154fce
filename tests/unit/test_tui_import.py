"""The Appliances screen's `a` importing what `xenbox appliance import` takes: a folder's or a stick's
bundles, OVA/OVF packages, disk images and xl.cfg files listed by kind to pick from, the CLI's questions
asked, and the import run in a worker through the same functions (adding.import_found -> importing.py).

Real files in tmp_path: disk images made by this machine's qemu-img, OVAs by tests/ova.py, and the
conversion done by the real qemu-img onto a real file pool. Stand-ins only where a part cannot run here,
each at its boundary: Xen (FakeXl, as in test_tui_appliances.py); the pool added by name, which on a
XenBox lives on a share or the data store (its FilePool is real, its folder in tmp_path; pool_target is
given that pool and records the name typed); and, for a stick, the mount (`sdb1` taken for a block
device, the mount a context manager recording mount and unmount around a folder of the stick's files,
as test_tui_appliances.py's stick test does; test_storage_media has the mount itself).
"""
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, Static

from hypervisor.appliances import adding, importing
from hypervisor.appliances.manifest import load_bundle
from hypervisor.storage.pools import FilePool
from tests.ova import write_ova, write_ovf
from test_tui_appliances import SAMPLE_WEB, FakeXl, domains, drive, settle
from tui.screens.appliances import Places
from tui.widgets.pick import Pick
from tui.widgets.prompt import Prompt

MIB = 1024 * 1024
pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-utils (qemu-img) is not installed")


def raw_disk(path: Path, size_mib: int = 32) -> Path:
    """1 MiB of data at its start, a marker at 16 MiB, the rest a hole."""
    with open(path, "wb") as disk:
        disk.write(os.urandom(MIB))
        disk.seek(16 * MIB)
        disk.write(b"MARKER" * 100)
        disk.truncate(size_mib * MIB)
    return path


def qemu_img(*argv: str) -> None:
    subprocess.run(["qemu-img", *argv], check=True, capture_output=True)


def an_ova(tmp_path: Path, ova: Path, spoil_disk: bool = False) -> Path:
    """web.ova: web.ovf (2 vCPUs, 768 MiB), web.mf (SHA256) and a 16 MiB streamOptimized vmdk; with
    `spoil_disk`, the disk changed after its digest was written, as a bad copy would."""
    export = tmp_path / f"export-{ova.stem}"
    export.mkdir()
    raw = raw_disk(tmp_path / f"{ova.stem}.raw", 16)
    qemu_img("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", str(raw),
             str(export / "web-disk1.vmdk"))
    ovf = write_ovf(export, "web", [export / "web-disk1.vmdk"], [16 * MIB], vcpus=2, memory_mib=768)
    if spoil_disk:
        with open(export / "web-disk1.vmdk", "r+b") as disk:
            disk.seek(-600, 2)
            disk.write(b"\xff")
    ova.parent.mkdir(parents=True, exist_ok=True)
    return write_ova(ovf, ova)


@pytest.fixture
def pool(tmp_path, monkeypatch) -> list[str]:
    """The pool added by name: a real FilePool in tmp_path/pool; returns the names asked for."""
    asked = []

    def target(name):
        asked.append(name)
        return importing.FileTarget(name, FilePool(folder=tmp_path / "pool", problem=lambda: None))
    monkeypatch.setattr(importing, "pool_target", target)
    return asked


def places(tmp_path: Path) -> Places:
    return Places(tmp_path / "saved", tmp_path / "cores", tmp_path / "logs", tmp_path / "installed")


async def type_in(pilot, text: str) -> None:
    assert isinstance(pilot.app.screen, Prompt), pilot.app.screen
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await settle(pilot)


async def pick(pilot, name: str) -> None:
    """Move down the list to `name` with the arrow key and take it with Enter, as a person would."""
    screen = pilot.app.screen
    assert isinstance(screen, Pick), screen
    listing = screen.query_one(OptionList)
    for _ in range(listing.option_count):
        if listing.highlighted_option.id == name:
            break
        await pilot.press("down")
    assert listing.highlighted_option.id == name
    await pilot.press("enter")
    await pilot.pause()


def test_a_folders_contents_are_listed_by_kind_and_a_qcow2_picked_is_converted_with_its_progress_shown(
        tmp_path, pool):
    stick = tmp_path / "stick"
    shutil.copytree(SAMPLE_WEB, stick / "web")
    raw = raw_disk(tmp_path / "source.raw")
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(stick / "disk.qcow2"))
    an_ova(tmp_path, stick / "exports" / "web.ova")
    (stick / "guest.cfg").write_text('name = "old"\nmemory = 64\nkernel = "vmlinuz"\n')
    (stick / "notes.txt").write_text("not listed")
    progress = []

    async def test(pilot, screen, xl):
        shown = screen._job_progress
        screen._job_progress = lambda number, job, line: (progress.append(line), shown(number, job, line))
        await pilot.press("a")
        await pilot.pause()
        await type_in(pilot, str(stick))
        chooser = pilot.app.screen
        assert isinstance(chooser, Pick)
        assert chooser.question == f"{stick} holds these. Which one is to be added or imported?"
        assert chooser.shown == ["Bundles", "  web/", "OVA and OVF packages", "  exports/web.ova", "Disk images",
                                 "  disk.qcow2", "xl.cfg files", "  guest.cfg"]
        box = chooser.query_one("Vertical").region
        assert box.y >= 0 and box.bottom <= 24 and box.right <= 80      # fits the 80x24 console
        await pick(pilot, "disk.qcow2")
        assert pilot.app.screen.query_one(Input).value == "disk"        # the file's name, as the CLI's default
        await type_in(pilot, "sample-web")
        assert "there is an appliance sample-web already" in str(pilot.app.screen.query_one("#problem",
                                                                                            Static).render())
        await type_in(pilot, "mydisk")
        assert pilot.app.screen.query_one(Input).value == "local"
        await type_in(pilot, "mine")
        await type_in(pilot, "0 2")
        assert "above 0" in str(pilot.app.screen.query_one("#problem", Static).render())
        await type_in(pilot, "256 2")
        assert pilot.app.notified[-1] == (f"Imported {stick}/disk.qcow2 as appliance mydisk, disks xvda (32 MiB on "
                                          "mine): select it and press u to start it.", "information")
    drive(test, places=places(tmp_path))
    assert pool == ["mine"]
    assert "checking disk.qcow2" in progress and "converting disk.qcow2: 100% of 32 MiB" in progress
    manifest = load_bundle(tmp_path / "installed" / "mydisk")
    assert (manifest.type, manifest.memory.initial_mib, manifest.vcpus.initial) == ("hvm", 256, 2)
    assert (manifest.disks[0].pool, manifest.disks[0].target) == ("mine", "xvda")
    assert (tmp_path / "pool" / "mydisk.xvda.raw").read_bytes()[:32 * MIB] == raw.read_bytes()


def test_an_ova_on_a_stick_is_picked_and_imported_under_its_ovfs_name_the_stick_unmounted_after(
        tmp_path, pool, monkeypatch):
    stick, events = tmp_path / "stick", []
    shutil.copytree(SAMPLE_WEB, stick / "bundle")
    an_ova(tmp_path, stick / "web.ova")
    monkeypatch.setattr("hypervisor.storage.media.is_block_device", lambda path: path.name == "sdb1")

    @contextmanager
    def mounted(device, say):
        events.append(f"mount {device}")
        try:
            yield stick
        finally:
            events.append(f"umount {device}")
    monkeypatch.setattr(adding, "mounted_read_only", mounted)

    async def test(pilot, screen, xl):
        await pilot.press("a")
        await pilot.pause()
        await type_in(pilot, "sdb1")
        await type_in(pilot, "mine")             # for a bundle on it; a package's import asks again, offering it
        assert pilot.app.screen.shown == ["Bundles", "  bundle/", "OVA and OVF packages", "  web.ova"]
        assert events == ["mount sdb1", "umount sdb1"]       # not kept mounted while the operator picks
        await pick(pilot, "web.ova")
        assert pilot.app.screen.question == ("Import web.ova on sdb1 as the appliance named (leave it empty for the "
                                             "name its OVF gives):")
        await type_in(pilot, "")
        assert pilot.app.screen.query_one(Input).value == "mine"
        await type_in(pilot, "mine")
        await type_in(pilot, "")
        assert pilot.app.notified[-1] == ("Imported web.ova on sdb1 as appliance web, disks xvda (16 MiB on mine) "
                                          "(sdb1 is unmounted again): select it and press u to start it. "
                                          "Warning: Its OVF does not say which firmware it boots with; it is given "
                                          "BIOS. Warning: Its 1 network card(s) join xenbr0 (its OVF's networks: VM "
                                          "Network).", "information")
        assert events == ["mount sdb1", "umount sdb1", "mount sdb1", "umount sdb1"]
    drive(test, places=places(tmp_path))
    manifest = load_bundle(tmp_path / "installed" / "web")
    assert (manifest.memory.initial_mib, manifest.vcpus.initial) == (768, 2)      # what its OVF says
    assert (tmp_path / "pool" / "web.xvda.raw").stat().st_size == 16 * MIB


def test_a_package_whose_disk_does_not_match_its_digest_is_refused_with_the_reason_and_leaves_nothing(
        tmp_path, pool):
    bad = an_ova(tmp_path, tmp_path / "stick" / "bad.ova", spoil_disk=True)

    async def test(pilot, screen, xl):
        await pilot.press("a")
        await pilot.pause()
        await type_in(pilot, str(bad))          # a file named straight away: no list, its questions
        await type_in(pilot, "")
        await type_in(pilot, "mine")
        await type_in(pilot, "")
        message, severity = pilot.app.notified[-1]
        assert severity == "error"
        assert message.startswith(f"{bad} was not imported: web-disk1.vmdk does not match its SHA256 digest in "
                                  "the .mf")
        assert "Traceback" not in message
        assert "web" not in screen._rows
    drive(test, places=places(tmp_path))
    assert not (tmp_path / "installed").exists() or not list((tmp_path / "installed").iterdir())
    assert not (tmp_path / "pool").exists() or not list((tmp_path / "pool").iterdir())


def test_a_damaged_qcow2_is_refused_and_nothing_is_left_on_the_pool(tmp_path, pool):
    stick = tmp_path / "stick"
    stick.mkdir()
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw_disk(tmp_path / "source.raw")), str(stick / "d.qcow2"))
    data = (stick / "d.qcow2").read_bytes()
    (stick / "d.qcow2").write_bytes(data[:len(data) // 2])             # a copy cut short

    async def test(pilot, screen, xl):
        await pilot.press("a")
        await pilot.pause()
        await type_in(pilot, str(stick / "d.qcow2"))
        await type_in(pilot, "d")
        await type_in(pilot, "mine")
        await type_in(pilot, "")
        message, severity = pilot.app.notified[-1]
        assert severity == "error" and message.startswith(f"{stick}/d.qcow2 was not imported: d.qcow2 ")
        assert "Traceback" not in message
    drive(test, places=places(tmp_path))
    assert not (tmp_path / "installed" / "d").exists()
    assert not (tmp_path / "pool").exists() or not list((tmp_path / "pool").iterdir())


def test_an_xl_cfg_picked_in_a_folder_is_imported_with_the_files_beside_it_and_nothing_more_asked(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / "vmlinuz").write_bytes(b"kernel")
    (stick / "web.cfg").write_text('name = "oldweb"\nmemory = 64\nkernel = "vmlinuz"\n')

    async def test(pilot, screen, xl):
        await pilot.press("a")
        await pilot.pause()
        await type_in(pilot, str(stick))
        assert pilot.app.screen.shown == ["xl.cfg files", "  web.cfg"]
        await pick(pilot, "web.cfg")
        await settle(pilot)
        assert pilot.app.notified[-1] == (f"Imported {stick}/web.cfg as appliance oldweb: select it and press u to "
                                          "start it.", "information")
    drive(test, places=places(tmp_path))
    folder = tmp_path / "installed" / "oldweb"
    assert sorted(p.name for p in folder.iterdir()) == ["appliance.toml", "vmlinuz"]
    assert load_bundle(folder).boot.kernel == folder.resolve() / "vmlinuz"


def test_a_folder_with_nothing_to_add_or_import_says_so(tmp_path):
    async def test(pilot, screen, xl):
        await pilot.press("a")
        await pilot.pause()
        await type_in(pilot, str(tmp_path))
        message, severity = pilot.app.notified[-1]
        assert severity == "error" and message.startswith(f"{tmp_path} holds no bundle and no file to import")
    drive(test, FakeXl(domains()))
