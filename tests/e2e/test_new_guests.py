"""New HVM guests made with `xenbox appliance create` from an ISO of the ISO library, on one booted host:
a BIOS (SeaBIOS) guest booting a real rescue ISO that nobody here built (Debian's grub-rescue-pc) and a UEFI
(OVMF) guest built beside it, then the CD ejected from the running guest and kept ejected across a restart, in
which the guest boots from its disk. Last, a guest boots from the disc in the host's own second CD drive.

The host gets a blank disk for its data store, a stick holding the ISO and a small script (new_guests/
hvm.py) that reads Xen, the device model's process and QEMU's monitor (QMP) in dom0, and a second CD drive
holding the same ISO (the first holds XenBox).
One machine serves every test here, in order: each step leaves the host as the next expects.
"""
import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from machine import Shell, booted, leave_first_boot_for_later, pv_drivers, wait_for_console, run_ok as run

RESCUE_ISO = Path("/usr/lib/grub-rescue/grub-rescue-cdrom.iso")     # Debian's grub-rescue-pc (ci/host-packages.txt)
ISO = RESCUE_ISO.name
SCRIPT = Path(__file__).parent / "new_guests" / "hvm.py"
STICK = "/mnt/stick"
# Shell variables set once: a long typed line loses characters on the serial line (XEN-NOTES).
SHORT = f"I={ISO}; H='python3 {STICK}/hvm.py'; C='xenbox appliance create'"
HVM = "$H"
APPLIANCES = "/var/lib/xenbox/appliances"
GRUB_READ = 256 * 1024  # bytes read from the CD once GRUB runs from it
TEXT_MODE = (720, 400)  # VGA's 80x25 text mode, as QEMU's screendump draws it
GUEST_START = 600       # xl create, the device model and the firmware, under TCG on a busy machine


def stick(folder: Path) -> Path:
    content = folder / "content"
    content.mkdir()
    (content / ISO).write_bytes(RESCUE_ISO.read_bytes())
    (content / "hvm.py").write_text(SCRIPT.read_text())
    image = folder / "stick.img"
    with open(image, "wb") as disk:
        disk.truncate(32 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "ISOS", "-d", str(content), str(image)], check=True)
    return image


@pytest.fixture(scope="module")
def shell(iso, tmp_path_factory):
    if not RESCUE_ISO.is_file():
        pytest.fail(f"{RESCUE_ISO} is missing: install grub-rescue-pc (make deps does, from ci/host-packages.txt)")
    folder = tmp_path_factory.mktemp("new-guests")
    data = folder / "data.img"
    with open(data, "wb") as disk:
        disk.truncate(2048 * 1024 * 1024)
    with booted(iso, "new-guests", disks=[data, stick(folder)], cdroms=[RESCUE_ISO]) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        with Shell(console) as shell:
            shell.run("xl destroy sample-web 2>/dev/null; true", 120)     # its CPU is the new guests'
            shell.run(SHORT)
            yield shell


def pause_the_nested_guest(shell, name: str) -> None:
    """Once the test has seen the guest's firmware and GRUB at work, its vCPU is paused for the rest. Twice in
    clean CI runs this host (Xen and dom0 under TCG, beside another emulated machine) froze for good while an
    HVM guest sat in GRUB and dom0 worked its device model (a screendump, a cd-insert): typed keys unechoed,
    the console's clock stopped. Bookworm's QEMU emulates AMD-V for the nested guest; a suspect is its VMRUN,
    which sets a bit of the vCPU's interrupt word without the lock that other threads take to set theirs.
    Not XenBox's to fix; a paused guest runs no VMRUN. Its device model, which the next steps talk to, runs on."""
    run(shell, f"xl pause {name}")


def gone(shell, name: str) -> None:
    """The guest destroyed, or found gone already: under this host's emulated AMD-V a nested guest in GRUB
    has triple-faulted on its own (Xen's log: "Triple fault - invoking HVM shutdown action"), and then
    Xen's destroy races the test's. What the test asserts about the guest came before."""
    run(shell, f"xl destroy {name} >/dev/null 2>&1; ! xl domid {name} >/dev/null 2>&1")


def last_json(said: str) -> dict:
    """The script's one JSON line (the console may have printed kernel messages around it)."""
    return json.loads([line for line in said.splitlines() if line.startswith("{")][-1])


def guest(shell, name: str) -> dict:
    return last_json(run(shell, f"{HVM} show {name}", 120))


def cd_of(found: dict) -> dict:
    """The CD drive among what QEMU's query-block lists (ide1-cd0, say)."""
    removable = [block for block in found["blocks"] if block["removable"]]
    return next((block for block in removable if "cd" in (block["device"] or "")), removable[0])


def disk_of(found: dict) -> dict:
    """The guest's one hard disk, its volume on the data store, among what QEMU's query-block lists (which also
    has the CD drive's PV backend, a xen-block device holding the ISO)."""
    disks = [block for block in found["blocks"] if not block["removable"] and (block["file"] or "").startswith("/dev/")]
    assert len(disks) == 1, found["blocks"]
    return disks[0]


def test_an_iso_on_a_stick_joins_the_iso_library(shell):
    run(shell, "xenbox storage init /dev/vda", 600)
    run(shell, f"mkdir -p {STICK} && mount -o ro /dev/vdb {STICK}")
    digest = hashlib.sha256(RESCUE_ISO.read_bytes()).hexdigest()
    said = run(shell, f"xenbox iso add {STICK}/$I --sha256 {digest}", 300)
    assert f"added {ISO} to the ISO library (pool files" in said
    listed = json.loads(run(shell, "xenbox iso list --json"))
    assert listed == [{"name": ISO, "pool": "files", "path": f"/var/lib/xenbox/images/isos/{ISO}",
                       "size": RESCUE_ISO.stat().st_size, "used_by": []}]


def test_a_bios_guest_boots_the_iso(shell):
    said = run(shell, "$C bios-cd --iso $I --disk-size 64M --memory 128 --windows", GUEST_START)
    assert "bios-cd created and started" in said
    found = guest(shell, "bios-cd")
    assert found["running"] and set(found["state"]) <= set("rb-"), found       # not paused, stopped or crashed
    assert found["device_model"] and "xen-qemu-system-i386" in found["device_model"][0], found
    assert found["bios"] != "ovmf"
    assert cd_of(found)["file"] == f"/var/lib/xenbox/images/isos/{ISO}"
    # SeaBIOS reads the CD's boot catalog and El Torito image (tens of KiB); GRUB, booted, reads its modules
    deadline = time.monotonic() + 300
    while ((cd := cd_of(guest(shell, "bios-cd")))["read"] or 0) < GRUB_READ and time.monotonic() < deadline:
        time.sleep(5)
    assert (cd["read"] or 0) >= GRUB_READ, f"GRUB never read its modules from the CD: {cd}"
    pause_the_nested_guest(shell, "bios-cd")
    # What SeaBIOS and GRUB drew stays in the guest's video memory, which the device model reads.
    screen = last_json(run(shell, f"{HVM} screen bios-cd 300 {TEXT_MODE[0]}x{TEXT_MODE[1]}", 400))
    assert screen["colours"] > 1, f"the guest's screen stayed blank: {screen}"
    assert (screen["width"], screen["height"]) == TEXT_MODE, screen     # SeaBIOS, then GRUB, in VGA text mode
    # GRUB has no PV drivers: the guest's disk stays QEMU's emulated one, its frontend never connected
    drivers = pv_drivers(shell, "bios-cd")
    assert drivers["summary"] == "no PV drivers (emulated devices)" and drivers["disks"]["devices"] == 1, drivers


def test_a_uefi_guest_is_built_with_ovmf(shell):
    """Built, not run: Debian bookworm's QEMU 7.2 (the machine emulating this host) aborts when a 64-bit guest
    of a guest writes CR8 under its emulated AMD-V (target/i386 helper_write_crN calls cpu_interrupt without
    QEMU's big lock: "tcg_handle_interrupt: assertion failed"), and OVMF does within seconds. SeaBIOS and
    GRUB run in 32-bit mode and never do. So libxl builds the guest paused: hvmloader with OVMF.fd loaded
    (libxl refuses to build it without the file), its device model up, its disks on AHCI."""
    said = run(shell, "$C uefi-cd --iso $I --firmware uefi --disk-bus ahci --nic-model rtl8139 --pool files "
                      "--disk-size 256M --memory 192 --no-start", GUEST_START)
    assert "uefi-cd created in" in said
    said = shell.run("xenbox appliance start --paused uefi-cd", GUEST_START)
    if shell.status != 0 and "rc=-9" in said:
        # ERROR_TIMEDOUT: libxl 4.17 gives the device model fixed limits (60 s to start, 10 s per QMP command),
        # which this host under TCG missed once on a loaded 2-core machine. One more try; the first is printed.
        print(f"uefi-cd: libxl timed out, trying once more: {said}")
        said = shell.run("xenbox appliance start --paused uefi-cd", GUEST_START)
    assert shell.status == 0 and "started, paused" in said, said
    found = guest(shell, "uefi-cd")
    assert found["running"] and "p" in found["state"] and found["device_model"], found
    assert (found["bios"], found["hdtype"]) == ("ovmf", "ahci"), found
    argv = " ".join(found["device_model"])
    assert "-device rtl8139,id=nic0" in argv and "-device ahci,id=ahci0" in argv, argv
    assert cd_of(found)["file"] == f"/var/lib/xenbox/images/isos/{ISO}"
    run(shell, "xl destroy uefi-cd")        # its manifest still has the ISO


def test_the_cd_is_ejected_and_inserted_in_the_running_guest_and_stays_out(shell):
    # The guest's vCPU is paused (by the test before) while its CD changes; its device model (QEMU in dom0),
    # which does the change, runs on. Once, in a clean CI run, GRUB triple-faulted in the seconds of a cd-eject
    # (CPUID, 32-bit protected mode) under this host's emulated AMD-V, which does not run a nested guest
    # reliably under load.
    said = run(shell, "xenbox appliance cd-eject bios-cd")
    assert "CD ejected from hdc (the guest's drive now" in said
    assert cd_of(guest(shell, "bios-cd"))["file"] is None
    run(shell, "xenbox appliance cd-insert bios-cd $I")
    # libxl hands QEMU the inserted ISO as an open file (/dev/fdset/N), not by its name
    assert cd_of(guest(shell, "bios-cd"))["file"] is not None
    assert run(shell, f"grep -c isos/$I {APPLIANCES}/bios-cd/appliance.toml").strip() == "1"
    assert json.loads(run(shell, "xenbox iso list --json"))[0]["used_by"] == ["bios-cd", "uefi-cd"]
    run(shell, "xenbox appliance cd-eject bios-cd")
    refused = shell.run("xenbox iso delete $I")
    assert shell.status == 1 and f"{ISO} is the CD of appliance uefi-cd: eject it first" in refused
    # What an installer leaves behind: its new disk made bootable. The rescue ISO is a hybrid image that also
    # boots as a disk (Debian ships it as grub-rescue-usb.img too), written here from dom0 while the guest is down.
    disk = disk_of(guest(shell, "bios-cd"))["file"]
    run(shell, "xl destroy bios-cd")
    run(shell, f"dd if={STICK}/$I of={disk} bs=1M conv=fsync status=none")
    run(shell, "xenbox appliance start bios-cd", GUEST_START)
    assert cd_of(guest(shell, "bios-cd"))["file"] is None             # the manifest kept it ejected
    deadline = time.monotonic() + 300         # SeaBIOS finds no disc, boots the disk, and GRUB reads its modules
    while ((booted_disk := disk_of(guest(shell, "bios-cd")))["read"] or 0) < GRUB_READ and time.monotonic() < deadline:
        time.sleep(5)
    assert (booted_disk["read"] or 0) >= GRUB_READ, f"the guest never booted from its disk: {booted_disk}"
    pause_the_nested_guest(shell, "bios-cd")
    screen = last_json(run(shell, f"{HVM} screen bios-cd 300 {TEXT_MODE[0]}x{TEXT_MODE[1]}", 400))
    assert screen["colours"] > 1 and (screen["width"], screen["height"]) == TEXT_MODE, screen


def test_a_cd_goes_into_a_drive_the_guest_was_started_with_empty(shell):
    """libxl 4.17 cannot insert a CD into a drive an HVM guest was started with empty ("Could not stat file ''"
    from the drive's PV backend at start, then "Error happened with the QMP connection to QEMU", seen here in
    Dec 2026). So launch starts such a drive with a blank placeholder and ejects it before the guest runs."""
    assert cd_of(guest(shell, "bios-cd"))["file"] is None             # started just now with the drive empty
    # Paused by the test before (see pause_the_nested_guest): once, in a clean CI run with the guest running
    # GRUB, this host froze for good during this cd-insert.
    run(shell, "xenbox appliance cd-insert bios-cd $I")
    assert cd_of(guest(shell, "bios-cd"))["file"] is not None
    assert run(shell, f"grep -c isos/$I {APPLIANCES}/bios-cd/appliance.toml").strip() == "1"


def test_a_guest_boots_from_the_disc_in_the_hosts_cd_drive(shell):
    gone(shell, "bios-cd")            # one small HVM guest at a time on this host
    drives = json.loads(run(shell, "xenbox storage cd-drives --json"))
    # The boot medium (XenBox's own drive, sr0) is never offered; the second drive is, by its place on the
    # controller, and so is the empty drive QEMU's PC always has on the secondary IDE channel (no disc in it:
    # sysfs shows its size as 1 GiB, the kernel's guess, and the drive's own status says it is empty).
    assert [(d["path"], d["disc_bytes"]) for d in drives] == [("/dev/sr1", RESCUE_ISO.stat().st_size),
                                                              ("/dev/sr2", 0)], drives
    drive = drives[0]["stable_id"]
    assert drive.startswith("pci-") and drive.endswith("-ata-1.1"), drive        # the primary channel's slave
    said = run(shell, f"$C drive-cd --cd-drive {drive} --disk-size 64M --memory 128", GUEST_START)
    assert "drive-cd created and started" in said
    assert run(shell, f"grep -c 'device = \"{drive}\"' {APPLIANCES}/drive-cd/appliance.toml").strip() == "1"
    deadline = time.monotonic() + 300
    while ((cd := cd_of(guest(shell, "drive-cd")))["read"] or 0) < GRUB_READ and time.monotonic() < deadline:
        time.sleep(5)
    assert cd["file"] == "/dev/sr1" and (cd["read"] or 0) >= GRUB_READ, f"GRUB never read from the host's drive: {cd}"
    refused = shell.run("xenbox appliance cd-eject drive-cd")
    assert shell.status == 1 and "is the host's CD/DVD drive" in refused, refused
    gone(shell, "drive-cd")
