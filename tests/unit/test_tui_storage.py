"""The console's storage screen, driven by Textual's pilot against stand-ins for the disks and the data store.

LVM, wipefs and mkfs cannot run against real disks here; the stand-ins have the method names of
`Disks` and `DataStore` and record what the screen asked for. The end-to-end storage test drives the
same screen over serial against the real tools and virtual disks.
"""
import asyncio
import os
from pathlib import Path

import pytest

from textual.widgets import Input, Log, Static

from hypervisor.storage.datastore import Status
from hypervisor.storage.disk_events import DiskEvents
from hypervisor.storage.disks import Disk
from hypervisor.storage.image_files import ImageFiles
from hypervisor.storage.lvm import VolumeGroup
from hypervisor.storage.volumes import GuestVolumes
from tui.screens.storage import StorageScreen
from tui.widgets.confirm import Confirm
from tui.widgets.prompt import Prompt
from tui_pilot import ScreenApp, settle, table_rows
from test_storage_volumes import lvm_with_guest_volumes

GIB = 1024 ** 3
LOOP_UEVENT = Path("/sys/block/loop5/uevent")
# Most tests: no disk comes or goes (an empty /sys/block, never looked at again).
NO_EVENTS = lambda: DiskEvents(sysfs=Path("/nonexistent"), use_uevents=False, poll_seconds=3600)  # noqa: E731
BLANK = Disk("vda", "/dev/vda", "disk", 2 * GIB, serial="XB-DISK-0", stable_id="virtio-XB-DISK-0")
USED = Disk("vdb", "/dev/vdb", "disk", GIB // 4, fstype="ext4", label="old")
GROUP = VolumeGroup("xenbox", 2 * GIB, GIB, 4 * 1024 * 1024, 1, 1, "uuid")


class FakeDisks:
    def __init__(self):
        self.plugged = [BLANK, USED]

    def list(self):
        return list(self.plugged)


class FakeStore:
    def __init__(self, group=None):
        self.group, self.made, self.erased = group, [], []

    def status(self):
        return Status(self.group, self.group is not None)

    def initialise(self, disks, say):
        say(f"erasing what is written on {disks[0].path}")
        self.made.append([d.name for d in disks])
        self.erased += disks
        self.group = GROUP
        return self.status()


class StorageApp(ScreenApp):
    def __init__(self, store, lvm, images, events=NO_EVENTS):
        # The guest volumes: the real class, over LVM reports answered by a recording runner,
        # and image files in `images` (none when it does not exist).
        self.disks = FakeDisks()
        super().__init__(StorageScreen(store, self.disks, GuestVolumes(lvm, appliances=lambda: ["web", "db"],
                                                                       images=ImageFiles(images, lvm, held=set)),
                                       disk_events=events))


def drive(test, store=None, lvm=None, images=Path("/nonexistent/images"), events=None):
    store = store or FakeStore()
    lvm = lvm or lvm_with_guest_volumes()

    async def run():
        app = StorageApp(store, lvm, images, events or NO_EVENTS)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await test(pilot, app, app.screen_under_test)
    asyncio.run(run())
    return store


def rows(screen, table="#disks"):
    return table_rows(screen, table)


def test_each_disk_says_what_it_holds_and_the_selected_one_is_described_in_full():
    async def test(pilot, app, screen):
        assert [r[:3] for r in rows(screen)] == [["vda", "2 GiB", "nothing (blank)"],
                                                 ["vdb", "256 MiB", "an ext4 filesystem labelled old"]]
        detail = str(screen.query_one("#detail", Static).render())
        assert detail == "/dev/vda: 2 GiB, serial XB-DISK-0, id virtio-XB-DISK-0; holds nothing (blank)"
        assert "none - set one up" in str(screen.query_one("#datastore", Static).render())
    drive(test)


def test_a_disk_holding_data_is_made_the_data_store_only_after_its_name_is_typed():
    async def test(pilot, app, screen):
        await pilot.press("down", "i")
        assert isinstance(app.screen, Prompt) and "Type vdb to erase it" in app.screen.question
        app.screen.query_one(Input).value = "vda"
        await pilot.press("enter")
        assert "that is not vdb" in str(app.screen.query_one("#problem", Static).render())
        await pilot.press("escape")
        await settle(pilot)
        assert store.made == [] and app.screen is screen
        await pilot.press("i")
        app.screen.query_one(Input).value = "vdb"
        await pilot.press("enter")
        await settle(pilot)
        assert store.made == [["vdb"]]
        assert "erasing what is written on /dev/vdb" in "\n".join(screen.query_one(Log).lines)
        assert ("The data store is ready on /dev/vdb.", "information") in app.notified
        assert "VG xenbox, 2 GiB on 1 disk" in str(screen.query_one("#datastore", Static).render())
    store = FakeStore()
    drive(test, store)


def test_a_blank_disk_asks_yes_or_no_and_no_changes_nothing():
    async def test(pilot, app, screen):
        await pilot.press("i")
        assert isinstance(app.screen, Confirm) and app.screen.question.startswith("Make /dev/vda (2 GiB)")
        await pilot.press("n")
        await settle(pilot)
        assert store.made == []
        await pilot.press("i", "y")
        await settle(pilot)
        assert store.made == [["vda"]]
    store = FakeStore()
    drive(test, store)


def test_a_second_data_store_is_refused_before_anything_is_asked():
    async def test(pilot, app, screen):
        await pilot.press("i")
        assert app.screen is screen
        assert app.notified[-1] == ("This host already has a data store (VG xenbox).", "warning")
    drive(test, FakeStore(GROUP))


def test_guest_volumes_say_whose_they_are_and_an_appliances_volume_is_not_deleted():
    async def test(pilot, app, screen):
        assert rows(screen, "#volumes") == [["web.xvda", "local", "64 MiB", "no", "web"],
                                            ["gone.xvda", "local", "128 MiB", "no", "- (left behind)"],
                                            ["db.xvda", "local", "200 MiB", "yes", "db"]]
        await pilot.press("tab", "x")          # the volumes table, its first row: web's disk
        await settle(pilot)
        assert app.screen is screen
        assert app.notified[-1][0].startswith("web.xvda was not changed: web.xvda is the disk of appliance web")
        assert [c for c in lvm.calls if c[0] == "lvremove"] == []
    lvm = lvm_with_guest_volumes()
    drive(test, FakeStore(GROUP), lvm)


def test_image_files_on_the_files_pool_are_listed_after_the_lvm_volumes(tmp_path):
    async def test(pilot, app, screen):
        assert rows(screen, "#volumes")[-1] == ["web.xvdb.raw", "files", "8 MiB", "no", "web"]
    with open(tmp_path / "web.xvdb.raw", "wb") as image:
        image.truncate(8 * 1024 * 1024)
    drive(test, FakeStore(GROUP), images=tmp_path)


def test_a_left_behind_volume_is_deleted_after_its_name_is_typed_and_a_volume_grows():
    async def test(pilot, app, screen):
        await pilot.press("tab", "down", "x")
        assert isinstance(app.screen, Prompt) and "Type gone.xvda to delete it" in app.screen.question
        app.screen.query_one(Input).value = "gone"
        await pilot.press("enter")
        assert "that is not gone.xvda" in str(app.screen.query_one("#problem", Static).render())
        app.screen.query_one(Input).value = "gone.xvda"
        await pilot.press("enter")
        await settle(pilot)
        assert [c for c in lvm.calls if c[0] == "lvremove"] == [["lvremove", "--yes", "xenbox/gone.xvda"]]
        await pilot.press("g")
        app.screen.query_one(Input).value = "160"
        await pilot.press("enter")
        await settle(pilot)
        assert [c for c in lvm.calls if c[0] == "lvresize"] == [["lvresize", "--size", f"{160 * 1024 * 1024}b",
                                                                  "xenbox/gone.xvda"]]
    lvm = lvm_with_guest_volumes()
    drive(test, FakeStore(GROUP), lvm)


@pytest.mark.skipif(os.geteuid() != 0 or not LOOP_UEVENT.exists(), reason="a uevent is sent as root, to loop5")
def test_a_disk_plugged_in_or_pulled_out_shows_up_within_a_second():
    """The kernel's own uevent, sent for loop5 (watched here in place of a disk), lists the disks again."""
    async def test(pilot, app, screen):
        app.disks.plugged.append(Disk("vdc", "/dev/vdc", "disk", GIB, serial="XB-DISK-9"))
        await pilot.pause(0.3)                      # the watch is listening
        LOOP_UEVENT.write_text("add")
        await pilot.pause(1.0)
        assert [r[0] for r in rows(screen)] == ["vda", "vdb", "vdc"]
        assert ("Disks changed: loop5 appeared.", "information") in app.notified
        app.disks.plugged.remove(USED)
        LOOP_UEVENT.write_text("remove")
        await pilot.pause(1.0)
        assert [r[0] for r in rows(screen)] == ["vda", "vdc"]
        assert ("Disks changed: loop5 is gone.", "information") in app.notified
    drive(test, events=lambda: DiskEvents(watched=lambda name: name == "loop5"))


def test_without_uevents_the_disks_are_still_looked_at_every_few_seconds(tmp_path):
    (tmp_path / "block" / "vda").mkdir(parents=True)

    async def test(pilot, app, screen):
        app.disks.plugged.append(Disk("vdc", "/dev/vdc", "disk", GIB, serial="XB-DISK-9"))
        (tmp_path / "block" / "vdc").mkdir()
        await pilot.pause(0.6)
        await settle(pilot)
        assert [r[0] for r in rows(screen)] == ["vda", "vdb", "vdc"]
        assert ("Disks changed: vdc appeared.", "information") in app.notified
    drive(test, events=lambda: DiskEvents(sysfs=tmp_path, use_uevents=False, poll_seconds=0.1))


CHANGED = [
    ("gone", None, "/dev/vdb (256 MiB) is no longer attached: nothing was erased"),
    ("grown", Disk("vdb", "/dev/vdb", "disk", GIB, fstype="ext4", label="old"),
     "/dev/vdb changed since it was chosen: its size is 1 GiB now, not 256 MiB. Nothing was erased"),
    ("mounted", Disk("vdb", "/dev/vdb", "disk", GIB // 4, fstype="ext4", label="old", mountpoint="/mnt"),
     "/dev/vdb changed since it was chosen: it is mounted at /mnt now; it holds an ext4 filesystem labelled old "
     "when it was chosen"),
    ("signature", Disk("vdb", "/dev/vdb", "disk", GIB // 4, fstype="xfs", label="new"),
     "it holds an xfs filesystem labelled new now; it holds an ext4 filesystem labelled old when it was chosen"),
    ("now read-only", Disk("vdb", "/dev/vdb", "disk", GIB // 4, fstype="ext4", label="old", read_only=True),
     "/dev/vdb changed since it was chosen: what is written on it changed"),
]


@pytest.mark.parametrize("how, now, message", CHANGED, ids=[case[0] for case in CHANGED])
def test_a_disk_that_changed_while_its_erasing_was_confirmed_is_not_erased(how, now, message):
    """Before, the erase acted on the Disk object listed when the screen opened."""
    async def test(pilot, app, screen):
        await pilot.press("down", "i")
        app.screen.query_one(Input).value = "vdb"
        app.disks.plugged.remove(USED)            # meanwhile: pulled out, swapped, mounted, formatted
        if now is not None:
            app.disks.plugged.append(now)
        await pilot.press("enter")
        await settle(pilot)
        assert store.made == []
        assert any(message in text and severity == "error" for text, severity in app.notified), app.notified
    store = FakeStore()
    drive(test, store)


def test_the_disk_erased_is_the_one_read_just_before():
    async def test(pilot, app, screen):
        await pilot.press("down", "i")
        app.screen.query_one(Input).value = "vdb"
        app.disks.plugged[1] = Disk("vdb", "/dev/vdb", "disk", GIB // 4, fstype="ext4", label="old", model="new read")
        await pilot.press("enter")
        await settle(pilot)
        assert store.made == [["vdb"]] and store.erased[0].model == "new read"
    store = FakeStore()
    drive(test, store)
