"""`appliance add`: a bundle's disk images go onto guest volumes, never into the appliance's folder.

The pool is a real file pool in the test's folder (importing.FileTarget over storage.pools.FilePool, the
code `--pool files` and pools added by name run). The data store's LVM volumes cannot be made here: this
kernel has no device-mapper (tests/unit/test_storage_real_lvm.py), so `local` is met only as its refusal
on a host with no data store. Zeroing the holes of an image on a block device, which an LVM volume needs,
is checked on a real loop device.
"""
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from hypervisor.appliances import importing, install
from hypervisor.appliances.adding import NothingAdded, add_bundle
from hypervisor.appliances.catalog import discover
from hypervisor.appliances.importing import FileTarget
from hypervisor.appliances.install import InstallError, copy_onto_volume, install_bundle
from hypervisor.appliances.manifest import load_bundle
from hypervisor.appliances.staging import sweep
from hypervisor.cli.main import build_parser
from hypervisor.storage.pools import FilePool
from hypervisor.xen.xl import Xl

from test_appliance_install import MIB, SAMPLE, Clock
from test_appliance_interrupted import install_killed_at


def web(tmp_path: Path, which: str = "new", mib: int = 0, sparse_mib: int = 0) -> Path:
    """sample-web whose data.img (its disk xvda) says which copy it is, `mib` MiB of data then a hole."""
    folder = tmp_path / which / "web"
    shutil.copytree(SAMPLE, folder)
    with open(folder / "data.img", "wb") as image:
        image.write(which.encode() * 4096 + os.urandom(mib * MIB))
        image.truncate(image.tell() + sparse_mib * MIB)
    return folder


def file_pool(folder: Path):
    """pool_target for a pool named "files" whose folder is `folder`: always ready."""
    def open_pool(name: str):
        assert name == "files"
        return FileTarget("files", FilePool(folder=folder, problem=lambda: None))
    return open_pool


def volume_of(pool: Path) -> bytes:
    return (pool / "sample-web.xvda.raw").read_bytes()


def test_the_image_becomes_a_volume_sized_for_it_and_the_manifest_points_there(tmp_path, monkeypatch):
    monkeypatch.setattr(install, "CHUNK", 8 * MIB)
    source, pool, said = web(tmp_path, mib=24, sparse_mib=500), tmp_path / "pool", []
    folder = install_bundle(source, tmp_path / "installed", said.append, clock=Clock(), volumes=file_pool(pool),
                            pool="files")
    assert sorted(p.name for p in folder.iterdir()) == ["appliance.toml", "initrd.img", "vmlinuz"]     # no image
    [disk] = load_bundle(folder).disks
    assert (disk.pool, disk.target, disk.file, disk.format) == ("files", "xvda", None, "raw")
    size = (source / "data.img").stat().st_size
    assert disk.size_mib == -(-size // MIB) == 525
    volume = pool / "sample-web.xvda.raw"
    assert [p.name for p in pool.iterdir()] == [volume.name]
    assert volume.stat().st_size == 525 * MIB and volume.stat().st_blocks * 512 < 40 * MIB     # holes kept
    with open(volume, "rb") as copied, open(source / "data.img", "rb") as original:
        assert copied.read(size) == original.read() and copied.read() == bytes(525 * MIB - size)
    assert "data.img goes onto a 525 MiB volume on pool files, sample-web.xvda" in said
    progress = [line for line in said if line.startswith("copying data.img")]
    assert progress[0].startswith("copying data.img: 8 MiB of ") and "(1%)" in progress[0]
    assert said[-1].startswith("copied data.img: ")
    assert [p.name for p in (tmp_path / "installed").iterdir()] == ["sample-web"]      # no work folder left


def test_a_replace_keeps_the_old_volume_until_the_new_copy_is_in_place(tmp_path):
    pool, into = tmp_path / "pool", tmp_path / "installed"
    install_bundle(web(tmp_path, "old"), into, volumes=file_pool(pool), pool="files")
    assert volume_of(pool).startswith(b"old" * 4096)
    seen = []
    real_put = install.Staging.put_in_place

    def put_in_place(staging, root, target):      # what the pool holds just before the new copy takes the name
        seen.append(sorted(p.name for p in pool.iterdir()))
        assert volume_of(pool).startswith(b"old" * 4096)
        real_put(staging, root, target)
    install.Staging.put_in_place = put_in_place
    try:
        install_bundle(web(tmp_path, "new"), into, volumes=file_pool(pool), pool="files", replace=True)
    finally:
        install.Staging.put_in_place = real_put
    assert [name for name in seen[0] if ".adding-" in name] and "sample-web.xvda.raw" in seen[0]
    assert [p.name for p in pool.iterdir()] == ["sample-web.xvda.raw"] and volume_of(pool).startswith(b"new" * 4096)
    assert [p.name for p in into.iterdir()] == ["sample-web"]


def test_too_little_room_on_the_pool_is_refused_naming_the_images_and_the_fix(tmp_path, monkeypatch):
    pool, into = tmp_path / "pool", tmp_path / "installed"
    monkeypatch.setattr(FileTarget, "free", lambda self: 100 * MIB)
    with pytest.raises(InstallError) as refused:
        install_bundle(web(tmp_path, sparse_mib=1023), into, volumes=file_pool(pool), pool="files")
    assert str(refused.value) == (
        f"{tmp_path}/new/web's disk images (data.img (1 GiB)) need 1 GiB on volumes and pool files has 100 MiB "
        "free: delete volumes left behind (`xenbox storage volumes`), grow the data store, or add it onto another "
        "pool with --pool NAME, then add it again")
    assert list(into.iterdir()) == [] and not pool.exists()


def test_the_settings_filesystem_is_not_what_a_big_image_needs_room_on(tmp_path, monkeypatch):
    """The data store's filesystem with 1 MiB free takes a bundle whose image holds 8 MiB: the image goes on the pool."""
    pool, into = tmp_path / "pool", tmp_path / "installed"
    into.mkdir()
    real_usage = shutil.disk_usage
    monkeypatch.setattr(install.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 * MIB, 9 * MIB, MIB)
                        if Path(path) == into else real_usage(path))
    install_bundle(web(tmp_path, mib=8), into, volumes=file_pool(pool), pool="files")
    assert volume_of(pool).startswith(b"new" * 4096)


def test_a_volume_left_by_an_earlier_appliance_of_that_name_is_not_overwritten(tmp_path):
    pool, into = tmp_path / "pool", tmp_path / "installed"
    pool.mkdir()
    (pool / "sample-web.xvda.raw").write_bytes(b"someone's data")
    with pytest.raises(InstallError, match=rf"^{pool}/sample-web.xvda.raw already exists \(a volume left by an "
                                           r"earlier appliance sample-web\?\): delete it \(`xenbox storage delete`\)"):
        install_bundle(web(tmp_path), into, volumes=file_pool(pool), pool="files")
    assert volume_of(pool) == b"someone's data" and list(into.iterdir()) == []


def test_a_failed_copy_removes_the_volume_made_for_it(tmp_path, monkeypatch):
    pool, into = tmp_path / "pool", tmp_path / "installed"

    def broken(*args, **kwargs):
        raise InstallError("the stick was pulled out")
    monkeypatch.setattr(install, "copy_onto_volume", broken)
    said = []
    with pytest.raises(InstallError, match="the stick was pulled out"):
        install_bundle(web(tmp_path), into, said.append, volumes=file_pool(pool), pool="files")
    assert list(pool.iterdir()) == [] and list(into.iterdir()) == []
    assert said[-1].startswith(f"removed {pool}/sample-web.xvda.adding-") and said[-1].endswith(", made for this add")


def test_a_qcow2_image_is_converted_onto_its_volume(tmp_path):
    source, pool = web(tmp_path, mib=1), tmp_path / "pool"
    raw = (source / "data.img").read_bytes()
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(source / "data.img"),
                    str(source / "data.qcow2")], check=True)
    (source / "data.img").unlink()
    manifest = source / "appliance.toml"
    manifest.write_text(manifest.read_text().replace('file = "data.img"\nformat = "raw"',
                                                     'file = "data.qcow2"\nformat = "qcow2"'))
    folder = install_bundle(source, tmp_path / "installed", volumes=file_pool(pool), pool="files")
    assert not (folder / "data.qcow2").exists() and load_bundle(folder).disks[0].format == "raw"
    assert volume_of(pool)[:len(raw)] == raw


def test_kernels_and_cd_images_stay_in_the_folder(tmp_path):
    source, pool = web(tmp_path), tmp_path / "pool"
    manifest = source / "appliance.toml"
    text = manifest.read_text().replace('type = "pv"', 'type = "hvm"').replace(
        '[boot]\nkernel = "vmlinuz"\nramdisk = "initrd.img"\ncmdline = "console=hvc0 root=/dev/xvda ro"\n', "")
    (source / "tools.iso").write_bytes(b"CD" * 1024)
    manifest.write_text(text + '\n[[disks]]\nfile = "tools.iso"\ncdrom = true\ntarget = "hdc"\n')
    folder = install_bundle(source, tmp_path / "installed", volumes=file_pool(pool), pool="files")
    assert (folder / "tools.iso").is_file() and not (folder / "data.img").exists()
    disks = load_bundle(folder).disks
    assert [(d.target, d.pool, d.cdrom) for d in disks] == [("xvda", "files", False), ("hdc", None, True)]


def test_on_a_block_device_the_holes_and_the_end_are_zeroed(tmp_path):
    """An LVM volume holds what an earlier one left: a loop device full of 0xff stands in for one."""
    if os.geteuid() != 0 or not shutil.which("losetup"):
        pytest.skip("a loop device needs root and losetup")
    backing = tmp_path / "volume"
    backing.write_bytes(b"\xff" * 8 * MIB)
    device = subprocess.run(["losetup", "--find", "--show", str(backing)], capture_output=True, text=True,
                            check=True).stdout.strip()
    try:
        image = tmp_path / "disk.img"
        with open(image, "wb") as file:
            file.write(b"a" * 4096)
            file.seek(2 * MIB)
            file.write(b"b" * 4096)
            file.truncate(3 * MIB + 100)        # a hole at the end, and a length of no whole block
        copy_onto_volume(image, Path(device), fresh=False, say=lambda line: None)
        with open(device, "rb") as volume:
            written = volume.read()
    finally:
        subprocess.run(["losetup", "--detach", device], check=True)
    assert written == image.read_bytes() + bytes(8 * MIB - (3 * MIB + 100))


def test_on_a_file_not_made_just_now_the_holes_are_written_as_zeros(tmp_path):
    image, volume = tmp_path / "disk.img", tmp_path / "volume"
    with open(image, "wb") as file:
        file.write(b"a" * 4096)
        file.truncate(MIB)
    volume.write_bytes(b"\xff" * 2 * MIB)
    copy_onto_volume(image, volume, fresh=False, say=lambda line: None)
    assert volume.read_bytes() == b"a" * 4096 + bytes(2 * MIB - 4096)
    (tmp_path / "big.img").write_bytes(b"")
    os.truncate(tmp_path / "big.img", 3 * MIB)
    with pytest.raises(InstallError, match="holds 2 MiB, less than big.img's 3 MiB: delete the volume"):
        copy_onto_volume(tmp_path / "big.img", volume, fresh=True, say=lambda line: None)


def test_add_bundle_opens_the_pool_it_is_told_and_takes_a_relative_path(tmp_path, monkeypatch):
    pool = tmp_path / "pool"
    web(tmp_path)
    monkeypatch.chdir(tmp_path / "new")
    folder = add_bundle(Path("web"), tmp_path / "installed", has_data_store=lambda: True, pool="files",
                        volumes=file_pool(pool))
    assert not (folder / "data.img").exists()
    assert volume_of(pool).startswith(b"new") and [d.pool for d in load_bundle(folder).disks] == ["files"]


def test_a_pool_this_host_has_not_is_refused_by_its_name_and_nothing_is_installed(tmp_path, monkeypatch):
    """The host's own pool list (storage.named_pools), read from a pools.toml in the test's folder."""
    from hypervisor.storage import named_pools
    real = named_pools.NamedPools
    monkeypatch.setattr(named_pools, "NamedPools", lambda run=None: real(config=tmp_path / "pools.toml",
                                                                          stored=lambda: True))
    into = tmp_path / "installed"
    with pytest.raises(NothingAdded) as refused:
        add_bundle(web(tmp_path), into, has_data_store=lambda: True, pool="nas")
    assert str(refused.value) == (f"{tmp_path}/new/web was not added: this host has no pool nas (it has: local, "
                                  "files): add it with `xenbox storage pool add`, or name another pool in "
                                  "appliance.toml")
    assert list(into.iterdir()) == []


def test_xenbox_appliance_add_with_a_pool_and_without_a_data_store(tmp_path, capsys, monkeypatch):
    source, into = web(tmp_path), tmp_path / "installed"
    args = build_parser().parse_args(["appliance", "add", str(source), "--into", str(into)])
    assert args.pool == "local"
    assert args.handler(args, Xl(run=None)) == 1            # this test host has no data store: nothing is made
    assert "was not added: " in capsys.readouterr().err and list(into.iterdir()) == []
    monkeypatch.setattr(importing, "pool_target", file_pool(tmp_path / "pool"))
    args = build_parser().parse_args(["appliance", "add", str(source), "--into", str(into), "--pool", "files"])
    assert args.handler(args, Xl(run=None)) == 0
    assert "added appliance sample-web in" in capsys.readouterr().out
    assert volume_of(tmp_path / "pool").startswith(b"new")


def test_the_sweep_removes_a_volume_whose_copy_never_took_its_name(tmp_path):
    pool, into = tmp_path / "pool", tmp_path / "installed"
    into.mkdir()
    with pytest.raises(RuntimeError):
        with install.Staging(into, tmp_path / "new" / "web", replace=False) as staging:
            staging.named("sample-web")
            staging.volume("files", "xvda")
            file_pool(pool)("files").make("sample-web", f"xvda.adding-{staging.token}", 1, lambda line: None)
            raise RuntimeError("cut")       # the work folder stays: its volume is pending
    assert len(list(into.iterdir())) == 1 and len(list(pool.iterdir())) == 1
    [said] = sweep(into, file_pool(pool))
    assert said.startswith("removed an unfinished copy of appliance sample-web (interrupted add), and the volume "
                           f"made for it, {pool}/sample-web.xvda.adding-")
    assert list(into.iterdir()) == [] and list(pool.iterdir()) == []


@pytest.mark.parametrize("source_kind", ["folder", "tar"])
@pytest.mark.parametrize("replace", [False, True], ids=["add", "replace"])
def test_an_add_killed_at_any_change_leaves_an_appliance_whose_volume_is_its_own_once_swept(tmp_path, replace,
                                                                                           source_kind):
    """The cut of test_appliance_interrupted.py (a SIGKILL just before the N-th change, for every N), with the
    image going onto a volume: after the sweep the appliance is the old or the new one, with its own volume,
    and nothing made for the copy is left on the pool."""
    old, new = web(tmp_path, "old"), web(tmp_path, "new")
    old_volume, new_volume = (old / "data.img").read_bytes(), (new / "data.img").read_bytes()
    if source_kind == "tar":
        with tarfile.open(tmp_path / "new.tar", "w") as tar:
            tar.add(new, arcname="web")
        new = tmp_path / "new.tar"
    total = changes_made(tmp_path, new, replace)
    assert total >= 10
    states = set()
    for change in range(1, total + 1):
        into, pool = tmp_path / f"into-{change}", tmp_path / f"pool-{change}"
        into.mkdir()
        if replace:
            install_bundle(old, into, volumes=file_pool(pool), pool="files")
        assert killed_at(change, new, into, pool, replace), f"change {change} of {total} was not cut"
        sweep(into, file_pool(pool))
        assert [p.name for p in into.iterdir() if p.name.startswith(".")] == []
        entries = discover((into,))
        if not entries:
            assert not replace and (not pool.exists() or list(pool.iterdir()) == []), change
            states.add("none")
            continue
        [entry] = entries
        assert entry.manifest is not None and [d.pool for d in entry.manifest.disks] == ["files"], change
        assert [p.name for p in pool.iterdir()] == ["sample-web.xvda.raw"], (change, list(pool.iterdir()))
        volume = volume_of(pool)
        state = "new" if volume[:len(new_volume)] == new_volume else "old"
        assert volume[:len(old_volume if state == "old" else new_volume)] == (old_volume if state == "old"
                                                                             else new_volume), change
        states.add(state)
    assert states == ({"old", "new"} if replace else {"none", "new"})


def changes_made(tmp_path: Path, source: Path, replace: bool) -> int:
    into, pool, count = tmp_path / "counting", tmp_path / "counting-pool", tmp_path / "count"
    into.mkdir()
    if replace:
        install_bundle(web(tmp_path, "first"), into, volumes=file_pool(pool), pool="files")
    assert not killed_at(10 ** 6, source, into, pool, replace, count)
    return int(count.read_text())


def killed_at(change: int, source: Path, into: Path, pool: Path, replace: bool, count_into: Path | None = None) -> bool:
    return install_killed_at(change, source, into, replace, count_into, volumes=file_pool(pool), pool="files")


def test_a_tar_bundles_image_is_unpacked_then_moved_onto_its_volume(tmp_path):
    source, pool = web(tmp_path, mib=1), tmp_path / "pool"
    archive = tmp_path / "web.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(source, arcname="web")
    folder = install_bundle(archive, tmp_path / "installed", volumes=file_pool(pool), pool="files")
    assert not (folder / "data.img").exists() and [d.pool for d in load_bundle(folder).disks] == ["files"]
    image = (source / "data.img").read_bytes()
    assert volume_of(pool)[:len(image)] == image and [p.name for p in pool.iterdir()] == ["sample-web.xvda.raw"]
