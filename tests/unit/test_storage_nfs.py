"""NFS output captured in the VM against the kernel's nfsd on 127.0.0.1 (v3 and v4.2 mounts), and the argv
`Nfs` builds, through a recording runner (the boundary)."""
import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.nfs import Nfs, mount_argv, parse_showmount
from test_storage_support import Replay, failure, fixture


def test_showmount_exports():
    exports = parse_showmount(fixture("vm/showmount-e.txt"))
    assert [(e.path, e.clients) for e in exports] == [
        ("/srv/isos", ("*",)), ("/srv/guests", ("127.0.0.1",)), ("/srv", ("127.0.0.1",))]


def test_mounts_are_the_nfs_lines_of_the_table(tmp_path):
    proc = tmp_path / "mounts"
    proc.write_text(fixture("vm/proc-mounts.txt"))
    assert [(m.source, m.mountpoint) for m in Nfs(proc_mounts=proc).mounts()] == [
        ("127.0.0.1:/isos", "/mnt/isos"), ("127.0.0.1:/srv/guests", "/mnt/guests")]


def test_mount_argv():
    assert mount_argv("127.0.0.1:/isos", "/mnt/isos") == ["mount.nfs", "127.0.0.1:/isos", "/mnt/isos"]
    assert mount_argv("nas:/srv/guests", "/mnt/g", version="3", read_only=True) == [
        "mount.nfs", "nas:/srv/guests", "/mnt/g", "-o", "vers=3,nolock,ro"]
    with pytest.raises(StorageError, match="write it as server:/path"):
        mount_argv("nas/srv", "/mnt/g")
    with pytest.raises(StorageError, match="NFS version 2 is not one XenBox mounts"):
        mount_argv("nas:/srv", "/mnt/g", version="2")


def test_exports_mount_and_unmount_argv(tmp_path):
    proc = tmp_path / "mounts"
    proc.write_text(fixture("vm/proc-mounts.txt"))
    run = Replay({("showmount",): "vm/showmount-e.txt"})
    nfs = Nfs(run, proc_mounts=proc)
    assert len(nfs.exports("127.0.0.1")) == 3
    nfs.mount("127.0.0.1:/isos", "/mnt/isos", version="4.2")
    nfs.unmount("/mnt/isos")
    assert run.calls == [["showmount", "--exports", "127.0.0.1"],
                         ["mount.nfs", "127.0.0.1:/isos", "/mnt/isos", "-o", "vers=4.2"], ["umount", "/mnt/isos"]]
    assert len(nfs.mounts()) == 2


def raising(capture):
    def run(argv, *, input=None, timeout=60):
        raise failure(argv, capture)
    return run


@pytest.mark.parametrize("capture, call, sentence", [
    ("vm/mount-nfs-not-exported.txt", lambda n: n.mount("127.0.0.1:/srv/nope", "/mnt/nope", "3"),
     "127.0.0.1 has no share /srv/nope: check the path against the server's exports"),
    ("vm/mount-nfs-no-server.txt", lambda n: n.mount("127.0.0.1:/isos", "/mnt/nope", "4.2"),
     "no NFS server answers at 127.0.0.1: check the address and its NFS service"),
    ("vm/showmount-e-no-server.txt", lambda n: n.exports("127.0.0.1"),
     "127.0.0.1 does not answer as an NFS server: check the address, and that its NFS service is running and "
     "reachable from this host"),
])
def test_nfs_failures_become_sentences(capture, call, sentence):
    with pytest.raises(StorageError) as error:
        call(Nfs(raising(capture)))
    assert str(error.value) == sentence
