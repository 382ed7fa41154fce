"""Issue 21's boot-time figure (bench/firmware_boot.py): the baseline ISO is remade for real from a small ISO
made here (xorriso, unsquashfs, mksquashfs, cpio: the tools the bench uses); the boots themselves need a built
ISO (`python -m bench --only firmware-boot`), and the figures from what they measured are pure arithmetic."""
import subprocess
from pathlib import Path

import pytest

from bench import firmware_boot
from bench.firmware_boot import PROFILE, Rounds, figures, volume_id, without_firmware
from bench.measure import Run


def run(times: dict) -> Run:
    return Run(PROFILE, times, {}, None, None, None, Path("boot.log"))


def small_iso(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "usr/lib/firmware/bnx2").mkdir(parents=True)
    (root / "usr/lib/firmware/bnx2/bnx2-mips-09-6.2.1b.fw").write_bytes(b"firmware" * 1000)
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("xenbox\n")
    tree = tmp_path / "tree"
    (tree / "live").mkdir(parents=True)
    (tree / "boot/grub/i386-pc").mkdir(parents=True)
    (tree / "boot/grub/grub.cfg").write_text("menuentry XenBox {}\n")
    (tree / "boot/grub/i386-pc/normal.mod").write_bytes(b"an older GRUB's module")
    subprocess.run(["mksquashfs", root, tree / "live/rootfs.squashfs", "-quiet", "-noappend"], check=True)
    (tree / "boot/ucode.cpio").write_bytes(b"microcode" * 1000)
    (tree / "live/build-id").write_text("20261207-test\n")
    iso = tmp_path / "xenbox.iso"
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-R", "-V", "XENBOX_BOOT", "-o", iso, tree], check=True)
    return iso


def files_of(iso: Path, folder: Path) -> Path:
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", folder], check=True,
                   capture_output=True)
    root = folder / "root"
    subprocess.run(["unsquashfs", "-quiet", "-d", root, folder / "live/rootfs.squashfs"], check=True,
                   capture_output=True)
    return root


def test_the_baseline_iso_is_the_same_less_firmware_and_microcode(tmp_path):
    iso = small_iso(tmp_path)
    baseline = without_firmware(iso, tmp_path / "work")
    root = files_of(baseline, tmp_path / "baseline")
    assert not (root / "usr/lib/firmware").exists()
    assert (root / "etc/hostname").read_text() == "xenbox\n"
    assert (tmp_path / "baseline/live/build-id").read_text() == "20261207-test\n"    # the initramfs still finds it
    assert volume_id(baseline) == "XENBOX_BOOT"
    assert (tmp_path / "baseline/boot/grub/grub.cfg").read_text() == "menuentry XenBox {}\n"
    assert (tmp_path / "baseline/boot/grub/i386-pc/normal.mod").read_bytes() != b"an older GRUB's module"  # remade
    ucode = (tmp_path / "baseline/boot/ucode.cpio").read_bytes()
    assert b"TRAILER!!!" in ucode and b"microcode" not in ucode     # a module GRUB loads, holding nothing
    listed = subprocess.run(["cpio", "-it", "--quiet"], input=ucode, capture_output=True, check=True).stdout
    assert listed == b""
    assert files_of(iso, tmp_path / "original").joinpath("usr/lib/firmware/bnx2").is_dir()     # untouched


def test_each_span_is_the_median_against_the_baseline_within_its_own_spread():
    with_firmware = [run({"grub": 2.0, "xen": 6.0, "ready": 40.0}), run({"grub": 2.0, "xen": 6.5, "ready": 41.0}),
                     run({"grub": 2.0, "xen": 6.0, "ready": 39.0})]
    without = [run({"grub": 2.0, "xen": 5.5, "ready": 38.0}), run({"grub": 2.0, "xen": 5.5, "ready": 41.5}),
               run({"grub": 2.0, "xen": 5.5, "ready": 39.5})]
    rows = {row.key: row for row in figures(Rounds(with_firmware, without, Path("without.iso")))}
    ready = rows["firmware_qemu_to_ready"]
    assert (ready.floor, ready.xenbox) == (39.5, 40.0)
    assert ready.limit == pytest.approx(39.5 + 3.5) and ready.met          # the baseline's own boots spread 3.5 s
    grub = rows["firmware_grub_to_xen"]
    assert (grub.floor, grub.xenbox) == (3.5, 4.0)
    assert grub.limit == 3.5 and grub.met is False         # the baseline never varied: half a second is not noise
    assert rows["firmware_xen_to_ready"].floor == pytest.approx(34.0)


def test_a_boot_that_never_reached_a_milestone_is_left_out_and_nothing_measured_is_nothing():
    rows = figures(Rounds([run({"grub": 2.0, "xen": None, "ready": None})], [run({"grub": 2.0, "xen": 5.0,
                                                                                  "ready": 30.0})], Path("w.iso")))
    assert all(row.xenbox is None and row.met is None for row in rows)
    assert all(row.floor is None and row.xenbox is None for row in figures(None))


def test_the_boots_alternate_with_the_firmware_first(tmp_path, monkeypatch):
    booted = []
    monkeypatch.setattr(firmware_boot, "without_firmware", lambda iso, work: work / "without.iso")
    monkeypatch.setattr(firmware_boot, "boot", lambda profile, iso, log: booted.append((iso.name, log.name)) or run({}))
    firmware_boot.measure(tmp_path / "xenbox.iso", tmp_path, tmp_path / "logs", 2)
    assert booted == [("xenbox.iso", "with-firmware-1.serial.log"), ("without.iso", "without-firmware-1.serial.log"),
                      ("xenbox.iso", "with-firmware-2.serial.log"), ("without.iso", "without-firmware-2.serial.log")]
