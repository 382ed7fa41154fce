"""The serial console's port and speed: one word (com2,115200) on the kernel command line, in an answer file,
and in the GRUB environment block the boot menu reads from the data store. GRUB's own tools (grub-common,
a host test package) read the block and check the menu's script, since GRUB itself cannot run here."""
import argparse
import re
import subprocess

import pytest

from firmware.board import BOARDS, load_board
from hypervisor.answer import apply as answer_apply
from hypervisor.answer.parse import AnswerError, parse_answer
from hypervisor.answer.summary import summary
from hypervisor.cli.host import add_commands
from hypervisor.host import serial_port
from hypervisor.host.serial_port import SerialPort, SerialPortError, env_block, keep, kept, parse_serial, running
from hypervisor.storage import DATA_LV, VG_NAME
from hypervisor.storage.datastore import DataStore

MENU = (BOARDS / "pc" / "grub.cfg").read_text()


def grub_tool(*argv: str) -> str:
    """A GRUB host tool, run directly: a test of our output against GRUB's own reader, not product code."""
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def test_port_and_speed_are_one_word_and_anything_else_says_how_to_write_it():
    assert parse_serial("com2,115200") == SerialPort("com2", 115200)
    assert parse_serial(" COM1 , 9600 ").word == "com1,9600"
    assert str(parse_serial("com2,57600")) == "COM2 at 57600 baud"
    with pytest.raises(SerialPortError, match=r"^is not PORT,SPEED: write the port \(com1 or com2\) and a speed "
                                              r"\(9600, 19200, 38400, 57600, 115200\), for example com2,115200$"):
        parse_serial("ttyS1")
    with pytest.raises(SerialPortError, match="^names com3, which the boot menu does not offer"):
        parse_serial("com3,115200")
    with pytest.raises(SerialPortError, match="^has a speed of 250000, which the boot menu does not offer"):
        parse_serial("com2,250000")


def test_the_boot_menu_takes_the_same_ports_and_speeds():
    pattern = re.search(r"regexp .*'(\^.*\$)' \"\$xenbox_serial\"", MENU)[1]
    speeds = re.search(r"\(([0-9|]+)\)", pattern)[1].split("|")
    assert [int(s) for s in speeds] == list(serial_port.SPEEDS)
    assert "(com[12])" in pattern and f"set xenbox_serial={serial_port.DEFAULT}" in MENU


def test_every_menu_entry_gives_xen_the_chosen_port_and_dom0_the_word(tmp_path):
    entries = re.findall(r'menuentry "([^"]+)"[^{]*\{(.*?)\n\}', MENU, re.S)
    assert len(entries) == MENU.count("menuentry ") == 5
    for title, body in entries:
        xen = next(line.split() for line in body.splitlines() if line.strip().startswith("multiboot2"))
        assert any(word.startswith("console=$xenbox_com") for word in xen) and "$xen_serial" in xen, title
        assert not any(re.match(r"(console=com|com[12]=)", word) for word in xen), title
        dom0 = next(line for line in body.splitlines() if "module2 /boot/vmlinuz" in line)
        assert "xenbox.serial=$xenbox_serial" in dom0.split(), title
    com2 = dict(entries)[next(t for t, _ in entries if "COM2" in t)]
    assert [line.strip() for line in com2.strip().splitlines()[:2]] == ["set xenbox_serial=com2,115200",
                                                                        "xenbox_serial_port"]
    board = load_board("pc")       # the board's own Xen options leave the console to the menu
    assert not re.search(r"console=|com[12]=", board.xen_cmdline + board.xen_headless_cmdline)
    assert re.search(r'\(console on COM2\)" --id com2 --hotkey=2', MENU)
    # GRUB's own parser accepts the whole script (the build fills the @NAME@ placeholders with words).
    script = tmp_path / "grub.cfg"
    script.write_text(re.sub(r"@[A-Z0-9_]+@", "x", MENU))
    subprocess.run(["grub-script-check", str(script)], check=True)


def test_the_kept_choice_is_a_block_grub_reads_and_only_its_one_variable_is_loaded(tmp_path):
    path = tmp_path / "config" / "boot.env"
    assert kept(path) is None
    keep(parse_serial("com2,57600"), path)
    assert len(path.read_bytes()) == 1024
    assert grub_tool("grub-editenv", str(path), "list") == "xenbox_serial=com2,57600\n"
    assert kept(path) == SerialPort("com2", 57600)
    assert "load_env --file (lvm/xenbox-data)/config/boot.env xenbox_serial\n" in MENU
    assert (VG_NAME, DATA_LV) == ("xenbox", "data")     # GRUB's name of the data store's volume: lvm/VG-LV
    # A block GRUB's own tool wrote, with another value: read the same way.
    grub_tool("grub-editenv", str(path), "set", "xenbox_serial=com1,9600")
    assert kept(path) == SerialPort("com1", 9600)
    grub_tool("grub-editenv", str(path), "set", "xenbox_serial=com7,9600")
    with pytest.raises(SerialPortError, match=rf"^'com7,9600' in {path} names com7"):
        kept(path)
    path.write_text("xenbox_serial=com2,115200\n")
    with pytest.raises(SerialPortError, match="is not a GRUB environment block; write it again with"):
        kept(path)


def test_dom0_reads_the_port_it_booted_with_from_its_command_line(tmp_path):
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("console=tty1 console=hvc0 quiet xenbox.serial=com2,38400 xenbox.build=x\n")
    assert running(cmdline) == SerialPort("com2", 38400)
    cmdline.write_text("console=hvc0 quiet\n")
    assert running(cmdline) == SerialPort("com1", 115200)


def test_an_answer_file_keeps_the_port_when_there_is_a_data_store(tmp_path, monkeypatch):
    answer = parse_answer('[console]\nserial = "com2,115200"\n', "answer.toml")
    assert answer.serial == SerialPort("com2", 115200)
    assert summary(answer)[-1] == "serial console: COM2 at 115200 baud, from the next boot on"
    with pytest.raises(AnswerError) as refused:
        parse_answer('[console]\nserial = "com2,115201"\n', "answer.toml")
    assert [str(p) for p in refused.value.problems] == [
        "console.serial = 'com2,115201': has a speed of 115201, which the boot menu does not offer: write the port "
        "(com1 or com2) and a speed (9600, 19200, 38400, 57600, 115200), for example com2,115200"]
    boot_env = tmp_path / "store" / "config" / "boot.env"
    monkeypatch.setattr(answer_apply, "keep_serial", lambda choice: keep(choice, boot_env))
    mounts = tmp_path / "mounts"
    mounts.write_text("proc /proc proc rw 0 0\n")
    said = []
    answer_apply._console(answer, DataStore(mountpoint=tmp_path / "store", mounts=mounts), said.append)
    assert said[-1] == "answer file: the serial console on COM2 at 115200 baud is not kept: there is no data store to keep it on"
    assert not boot_env.exists()
    mounts.write_text(f"/dev/mapper/xenbox-data {tmp_path / 'store'} ext4 rw 0 0\n")
    answer_apply._console(answer, DataStore(mountpoint=tmp_path / "store", mounts=mounts), said.append)
    assert said[-1] == "answer file: serial console kept on COM2 at 115200 baud: the boot menu uses it from the next boot on"
    assert kept(boot_env) == SerialPort("com2", 115200)


def cli(argv, tmp_path, capsys, mounted: bool):
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers())
    args = parser.parse_args(["host", "serial", *argv])
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/mapper/xenbox-data {tmp_path} ext4 rw 0 0\n" if mounted else "")
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("console=hvc0 xenbox.serial=com1,115200\n")
    code = args.handler(args, None, DataStore(mountpoint=tmp_path, mounts=mounts), tmp_path / "boot.env", cmdline)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_command_shows_and_keeps_the_port(tmp_path, capsys):
    assert cli([], tmp_path, capsys, True) == (
        0, "this boot    COM1 at 115200 baud\nnext boots   COM1 at 115200 baud (nothing kept: the boot menu default)\n", "")
    code, _, err = cli(["com2,57600"], tmp_path, capsys, False)
    assert code == 1 and "this host has none mounted" in err and not (tmp_path / "boot.env").exists()
    code, _, err = cli(["com2,5760"], tmp_path, capsys, True)
    assert code == 2 and err.startswith("xenbox: serial port 'com2,5760' has a speed of 5760")
    code, out, _ = cli(["com2,57600"], tmp_path, capsys, True)
    assert code == 0 and "COM2 at 57600 baud from the next boot on" in out
    assert cli([], tmp_path, capsys, True)[1] == "this boot    COM1 at 115200 baud\nnext boots   COM2 at 57600 baud\n"
