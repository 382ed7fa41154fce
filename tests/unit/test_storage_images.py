"""qemu-img output captured on the build host (qcow2, raw, a qcow2 overlay) and in the VM (an LV read as raw),
and the argv `Images` builds, through a recording runner (the boundary)."""
import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.images import Images, parse_info
from test_storage_support import Replay, failure, fixture

GIB = 1024 ** 3


def test_info_of_each_kind():
    qcow2 = parse_info(fixture("host/qemu-img-info-qcow2.json"))
    assert (qcow2.format, qcow2.virtual_size, qcow2.backing_file, qcow2.dirty) == ("qcow2", 10 * GIB, None, False)
    assert qcow2.actual_size < GIB
    assert parse_info(fixture("host/qemu-img-info-raw.json")).format == "raw"
    assert parse_info(fixture("host/qemu-img-info-overlay.json")).backing_file == "/tmp/stg/img/web.qcow2"
    lv = parse_info(fixture("vm/qemu-img-info-lv.json"))
    assert (lv.path, lv.format, lv.virtual_size) == ("/dev/xenbox/web", "raw", 68 * 1024 * 1024)


def test_create_argv_and_refusals(tmp_path):
    run = Replay()
    Images(run).create(str(tmp_path / "web.qcow2"), 10 * GIB)
    Images(run).create(str(tmp_path / "db.img"), GIB, "raw")
    assert run.calls == [["qemu-img", "create", "-q", "-f", "qcow2", str(tmp_path / "web.qcow2"), str(10 * GIB)],
                         ["qemu-img", "create", "-q", "-f", "raw", str(tmp_path / "db.img"), str(GIB)]]
    (tmp_path / "old.qcow2").write_text("")
    with pytest.raises(StorageError, match="old.qcow2 already exists: choose another name"):
        Images(run).create(str(tmp_path / "old.qcow2"), GIB)
    with pytest.raises(StorageError, match="vmdk is not an image format XenBox creates: choose qcow2 or raw"):
        Images(run).create(str(tmp_path / "x.vmdk"), GIB, "vmdk")


def raising(capture):
    def run(argv, *, input=None, timeout=60):
        raise failure(argv, capture)
    return run


def test_failures_become_sentences():
    with pytest.raises(StorageError, match=r"^/tmp/stg/img/nope.qcow2 does not exist: check the path$"):
        Images(raising("host/qemu-img-info-missing.json")).info("/tmp/stg/img/nope.qcow2")
    with pytest.raises(StorageError, match=r"^the folder /tmp/stg/img/missing-dir does not exist: create it"):
        Images(raising("host/qemu-img-create-missing-dir.txt")).create("/tmp/stg/img/missing-dir/x.qcow2", GIB)
