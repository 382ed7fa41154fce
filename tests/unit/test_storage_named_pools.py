"""Pools added by name: kept in a real pools.toml in a temporary folder, folders real ones.

The boundary is mount(8) and the kernel's mount table: `Kernel` below records each argv and, for a
mount, adds the line the kernel puts in /proc/mounts (as captured in the VM, fixtures storage/vm/
proc-mounts-nfs.txt), or fails with a captured mount.nfs error. The e2e storage test mounts a real NFS
share (nfs-ganesha on the test host) from the booted image.
"""
from pathlib import Path

import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.named_pools import NamedPool, NamedPools, read_pools, write_pools
from hypervisor.storage.pools import FilePool
from test_storage_support import failure

REAL_DISK = "/dev/mapper/xenbox-data /var/lib/xenbox ext4 rw,relatime 0 0\n"
RAM_ROOT = "overlay / overlay rw,relatime 0 0\ntmpfs /run tmpfs rw,nosuid 0 0\n"


class Kernel:
    """mount/umount at the boundary: the mount table is a real file these calls change."""

    def __init__(self, proc_mounts: Path, refuse: str | None = None) -> None:
        self.proc_mounts, self.refuse, self.calls = proc_mounts, refuse, []

    def __call__(self, argv, *, input=None, timeout=60):
        self.calls.append(list(argv))
        if argv[0] == "mount.nfs":
            if self.refuse:
                raise failure(argv, self.refuse)
            share, point = argv[1], argv[2]
            with open(self.proc_mounts, "a") as table:
                table.write(f"{share} {point} nfs4 rw,relatime,vers=4.1,port=20490,proto=tcp 0 0\n")
        elif argv[0] == "umount":
            lines = self.proc_mounts.read_text().splitlines(keepends=True)
            self.proc_mounts.write_text("".join(line for line in lines if f" {argv[1]} " not in line))
        return ""


@pytest.fixture
def host(tmp_path):
    proc = tmp_path / "mounts"
    proc.write_text(RAM_ROOT + REAL_DISK.replace("/var/lib/xenbox", str(tmp_path / "store")))
    (tmp_path / "store").mkdir()
    kernel = Kernel(proc)
    pools = NamedPools(kernel, config=tmp_path / "store" / "config" / "pools.toml",
                       mount_root=tmp_path / "run" / "pools", proc_mounts=proc, sleep=lambda _: None,
                       stored=lambda: True)
    pools.kernel = kernel
    return pools


def test_an_nfs_share_is_mounted_then_kept_and_its_disk_images_go_there(host, tmp_path):
    said = []
    pool = host.add_nfs("nas", "10.0.2.2:/xenbox", "4.1", 20490, said.append)
    mountpoint = tmp_path / "run" / "pools" / "nas"
    assert host.kernel.calls == [["mount.nfs", "10.0.2.2:/xenbox", str(mountpoint), "-o",
                                  "vers=4.1,port=20490"]]
    assert said == [f"pool nas: ready, 10.0.2.2:/xenbox (port 20490), NFS 4.1, mounted at {mountpoint}"]
    assert host.list() == [pool] == read_pools(host.config)
    assert host.problem(pool) is None
    # An appliance's disk on it: an image file in the mounted folder.
    files = FilePool(host.kernel, host.folder(pool), problem=lambda: host.problem(pool))
    assert files.volume("web", "xvdb", 8, "raw") == mountpoint / "web.xvdb.raw"


def test_a_share_that_cannot_be_mounted_is_not_kept_and_says_why(host):
    host.kernel.refuse = "vm/mount-nfs-not-exported.txt"
    with pytest.raises(StorageError, match="10.0.2.2 has no share /nope: check the path against the server's exports"):
        host.add_nfs("nas", "10.0.2.2:/nope", None, None, lambda line: None)
    assert host.list() == []


@pytest.mark.parametrize("call, sentence", [
    (lambda p: p.add_nfs("local", "nas:/x", None, None, print), "local is the data store's own pool"),
    (lambda p: p.add_nfs("my nas", "nas:/x", None, None, print), "'my nas' is not a usable pool name"),
    (lambda p: p.add_nfs("nas", "nas/x", None, None, print), "'nas/x' is not an NFS share: write it as server:/path"),
    (lambda p: p.add_nfs("nas", "nas:/x", "5", None, print), "NFS version 5 is not one XenBox mounts"),
    (lambda p: p.add_nfs("nas", "nas:/x", None, 70000, print), "70000 is not a port"),
    (lambda p: p.add_folder("dir", "images"), "'images' is not a folder: give its full path"),
])
def test_bad_pools_are_refused_before_anything_is_mounted(host, call, sentence):
    with pytest.raises(StorageError, match=sentence):
        call(host)
    assert host.kernel.calls == [] and host.list() == []


def test_a_folder_in_dom0s_memory_is_refused_one_on_a_disk_is_kept(host, tmp_path):
    ram = tmp_path / "ram"
    ram.mkdir()
    host._proc_mounts.write_text(host._proc_mounts.read_text() + f"tmpfs {ram} tmpfs rw 0 0\n")
    with pytest.raises(StorageError, match=f"pool scratch: {ram} is on {ram} \\(tmpfs\\), which is in this host's "
                                           "memory or on the boot medium and gone at reboot"):
        host.add_folder("scratch", str(ram))
    with pytest.raises(StorageError, match="the folder .*/store/gone is not there: mount its disk, or create"):
        host.add_folder("gone", str(tmp_path / "store" / "gone"))
    (tmp_path / "store" / "images2").mkdir()
    kept = host.add_folder("more", str(tmp_path / "store" / "images2"))
    assert host.list() == [kept] and host.kernel.calls == []


def test_two_pools_of_one_name_and_a_pool_an_appliance_uses_are_refused(host):
    host.add_nfs("nas", "10.0.2.2:/xenbox", None, None, lambda line: None)
    with pytest.raises(StorageError, match="there is already a pool named nas"):
        host.add_nfs("nas", "10.0.2.2:/other", None, None, lambda line: None)
    with pytest.raises(StorageError, match="pool nas holds disks of appliances web, db: remove those appliances"):
        host.remove("nas", ["web", "db"], lambda line: None)
    said = []
    host.remove("nas", [], said.append)
    assert host.kernel.calls[-1][0] == "umount" and host.list() == []
    assert said == ["pool nas: forgotten; the images in it were left where they are"]
    with pytest.raises(StorageError, match=r"this host has no pool nas \(it has: local, files\)"):
        host.find("nas")


def test_at_boot_a_share_not_mounted_keeps_its_disks_from_being_made_and_is_reported(host, tmp_path):
    host.keep(NamedPool("nas", "nfs", "10.9.9.9:/xenbox", "4.2"))      # from an answer file: not mounted yet
    host.kernel.refuse = "vm/mount-nfs-no-server.txt"
    pool = host.find("nas")
    files = FilePool(host.kernel, host.folder(pool), problem=lambda: host.problem(pool))
    with pytest.raises(StorageError, match=r"its disk xvdb cannot be used: pool nas \(10.9.9.9:/xenbox\) is not "
                                           "mounted: check the NFS server and the network"):
        files.volume("web", "xvdb", 8)
    assert not (tmp_path / "run" / "pools" / "nas" / "web.xvdb.raw").exists()
    said = []
    assert host.attach_all(said.append) == ["nas"]
    assert said == ["pool nas: not reachable yet; trying again for a minute",
                    "pool nas: NOT attached: no NFS server answers at 10.9.9.9: check the address and its NFS "
                    "service; appliances with disks on it will not start"]
    assert len(host.kernel.calls) == 12


def test_the_kept_list_round_trips_and_a_broken_one_is_named(tmp_path):
    path = tmp_path / "pools.toml"
    kept = [NamedPool("nas", "nfs", "[2001:db8::5]:/srv/xen", "3", 2049), NamedPool("more", "file", path="/mnt/x")]
    write_pools(kept, path)
    assert read_pools(path) == kept
    write_pools(kept[:1], path)
    path.write_text('[[pools]]\ntype = "nfs"\n')
    with pytest.raises(StorageError) as refused:
        read_pools(path)
    assert str(refused.value) == (f'{path}: 2 problems\n  pools[0].name: missing: add name = "nas"\n'
                                  f'  pools[0].share: missing: add share = "server:/export"\n'
                                  "to fix: correct these keys, or put back pools.toml.prev beside it (the version before "
                                  "the last change)")

