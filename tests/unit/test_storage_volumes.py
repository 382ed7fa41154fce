"""Guest volumes on the data store, through a recording runner (the boundary; the real tools run in the
e2e storage test). The VG report is one captured in the VM; the volumes report is in the same format,
written here with the names XenBox gives guest volumes (<appliance>.<target>)."""
import json
from pathlib import Path

import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.image_files import ImageFiles
from hypervisor.storage.volumes import GuestVolumes, owner_of
from test_storage_support import Replay

MIB = 1024 * 1024



def lv(name, size_mib, attr):
    return {"lv_name": name, "vg_name": "xenbox", "lv_size": str(size_mib * MIB), "lv_path": f"/dev/xenbox/{name}",
            "lv_attr": attr, "lv_uuid": f"uuid-{name}", "devices": "/dev/vda(0)"}


LVS = json.dumps({"report": [{"lv": [lv("data", 512, "-wi-ao----"), lv("web.xvda", 64, "-wi-a-----"),
                                     lv("gone.xvda", 128, "-wi-a-----"), lv("db.xvda", 200, "-wi-ao----")]}]})


class Runner(Replay):
    def __call__(self, argv, *, input=None, timeout=60):
        answer = super().__call__(argv, input=input, timeout=timeout)
        return LVS if argv[0] == "lvs" else answer


def lvm_with_guest_volumes():
    return Runner({("vgs",): "vm/vgs.json"})


def volumes(run, appliances=("web", "db"), images_folder=Path("/nonexistent/images")):
    """Image files in `images_folder` (test_storage_image_volumes.py); none by default."""
    return GuestVolumes(run, appliances=lambda: list(appliances), images=ImageFiles(images_folder, run, held=set))


def lvm_calls(run, tool):
    return [call for call in run.calls if call[0] == tool]


def test_a_volume_belongs_to_the_appliance_named_before_its_last_dot():
    assert owner_of("web.xvda", ["web", "db"]) == "web"
    assert owner_of("my.app.xvdb", ["my.app"]) == "my.app"
    assert owner_of("gone.xvda", ["web"]) is None
    assert owner_of("data", ["data"]) is None


def test_the_list_says_whose_each_volume_is_and_which_are_open():
    listed = {v.name: v for v in volumes(lvm_with_guest_volumes()).list()}
    assert sorted(listed) == ["db.xvda", "gone.xvda", "web.xvda"]        # never the data store's own
    assert (listed["web.xvda"].owner, listed["gone.xvda"].owner, listed["db.xvda"].in_use) == ("web", None, True)
    assert listed["gone.xvda"].summary == "gone.xvda, 128 MiB, no appliance's (left behind)"
    assert listed["db.xvda"].summary == "db.xvda, 200 MiB, the disk of appliance db, in use"


def test_a_left_behind_volume_is_deleted_only_with_its_name_typed_again():
    run = lvm_with_guest_volumes()
    with pytest.raises(StorageError, match="^deleting gone.xvda destroys what is on it: give its name again"):
        volumes(run).delete("gone.xvda", typed="gone")
    assert lvm_calls(run, "lvremove") == []
    volumes(run).delete("gone.xvda", typed="gone.xvda")
    assert lvm_calls(run, "lvremove") == [["lvremove", "--yes", "xenbox/gone.xvda"]]


def test_an_appliances_volume_and_an_open_one_are_never_deleted():
    run = lvm_with_guest_volumes()
    with pytest.raises(StorageError, match="^web.xvda is the disk of appliance web: it is kept while the appliance"):
        volumes(run).delete("web.xvda", typed="web.xvda")
    with pytest.raises(StorageError, match="^db.xvda is in use by a running guest: shut the guest down first"):
        volumes(run, appliances=[]).delete("db.xvda", typed="db.xvda")
    with pytest.raises(StorageError, match="^there is no guest volume data: `xenbox storage volumes`"):
        volumes(run).delete("data", typed="data")
    assert lvm_calls(run, "lvremove") == []


def test_a_volume_grows_and_is_never_shrunk():
    run = lvm_with_guest_volumes()
    volumes(run).grow("web.xvda", 96)
    assert lvm_calls(run, "lvresize") == [["lvresize", "--size", f"{96 * MIB}b", "xenbox/web.xvda"]]
    with pytest.raises(StorageError, match=r"^xenbox/web.xvda is 64 MiB; shrinking it to 32 MiB would destroy"):
        volumes(run).grow("web.xvda", 32)
