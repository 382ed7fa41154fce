"""Disk images checked and converted by the real qemu-img of this machine: images of each format made
here by qemu-img itself, and the hostile ones an import must refuse (a backing file or an extent out of
the package, a truncated image, a format its name does not say). The data store's LVM cannot run here
(no device-mapper): where an import goes to the `local` pool, LVM's answers are given at that boundary."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hypervisor import runner
from hypervisor.appliances import disk_images, importing
from hypervisor.appliances.disk_images import DiskImages, ImageRefused, Source
from hypervisor.appliances.manifest import load_bundle
from hypervisor.cli.main import main
from hypervisor.storage.pools import FilePool

MIB = 1024 * 1024
pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-utils (qemu-img) is not installed")
FORMATS = {"qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx", "img": "raw"}


def qemu_img(*argv: str) -> str:
    return subprocess.run(["qemu-img", *argv], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def raw(tmp_path) -> Path:
    """A 32 MiB disk holding 1 MiB of data at its start and a marker at 16 MiB; the rest a hole."""
    path = tmp_path / "source.raw"
    with open(path, "wb") as disk:
        disk.write(os.urandom(MIB))
        disk.seek(16 * MIB)
        disk.write(b"MARKER" * 100)
        disk.truncate(32 * MIB)
    return path


def image(raw: Path, folder: Path, suffix: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"disk.{suffix}"
    qemu_img("convert", "-f", "raw", "-O", FORMATS[suffix], str(raw), str(path))
    return path


def probe(path: Path, package: Path | None = None) -> disk_images.Image:
    return DiskImages().probe(Source(path.name, path, package=package or path.parent))


@pytest.mark.parametrize("suffix", FORMATS)
def test_each_format_is_read_with_the_format_its_name_says(raw, tmp_path, suffix):
    path = image(raw, tmp_path / "pkg", suffix)
    found = probe(path)
    assert found.format == FORMATS[suffix]
    assert 32 * MIB <= found.virtual_size < 33 * MIB      # a vhd's size is rounded to its disk geometry
    assert found.size_mib == -(-found.virtual_size // MIB)


def test_qemu_img_runs_under_a_memory_limit_with_the_format_given(raw, tmp_path):
    path = image(raw, tmp_path / "pkg", "qcow2")
    calls = []

    def recording(argv, **options):
        calls.append(list(argv))
        return runner.run(argv, **options)
    DiskImages(run=recording).probe(Source(path.name, path, package=path.parent))
    assert [call[:5] for call in calls] == [["prlimit", f"--as={1024 * MIB}", "--", "env", "MALLOC_ARENA_MAX=2"]] * 2
    assert [call[5:7] for call in calls] == [["qemu-img", "info"], ["qemu-img", "check"]]
    assert all(f"driver=qcow2,file.driver=file,file.filename={path}" in call for call in calls)


@pytest.mark.parametrize("made, named, says", [
    ("vmdk", "qcow2", "is named as a qcow2 image, but its contents are vmdk: rename it to disk.vmdk"),
    ("qcow2", "img", "is named as a raw image, but its contents are qcow2: rename it to disk.qcow2"),
    ("vhdx", "vhd", "is named as a vhd image, but its contents are vhdx: rename it to disk.vhdx"),
    ("img", "vmdk", "is named as a vmdk image, but its contents are raw: rename it to disk.img"),
])
def test_a_format_its_name_does_not_say_is_refused(raw, tmp_path, made, named, says):
    path = image(raw, tmp_path / "pkg", made)
    renamed = path.rename(path.with_suffix(f".{named}"))
    with pytest.raises(ImageRefused) as refused:
        probe(renamed)
    assert str(refused.value).startswith(f"disk.{named} {says} if it is one")


def test_a_name_that_is_no_image_name_is_refused(raw, tmp_path):
    path = image(raw, tmp_path / "pkg", "qcow2").rename(tmp_path / "pkg" / "disk.bin")
    with pytest.raises(ImageRefused, match=r"^disk.bin is not named as a disk image: name it after its format "
                                           r"\(.qcow2, .vmdk, .vhd, .vhdx, .img, .raw\)"):
        probe(path)


def test_a_backing_file_outside_the_package_is_refused(tmp_path):
    (tmp_path / "pkg").mkdir()
    path = tmp_path / "pkg" / "disk.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", "/etc/passwd", "-F", "raw", str(path))
    with pytest.raises(ImageRefused) as refused:
        probe(path)
    assert str(refused.value) == (f"disk.qcow2 names its backing file /etc/passwd, which is outside {tmp_path}/pkg: "
                                  "an imported image must carry all its data; convert it to one self-contained file "
                                  "first (qemu-img convert -O qcow2 ...), then import that")


def test_a_backing_file_beside_it_is_checked_too_and_read_with_its_format(raw, tmp_path):
    base = image(raw, tmp_path / "pkg", "qcow2").rename(tmp_path / "pkg" / "base.qcow2")
    top = tmp_path / "pkg" / "top.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", str(top))
    assert probe(top).virtual_size == 32 * MIB
    base.write_bytes(base.read_bytes()[:200_000])           # the backing file cut short
    with pytest.raises(ImageRefused, match=r"^base.qcow2 \(backing file of top.qcow2\) is damaged"):
        probe(top)
    # As older qemu-img wrote it, with no format for its backing file: the header extension that says the
    # format (magic 0xe2792aca) becomes the end of the extensions.
    header = bytearray(top.read_bytes())
    at = header.index(bytes.fromhex("e2792aca"), 0, 4096)
    header[at:at + 4] = bytes(4)
    top.write_bytes(bytes(header))
    with pytest.raises(ImageRefused, match="names its backing file base.qcow2 without its format"):
        probe(top)


def test_a_backing_chain_through_a_link_out_of_the_package_is_refused(raw, tmp_path):
    image(raw, tmp_path / "elsewhere", "qcow2")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "base.qcow2").symlink_to(tmp_path / "elsewhere" / "disk.qcow2")
    top = tmp_path / "pkg" / "top.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", str(top))
    with pytest.raises(ImageRefused, match=r"names its backing file base.qcow2, which is outside"):
        probe(top)


def test_a_vmdk_extent_outside_the_package_is_refused_before_qemu_img_opens_it(tmp_path):
    (tmp_path / "pkg").mkdir()
    descriptor = tmp_path / "pkg" / "disk.vmdk"
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", str(descriptor), "1M")
    descriptor.write_text(descriptor.read_text().replace('"disk-flat.vmdk"', '"/etc/shadow"'))
    calls = []
    with pytest.raises(ImageRefused, match=r"^disk.vmdk names its extent /etc/shadow, which is outside"):
        DiskImages(run=lambda argv, **options: calls.append(argv)).probe(
            Source(descriptor.name, descriptor, package=descriptor.parent))
    assert calls == []
    descriptor.write_text(descriptor.read_text().replace('"/etc/shadow"', '"disk-flat.vmdk"'))
    assert probe(descriptor).virtual_size == MIB            # its own extent, beside it, is fine


def test_a_qcow2_data_file_outside_the_package_is_refused(tmp_path):
    (tmp_path / "pkg").mkdir()
    path = tmp_path / "pkg" / "disk.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-o", f"data_file={tmp_path}/data.raw", str(path), "1M")
    with pytest.raises(ImageRefused, match=rf"names its external data file {tmp_path}/data.raw, which is outside"):
        probe(path)


@pytest.mark.parametrize("suffix, says", [
    ("qcow2", "disk.qcow2 is damaged: qemu-img check found "),
    ("vmdk", "disk.vmdk is damaged: qemu-img check found 1 error, the first: cluster offset for sector "),
    ("vhdx", "disk.vhdx cannot be read as a vhdx image"),
    ("vhd", "disk.vhd cannot be read as a vhd image (block-vpc: free_data_block_offset points after the end of file. "
            "The image has been truncated): it is damaged or cut short; copy it again from where it came from"),
])
def test_a_truncated_image_is_refused(raw, tmp_path, suffix, says):
    path = image(raw, tmp_path / "pkg", suffix)
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 3])
    with pytest.raises(ImageRefused) as refused:
        probe(path)
    assert str(refused.value).startswith(says)


def test_convert_onto_a_new_file_stays_sparse_and_says_its_progress(raw, tmp_path):
    source = image(raw, tmp_path / "pkg", "vmdk")
    found = probe(source)
    target = tmp_path / "out.raw"
    with open(target, "wb") as made:           # what FilePool.volume makes: a sparse file of the size
        made.truncate(found.size_mib * MIB)
    said = []
    DiskImages().convert(found, target, "raw", fresh=True, say=said.append)
    assert target.read_bytes()[:32 * MIB] == raw.read_bytes()
    assert target.stat().st_blocks * 512 < 4 * MIB       # 1 MiB of data and a marker, not 32 MiB
    assert said[0] == "converting disk.vmdk: 0% of 32 MiB" and said[-1] == "converting disk.vmdk: 100% of 32 MiB"
    assert len(said) <= 12


def test_convert_onto_a_volume_writes_its_zeros_over_what_was_there(raw, tmp_path):
    """A new LVM volume holds what an earlier volume left; here a file of 0xff stands for it."""
    found = probe(image(raw, tmp_path / "pkg", "qcow2"))
    volume = tmp_path / "volume"
    volume.write_bytes(b"\xff" * (32 * MIB))
    DiskImages().convert(found, volume, "raw", fresh=False, say=lambda line: None)
    assert volume.read_bytes() == raw.read_bytes()


def test_parsers_on_captured_qemu_img_output():
    info = parse = disk_images.parse_info(json.dumps({
        "virtual-size": 1048576, "filename": "d.vmdk", "format": "vmdk", "actual-size": 8192,
        "format-specific": {"type": "vmdk", "data": {"create-type": "monolithicFlat", "extents": [
            {"virtual-size": 1048576, "filename": "/tmp/qi/flat-flat.vmdk", "format": "FLAT"}]}},
        "dirty-flag": False}))
    assert (parse.format, info.virtual_size, info.extents, info.backing_file) == \
        ("vmdk", MIB, ("/tmp/qi/flat-flat.vmdk",), None)
    assert disk_images.progress("    (12.50/100%)") == 12.5 and disk_images.progress("junk") is None
    assert disk_images.check_problem(3, "Leaked cluster 5 refcount=1 reference=0") is None
    assert disk_images.check_problem(63, "qemu-img: This image format does not support checks") is None
    assert disk_images.check_problem(2, '{\n "corruptions": 64,\n "check-errors": 0\n}') == \
        "it has 64 corrupt clusters"
    assert disk_images.descriptor_extents('RW 2048 FLAT "a-flat.vmdk" 0\nRW 8 ZERO\nRDONLY 4 SPARSE "b.vmdk"') == \
        ["a-flat.vmdk", "b.vmdk"]
    assert disk_images.sniff(b"\0" * 512, b"conectix" + b"\0" * 504) == "vpc"      # a fixed vhd: footer only
    assert disk_images.guest_name("My Guest (1)") == "My-Guest-1" and disk_images.guest_name("...") == "imported"


def file_pool(tmp_path) -> importing.FileTarget:
    return importing.FileTarget("mine", FilePool(folder=tmp_path / "pool", problem=lambda: None))


def test_an_image_becomes_an_hvm_appliance_with_its_disk_a_volume_on_the_pool(raw, tmp_path):
    source = image(raw, tmp_path / "stick", "vhd")
    said = []
    done = importing.import_guest(importing.guest_from_image(source), tmp_path / "appliances", file_pool(tmp_path),
                                  said.append)
    manifest = load_bundle(done.folder)
    assert (manifest.name, manifest.type, manifest.boot.order) == ("disk", "hvm", ("disk",))
    disk = manifest.disks[0]
    assert (disk.pool, disk.target, disk.size_mib, disk.file) == ("mine", "xvda", done.disks[0].size_mib, None)
    assert sorted(p.name for p in done.folder.iterdir()) == ["appliance.toml"]     # no image on the settings fs
    volume = tmp_path / "pool" / "disk.xvda.raw"
    assert volume.read_bytes()[:32 * MIB] == raw.read_bytes()
    assert "checking disk.vhd" in said and "disk.vhd: vhd, 32 MiB" in said


class SmallPool(importing.FileTarget):
    def free(self) -> int:
        return 16 * MIB


def test_an_image_bigger_than_the_pool_is_refused_before_anything_is_written(raw, tmp_path):
    source = image(raw, tmp_path / "stick", "qcow2")
    target = SmallPool("mine", FilePool(folder=tmp_path / "pool", problem=lambda: None))
    with pytest.raises(importing.ImportRefused) as refused:
        importing.import_guest(importing.guest_from_image(source), tmp_path / "appliances", target)
    assert str(refused.value) == ("its disks need 32 MiB and pool mine has 16 MiB free: free some space there, or "
                                  "import onto another pool with --pool NAME")
    assert not (tmp_path / "appliances").exists() and not (tmp_path / "pool").exists()


def test_a_conversion_that_fails_removes_the_volume_it_made(raw, tmp_path):
    source = image(raw, tmp_path / "stick", "qcow2")

    class Failing(DiskImages):
        def convert(self, image, target, target_format, fresh, say):
            raise ImageRefused(f"{image.source.name} could not be converted onto {target}")
    with pytest.raises(ImageRefused):
        importing.import_guest(importing.guest_from_image(source), tmp_path / "appliances", file_pool(tmp_path),
                               images=Failing())
    assert list((tmp_path / "pool").iterdir()) == []
    assert not (tmp_path / "appliances" / "disk").exists()


def test_a_volume_left_by_an_earlier_appliance_is_not_written_over(raw, tmp_path):
    source = image(raw, tmp_path / "stick", "qcow2")
    (tmp_path / "pool").mkdir()
    (tmp_path / "pool" / "disk.xvda.raw").write_bytes(b"old guest's data")
    with pytest.raises(importing.ImportRefused, match=r"disk.xvda.raw already exists \(a volume of an earlier "
                                                      r"appliance disk\?\): delete it"):
        importing.import_guest(importing.guest_from_image(source), tmp_path / "appliances", file_pool(tmp_path))
    assert (tmp_path / "pool" / "disk.xvda.raw").read_bytes() == b"old guest's data"


VGS = json.dumps({"report": [{"vg": [{"vg_name": "xenbox", "vg_size": str(1 << 40), "vg_free": str(900 << 30),
                                      "vg_extent_size": str(4 * MIB), "pv_count": "1", "lv_count": "2",
                                      "vg_uuid": "u", "vg_missing_pv_count": "0"}]}]})
LVS = json.dumps({"report": [{"lv": [{"lv_name": name, "vg_name": "xenbox", "lv_size": str(size),
                                      "lv_path": f"/dev/xenbox/{name}", "lv_attr": "-wi-a-----", "lv_uuid": name,
                                      "devices": "/dev/sda(0)"} for name, size in
                                     (("data", 256 << 30), ("web.xvda", 8 << 30))]}]})


def lvm(argv, **options):
    """LVM's answers for a 1 TiB data store with 900 GiB free (the tools cannot run here)."""
    return {"vgs": VGS, "lvs": LVS}[argv[0]]


def test_the_local_pool_counts_the_data_stores_free_space_not_its_settings_filesystem():
    """Issue 17: a 100 GiB image fits a 1 TB data store with 900 GiB free."""
    target = importing.LocalTarget(run=lvm)
    assert target.free() == 900 << 30
    assert target.taken("web", "xvda") == "/dev/xenbox/web.xvda"
    assert target.taken("db", "xvda") is None


def test_the_cli_refuses_a_pool_that_cannot_be_used_and_says_why(raw, tmp_path, capsys):
    source = image(raw, tmp_path / "stick", "qcow2")
    assert main(["appliance", "import", str(source), "--pool", "files", "--into", str(tmp_path / "a")]) == 1
    assert capsys.readouterr().err == (f"xenbox: {source} was not imported: pool files cannot take its disks now: it "
                                       "is an image file on the data store, which is not mounted: set one up on the "
                                       "Storage screen (key t), or reattach its disks and reboot\n")


def test_the_cli_imports_an_image_and_prints_json(raw, tmp_path, capsys, monkeypatch):
    source = image(raw, tmp_path / "stick", "vmdk")
    monkeypatch.setattr(importing, "pool_target", lambda name: file_pool(tmp_path))      # a pool added by name
    assert main(["appliance", "import", str(source), "--name", "web", "--memory", "256", "--json",
                 "--into", str(tmp_path / "a")]) == 0
    out = capsys.readouterr()
    done = json.loads(out.out)
    assert (done["name"], done["type"], done["memory_mib"], done["folder"]) == ("web", "hvm", 256, f"{tmp_path}/a/web")
    assert done["disks"] == [{"target": "xvda", "pool": "mine", "size_mib": 32, "path": f"{tmp_path}/pool/web.xvda.raw",
                              "source": "disk.vmdk"}]
    assert "xenbox: converting disk.vmdk: 100% of 32 MiB" in out.err
    assert load_bundle(tmp_path / "a" / "web").memory.initial_mib == 256


def test_the_memory_limit_is_real_qemu_img_cannot_map_past_it(raw, tmp_path, monkeypatch):
    path = image(raw, tmp_path / "pkg", "qcow2")
    monkeypatch.setattr(disk_images, "MEMORY_LIMIT", 16 * MIB)
    with pytest.raises(ImageRefused, match=r"^disk.qcow2 cannot be read as a qcow2 image"):
        probe(path)


def test_an_image_that_is_a_link_out_of_its_folder_is_refused(raw, tmp_path):
    (tmp_path / "stick").mkdir()
    (tmp_path / "stick" / "disk.img").symlink_to("/etc/passwd")
    with pytest.raises(ImageRefused, match=rf"^disk.img is a link to /etc/passwd, outside {tmp_path}/stick: copy"):
        probe(tmp_path / "stick" / "disk.img")


def test_follow_hands_over_each_progress_piece_and_keeps_the_error_output():
    pieces = []
    runner.follow(["sh", "-c", r"printf '    (0.00/100%%)\r    (50.00/100%%)\r'; echo said >&2; echo done"],
                  pieces.append)
    assert pieces == ["    (0.00/100%)", "    (50.00/100%)", "done"]
    with pytest.raises(runner.CommandError) as failed:
        runner.follow(["sh", "-c", "echo 'qemu-img: Could not open x' >&2; exit 1"], pieces.append)
    assert (failed.value.returncode, failed.value.sentence) == (1, "qemu-img: Could not open x")
    with pytest.raises(runner.CommandError, match="sleep did not finish within 1 s"):
        runner.follow(["sleep", "30"], pieces.append, timeout=1)


def test_an_image_imported_as_pv_boots_its_own_grub_menu_with_pygrub(raw, tmp_path):
    source = image(raw, tmp_path / "stick", "qcow2")
    done = importing.import_guest(importing.guest_from_image(source, "web"), tmp_path / "appliances",
                                  file_pool(tmp_path), kind="pv")
    manifest = load_bundle(done.folder)
    assert (manifest.type, manifest.boot.bootloader, manifest.boot.kernel) == ("pv", "pygrub", None)
    with pytest.raises(importing.ImportRefused, match="--type pvh: an imported disk boots as hvm or pv"):
        importing.import_guest(importing.guest_from_image(source, "db"), tmp_path / "appliances",
                               file_pool(tmp_path), kind="pvh")
