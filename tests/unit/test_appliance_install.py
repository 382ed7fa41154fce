"""Installing an appliance bundle: real folders, files and tars in a temporary folder."""
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from hypervisor.appliances import install
from hypervisor.appliances.install import InstallError, copy_file, install_bundle
from hypervisor.cli.main import build_parser
from hypervisor.settings.problems import FileProblems
from hypervisor.xen.xl import Xl

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"
MIB = 1024 * 1024


class Clock:
    """Each reading one second later: every chunk copied is worth a progress line."""
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def bundle_with_a_disk(tmp_path, mib=40, sparse_mib=0) -> Path:
    bundle = tmp_path / "source" / "web"
    shutil.copytree(SAMPLE, bundle)
    with open(bundle / "disk.img", "wb") as disk:
        disk.write(os.urandom(mib * MIB))
        disk.truncate((mib + sparse_mib) * MIB)
    return bundle


def test_a_bundle_is_copied_whole_with_progress_for_its_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(install, "CHUNK", 8 * MIB)
    bundle, said = bundle_with_a_disk(tmp_path), []
    folder = install_bundle(bundle, tmp_path / "installed", said.append, clock=Clock())
    assert folder == tmp_path / "installed" / "sample-web"          # named by its manifest, not its folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in bundle.iterdir())
    assert (folder / "disk.img").read_bytes() == (bundle / "disk.img").read_bytes()
    progress = [line for line in said if line.startswith("copying disk.img")]
    assert progress[0].startswith("copying disk.img: 8 MiB of 40 MiB (20%), ")
    assert progress[-1].startswith("copying disk.img: 40 MiB of 40 MiB (100%), ")
    assert said[-1].startswith("copied disk.img: 40 MiB in ")
    assert [p.name for p in (tmp_path / "installed").iterdir()] == ["sample-web"]      # no staging left


def test_holes_in_an_image_stay_holes(tmp_path):
    bundle = bundle_with_a_disk(tmp_path, mib=1, sparse_mib=500)
    folder = install_bundle(bundle, tmp_path / "installed")
    copied = (folder / "disk.img").stat()
    assert copied.st_size == 501 * MIB and copied.st_blocks * 512 < 4 * MIB


def test_a_bundle_with_a_bad_manifest_changes_nothing(tmp_path):
    bundle = bundle_with_a_disk(tmp_path)
    (bundle / "appliance.toml").write_text('name = "web"\ntype = "vm"\n')
    with pytest.raises(FileProblems, match="type"):
        install_bundle(bundle, tmp_path / "installed")
    assert list((tmp_path / "installed").iterdir()) == []


def test_an_installed_appliance_is_replaced_only_when_asked(tmp_path):
    bundle = bundle_with_a_disk(tmp_path, mib=1)
    into = tmp_path / "installed"
    install_bundle(bundle, into)
    (into / "sample-web" / "kept").write_text("the operator's")
    with pytest.raises(InstallError, match=f"appliance sample-web is already installed in {into}/sample-web: "
                                           "remove it first, or add it again with --replace"):
        install_bundle(bundle, into)
    assert (into / "sample-web" / "kept").exists()
    install_bundle(bundle, into, replace=True)
    assert not (into / "sample-web" / "kept").exists()


def test_a_bundle_bigger_than_the_free_space_is_refused_before_any_copy(tmp_path, monkeypatch):
    bundle = bundle_with_a_disk(tmp_path, mib=2)
    monkeypatch.setattr(install.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 * MIB, 9 * MIB, MIB))
    with pytest.raises(InstallError, match=r"needs [\d.]+ MiB and .*installed has 1 MiB free: free some space"):
        install_bundle(bundle, tmp_path / "installed")
    assert list((tmp_path / "installed").iterdir()) == []


def test_a_tar_bundle_is_unpacked_and_its_autostart_changed_when_asked(tmp_path):
    bundle = bundle_with_a_disk(tmp_path, mib=1)
    archive = tmp_path / "web.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(bundle, arcname="web")
    folder = install_bundle(archive, tmp_path / "installed", autostart={"enabled": False, "order": 7})
    assert "[autostart]\nenabled = false\norder = 7" in (folder / "appliance.toml").read_text()


def test_a_file_that_is_not_a_tar_is_named(tmp_path):
    junk = tmp_path / "web.tar"
    junk.write_text("not a tar")
    with pytest.raises(InstallError, match="web.tar cannot be read as a tar archive"):
        install_bundle(junk, tmp_path / "installed")


def test_small_files_are_copied_without_progress_lines(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 1000)
    said = []
    copy_file(tmp_path / "a", tmp_path / "b", said.append)
    assert said == [] and (tmp_path / "b").read_bytes() == b"x" * 1000


def test_xenbox_appliance_add(tmp_path, capsys, monkeypatch):
    """Its image goes onto a volume on the data store, which this host has not: a real file pool stands in
    (test_appliance_add_volumes.py)."""
    from hypervisor.appliances import importing
    from hypervisor.storage.pools import FilePool
    monkeypatch.setattr(importing, "pool_target", lambda name: importing.FileTarget(
        name, FilePool(folder=tmp_path / "volumes", problem=lambda: None)))
    bundle = bundle_with_a_disk(tmp_path, mib=1)
    args = build_parser().parse_args(["appliance", "add", str(bundle), "--into", str(tmp_path / "installed")])
    assert args.handler(args, Xl(run=None)) == 0
    assert "added appliance sample-web in" in capsys.readouterr().out
    assert args.handler(args, Xl(run=None)) == 1
    assert "was not added: appliance sample-web is already installed" in capsys.readouterr().err
    args = build_parser().parse_args(["appliance", "add", str(tmp_path / "nope"), "--into", str(tmp_path)])
    assert args.handler(args, Xl(run=None)) == 3


def test_between_filesystems_the_kernel_refuses_it_is_read_and_written(tmp_path, monkeypatch):
    """The boot medium (ISO 9660) or a FAT stick to ext4: copy_file_range says EXDEV."""
    def refused(*args):
        raise OSError(18, "Invalid cross-device link")
    monkeypatch.setattr(install.os, "copy_file_range", refused)
    (tmp_path / "a").write_bytes(os.urandom(3 * MIB))
    copy_file(tmp_path / "a", tmp_path / "b", lambda line: None)
    assert (tmp_path / "b").read_bytes() == (tmp_path / "a").read_bytes()
