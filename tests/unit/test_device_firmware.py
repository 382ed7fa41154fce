"""Device firmware and microcode for the image (firmware/device_firmware.py).

tests/fixtures/kernel/*.ko are real modules of Debian bookworm's linux-image-6.1.0-57-amd64 (rp2: a serial card,
e100: Intel's 10/100 NIC); *.modinfo-firmware.txt is what `modinfo -F firmware FILE.ko` (kmod 30) printed for them."""
from pathlib import Path

import pytest

from firmware.board import BOARDS, load_board
from firmware.device_firmware import (distinct_intel_updates, install_firmware, manifest, microcode_cpio, modinfo_firmware, newc_cpio,
                                      present_files, select, wanted_by_modules)
from firmware.run import BuildError

KERNEL = Path(__file__).parent.parent / "fixtures" / "kernel"
MICROCODE = Path(__file__).parent.parent / "fixtures" / "microcode"


@pytest.mark.parametrize("module", ["rp2", "e100"])
def test_firmware_names_are_read_from_a_real_module_as_modinfo_prints_them(module):
    expected = (KERNEL / f"{module}.modinfo-firmware.txt").read_text().split()
    assert modinfo_firmware((KERNEL / f"{module}.ko").read_bytes()) == expected
    assert expected    # both modules do name firmware


def test_a_file_that_is_no_module_is_refused():
    with pytest.raises(ValueError, match="ELF"):
        modinfo_firmware(b"#!/bin/sh\n")


def test_every_module_under_a_folder_is_read(tmp_path):
    (tmp_path / "drivers").mkdir()
    for module in ("rp2", "e100"):
        (tmp_path / "drivers" / f"{module}.ko").write_bytes((KERNEL / f"{module}.ko").read_bytes())
    wanted = wanted_by_modules(tmp_path)
    assert wanted["rp2.fw"] == ["rp2"]
    assert wanted["e100/d101m_ucode.bin"] == ["e100"]


def test_a_damaged_module_stops_the_build_naming_it(tmp_path):
    (tmp_path / "bad.ko").write_bytes((KERNEL / "rp2.ko").read_bytes()[:100])
    with pytest.raises(BuildError, match="bad.ko: cannot read its .modinfo"):
        wanted_by_modules(tmp_path)


def test_only_named_files_are_kept_with_what_their_symlinks_point_at_and_misses_listed():
    available = {"rtl_nic/rtl8168d-1.fw": None, "tigon/tg3.bin": None, "unused/big.bin": None,
                 "bnx2x/link.fw": "../bnx2x/real.fw", "bnx2x/real.fw": None, "qed/a.bin": None, "qed/b.bin": None}
    chosen = select(available, ["rtl_nic/rtl8168d-1.fw", "bnx2x/link.fw", "qed/*.bin", "acenic/tg1.bin"])
    assert chosen.keep == {"rtl_nic/rtl8168d-1.fw", "bnx2x/link.fw", "bnx2x/real.fw", "qed/a.bin", "qed/b.bin"}
    assert chosen.missing == ["acenic/tg1.bin"]
    text = manifest(chosen, {"rtl_nic/rtl8168d-1.fw": ["r8169"], "bnx2x/link.fw": ["bnx2x"],
                             "qed/*.bin": ["qed"], "acenic/tg1.bin": ["acenic", "acenic"]})
    assert "took rtl_nic/rtl8168d-1.fw r8169\n" in text
    assert "took qed/b.bin qed\n" in text
    assert text.endswith("missing acenic/tg1.bin acenic\n")


def newc_members(archive: bytes) -> dict[str, bytes]:
    """Read back a newc cpio the way the kernel's and Xen's find_cpio_data do: 110-byte headers, 4-byte padding."""
    members, at = {}, 0
    while True:
        assert archive[at:at + 6] == b"070701"
        size, namesize = int(archive[at + 54:at + 62], 16), int(archive[at + 94:at + 102], 16)
        name = archive[at + 110:at + 110 + namesize - 1].decode()
        at = (at + 110 + namesize + 3) & ~3
        if name == "TRAILER!!!":
            return members
        members[name] = archive[at:at + size]
        at = (at + size + 3) & ~3


def test_the_microcode_cpio_holds_each_intel_update_once_and_amds_files_where_xen_looks(tmp_path):
    intel, amd = (MICROCODE / "06-1d-01").read_bytes(), (MICROCODE / "microcode_amd_fam16h.bin").read_bytes()
    (tmp_path / "intel-ucode").mkdir()
    (tmp_path / "amd-ucode").mkdir()
    (tmp_path / "intel-ucode" / "06-1d-01").write_bytes(intel)
    (tmp_path / "intel-ucode" / "06-1d-02").write_bytes(intel)   # one update in two signatures' files
    (tmp_path / "amd-ucode" / "microcode_amd_fam16h.bin").write_bytes(amd)
    archive, sizes = microcode_cpio(tmp_path)
    members = newc_members(archive)
    assert members["kernel/x86/microcode/GenuineIntel.bin"] == intel
    assert members["kernel/x86/microcode/AuthenticAMD.bin"] == amd
    assert sizes == {"GenuineIntel.bin": len(intel), "AuthenticAMD.bin": len(amd)}
    assert len(archive) % 4 == 0


def test_a_damaged_intel_file_stops_the_build():
    intel = (MICROCODE / "06-1d-01").read_bytes()
    assert distinct_intel_updates(intel + intel) == [intel]
    with pytest.raises(BuildError, match="cut short"):
        distinct_intel_updates(intel[:-1])
    with pytest.raises(BuildError, match="no update header at byte 4096"):
        distinct_intel_updates(intel + b"junk")


def test_the_cpio_is_one_cpio_reads(tmp_path):
    """GNU cpio, a second reader, lists the same members."""
    import subprocess   # noqa: PLC0415 - a test-side check of the archive, not product code
    archive = newc_cpio([("kernel", None), ("kernel/x86/microcode/GenuineIntel.bin", b"abc")])
    (tmp_path / "u.cpio").write_bytes(archive)
    listed = subprocess.run(["cpio", "-it", "--quiet"], input=archive, capture_output=True, check=True).stdout
    assert listed.decode().split() == ["kernel", "kernel/x86/microcode/GenuineIntel.bin"]


def test_no_microcode_packages_stops_the_build_with_the_fix(tmp_path):
    with pytest.raises(BuildError, match="no CPU microcode") as error:
        microcode_cpio(tmp_path)
    assert "intel-microcode" in error.value.hint


def test_the_board_takes_firmware_and_microcode_from_non_free_firmware_and_xen_scans_for_it():
    board = load_board("pc")
    assert "non-free-firmware" in board.components
    assert {"intel-microcode", "amd64-microcode", "firmware-bnx2"} <= set(board.packages)
    assert board.xen_ucode == "ucode=scan"
    menu = (BOARDS / "pc" / "grub.cfg").read_text()
    entries = [entry.split("\n}", 1)[0] for entry in menu.split("\nmenuentry ")[1:]]    # each up to its closing }
    assert len(entries) == 5
    assert all(entry.rstrip().endswith("module2 --nounzip /boot/ucode.cpio") for entry in entries)


class FakeCtx:
    def __init__(self, root: Path):
        self.rootfs, self.iso_tree = root / "rootfs", root / "iso"


def test_the_step_keeps_named_files_writes_the_manifest_and_moves_microcode_out(tmp_path, capsys):
    ctx = FakeCtx(tmp_path)
    modules = ctx.rootfs / "usr/lib/modules/6.1.0-57-amd64/kernel"
    modules.mkdir(parents=True)
    (modules / "e100.ko").write_bytes((KERNEL / "e100.ko").read_bytes())
    fw = ctx.rootfs / "usr/lib/firmware"
    for name in ("e100/d101m_ucode.bin", "e100/d102e_ucode.bin", "brcm/unused.bin", "amd-ucode/microcode_amd.bin"):
        (fw / name).parent.mkdir(parents=True, exist_ok=True)
        (fw / name).write_bytes(b"x" * 10)
    (fw / "intel-ucode").mkdir()
    (fw / "intel-ucode" / "06-1d-01").write_bytes((MICROCODE / "06-1d-01").read_bytes())
    (ctx.iso_tree / "boot").mkdir(parents=True)
    install_firmware(ctx)
    assert set(present_files(fw)) == {"e100/d101m_ucode.bin", "e100/d102e_ucode.bin"}
    assert not (fw / "brcm").exists()
    text = (ctx.rootfs / "usr/share/xenbox/firmware-manifest.txt").read_text()
    assert "took e100/d101m_ucode.bin e100" in text and "missing e100/d101s_ucode.bin e100" in text
    assert "kernel/x86/microcode/GenuineIntel.bin" in newc_members((ctx.iso_tree / "boot/ucode.cpio").read_bytes())
    out = capsys.readouterr().out
    assert "firmware: took 2 files" in out and "missing 1: e100/d101s_ucode.bin" in out

