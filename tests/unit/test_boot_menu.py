"""The boot menu and QEMU launcher: Xen's serial keys stay off in every menu entry unless the
machine's firmware asks for them, and dom0 boots with SysRq off (both are ways around the console lock)."""
from pathlib import Path

from firmware.board import BOARDS, load_board
from firmware.qemu import XEN_KEYS_SKU, Machine

MENU = (BOARDS / "pc" / "grub.cfg").read_text()


def test_every_menu_entry_boots_xen_with_its_serial_keys_setting():
    xen_lines = [line.split() for line in MENU.splitlines() if line.strip().startswith("multiboot2")]
    assert len(xen_lines) == MENU.count("menuentry ")
    assert all(words[-1] == "$xen_keys" for words in xen_lines), xen_lines


def test_the_keys_are_off_unless_the_firmware_names_the_sku_qemu_sets(tmp_path):
    assert "set xen_keys='conswitch=`'" in MENU
    assert f'if [ "$sku" = "{XEN_KEYS_SKU}" ]; then set xen_keys=""; fi' in MENU
    assert "-smbios" not in Machine(iso=Path("x.iso")).argv(tmp_path)
    argv = Machine(iso=Path("x.iso"), xen_serial_keys=True).argv(tmp_path)
    assert argv[argv.index("-smbios") + 1] == f"type=1,sku={XEN_KEYS_SKU}"


def test_dom0_boots_with_sysrq_off_in_every_entry():
    board = load_board("pc")
    for cmdline in (board.dom0_cmdline, board.dom0_headless_cmdline):
        assert "sysctl.kernel.sysrq=0" in cmdline.split()
