"""An hvm guest's screen, read from outside the host as an operator's browser reads it: TLS to websockify,
a WebSocket with the token `xenbox appliance display NAME show` printed, RFB to the guest's VNC server.

The guest is made as an operator makes one: the ISO joins the ISO library from a stick, then the console's
new-guest steps (Appliances, N) are answered key by key over the serial line. It boots Debian's
grub-rescue-cdrom.iso (nobody here built it); what is read must match the same ISO booted by plain QEMU on
this machine in this run (a perceptual hash: a blank screen never matches, tests/unit/test_display_screen_hash.py).
Before the display is turned on nothing listens for it; a wrong token and an expired one are turned away.
One host boot serves every test here, in order.
"""
import hashlib
import json
import re
import subprocess
import time
from types import SimpleNamespace

import pytest

from conftest import ISO, LOGS
from free_port import free_port
from grub_rescue import reference_screen, rescue_iso, settled_screen
from machine import OVERVIEW, Shell, booted, leave_first_boot_for_later, wait_for_console
from screen_client import Refused, read_screen, refused
from screen_hash import alike, pgm

NAME = "grub-screen"
RESCUE = "grub-rescue-cdrom.iso"
DISPLAY_PORT = 6080
SCREEN_WAIT = 420       # xl create and an hvm guest's boot under TCG inside TCG, on a busy 2-core machine
GUEST_START = 600       # create() and xl create, under TCG on a busy machine
STEP_WAIT = 120         # a step's screen drawn after a key: seconds when idle, a minute seen when busy
ENTER, UP, DOWN, CTRL_U = "\r", "\x1b[A", "\x1b[B", "\x15"


def stick(folder, rescue):
    """An ext4 disk (no partitions) holding the ISO, made from a folder (mkfs.ext4 -d: no root)."""
    content = folder / "content"
    content.mkdir()
    (content / RESCUE).write_bytes(rescue.read_bytes())
    image = folder / "stick.img"
    with open(image, "wb") as disk:
        disk.truncate(32 * 2**20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "ISOS", "-d", str(content), str(image)], check=True)
    return image


@pytest.fixture(scope="module")
def host(iso, tmp_path_factory):
    folder = tmp_path_factory.mktemp("screen")
    rescue = rescue_iso(ISO.parent / "cache")
    reference = reference_screen(rescue)         # before the host boots: the machine is quieter
    (LOGS / "guest-screen.reference.pgm").write_bytes(pgm(reference))
    port = free_port()
    data = folder / "data.img"                   # blank: the data store is made on it
    with open(data, "wb") as disk:
        disk.truncate(2048 * 2**20)
    with booted(iso, "guest-screen", disks=[data, stick(folder, rescue)],
                host_forwards=[f"tcp:127.0.0.1:{port}-:{DISPLAY_PORT}"]) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        yield SimpleNamespace(console=console, port=port, reference=reference, rescue=rescue, shown=None,
                              short=None)


def listening(shell) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening in dom0, from /proc/net/tcp and tcp6 (an IPv6
    address as its hex digits)."""
    found = set()
    for line in shell.run("cat /proc/net/tcp /proc/net/tcp6").splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:
            address, port = fields[1].split(":")
            if len(address) == 8:
                address = ".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))
            found.add((address, int(port, 16)))
    return found


def test_a_default_boot_listens_for_no_screen(host):
    with Shell(host.console) as shell:
        ports = {port for _, port in listening(shell)}
    assert DISPLAY_PORT not in ports and not any(5900 <= port < 6000 for port in ports), ports


def test_the_iso_joins_the_library_from_a_stick(host):
    digest = hashlib.sha256(host.rescue.read_bytes()).hexdigest()
    with Shell(host.console) as shell:
        said = shell.run("xenbox storage init /dev/vda 2>&1", 600)
        assert shell.status == 0, said
        said = shell.run(f"mkdir -p /mnt/stick && mount -o ro /dev/vdb /mnt/stick && "
                         f"xenbox iso add /mnt/stick/{RESCUE} --sha256 {digest} 2>&1; umount /mnt/stick", 300)
        assert f"added {RESCUE} to the ISO library" in said, said


def step(console, title: str, *keys: str) -> None:
    """Once step `title` is on the screen, its keys: a key typed before it is drawn would answer the step before."""
    console.wait_for_screen(rf"New guest, step \d+: {title}\b", STEP_WAIT)
    for key in keys:
        if key.startswith("\x1b"):
            console.press_sequence(key)
        else:
            console.press(key)


def test_the_consoles_new_guest_steps_make_the_guest_over_serial(host):
    """Every choice by keys as an operator at the serial console types them: arrows, Enter, Ctrl-U, letters."""
    console = host.console
    console.press("a")
    console.wait_for_screen(r"o Restore", 90)           # the Appliances screen's footer
    console.press("N")
    step(console, "Name")
    console.type_line(NAME)
    step(console, "Kind", DOWN, DOWN, ENTER)            # PV, PVH, HVM
    step(console, "Source", ENTER)                      # an ISO from the library: first when there is one
    step(console, "ISO", ENTER)                         # the only one
    step(console, "Disk", UP, ENTER)                    # the last: no disk (the CD is all it boots)
    step(console, "Memory", CTRL_U)
    console.type_line("128")
    for title in ("vCPUs", "Bridge", "Firmware", "Windows", "NIC", "Bus", "Serial", "Autostart"):
        step(console, title, ENTER)                     # the defaults: 1, xenbr0, bios, no, e1000, ide, yes, no
    step(console, "Create")
    for chosen in ("Kind +HVM", f"Boots from +ISO {re.escape(RESCUE)}", "Disk +none", "Memory +128 MiB",
                   "Firmware +bios"):
        console.wait_for_screen(chosen, 30)
    console.press("c")
    console.wait_for_screen(rf"(?s){NAME} is created.*and\s+started", GUEST_START)
    console.press("\x1b")                               # back to the Appliances screen, where it is listed
    console.wait_for_screen(rf"{NAME} +running", 120)
    console.press("\x1b")                               # back to the overview, where `s` opens a shell
    console.wait_for_screen(OVERVIEW, 60)
    with Shell(console) as shell:
        made = shell.run(f"cat /var/lib/xenbox/appliances/{NAME}/appliance.toml")
        assert shell.status == 0 and 'type = "hvm"' in made and f"isos/{RESCUE}" in made, made


def without_xens_lines(said: str) -> str:
    """What a command printed, without the lines Xen's own console put among them on the same serial line
    (seen in CI: "(XEN) d3v0 Triple fault ..." before the JSON, as the nested HVM guest rebooted)."""
    return "\n".join(line for line in said.splitlines() if not line.startswith("(XEN)"))


def test_display_on_and_restart_then_show_gives_an_address_and_tokens(host):
    with Shell(host.console) as shell:
        said = shell.run(f"xenbox appliance display {NAME} on 2>&1")
        assert shell.status == 0 and "display is on; it applies at its next start" in said, said
        shell.run(f"xl destroy {NAME}", 120)
        said = shell.run(f"xenbox appliance start {NAME} 2>&1", 300)
        assert shell.status == 0, said
        vnc = {(address, port) for address, port in listening(shell) if 5900 <= port < 6000}
        assert vnc and all(address == "127.0.0.1" for address, _ in vnc), vnc     # libxl's VNC: loopback only
        short = shell.run(f"xenbox appliance display {NAME} show --minutes 1 --json", 120)
        assert shell.status == 0, short
        host.short = json.loads(without_xens_lines(short))
        host.short["minted"] = time.monotonic()
        shown = shell.run(f"xenbox appliance display {NAME} show --json", 120)
        assert shell.status == 0, shown
        host.shown = json.loads(without_xens_lines(shown))
        assert DISPLAY_PORT in {port for _, port in listening(shell)}
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", host.shown["fingerprint_sha256"])
    assert host.shown["fingerprint_sha256"] == host.short["fingerprint_sha256"]     # one certificate a host
    assert host.shown["token"] != host.short["token"]
    assert any(url.startswith(f"https://10.0.2.15:{DISPLAY_PORT}/vnc.html?") and host.shown["token"] in url
               for url in host.shown["urls"]), host.shown["urls"]


def test_novncs_page_is_served_over_tls(host):
    import ssl
    import urllib.request
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(f"https://127.0.0.1:{host.port}/vnc.html", context=context, timeout=60) as page:
        assert b"noVNC" in page.read()


def test_the_guests_screen_read_through_websockify_is_the_isos(host):
    """Read once it has settled, like the reference (GRUB draws its menu line by line, slowly under TCG inside TCG)."""
    def dump():
        try:
            screen = read_screen("127.0.0.1", host.port, host.shown["token"], host.shown["fingerprint_sha256"])
        except (Refused, OSError):      # the guest between two boots: GRUB's menu boots an entry after 30 s
            return None
        (LOGS / "guest-screen.seen.pgm").write_bytes(pgm(screen))
        return screen
    deadline, why = time.monotonic() + SCREEN_WAIT, "never read"
    while time.monotonic() < deadline:
        same, why = alike(settled_screen(dump, deadline - time.monotonic(), settle=2), host.reference)
        if same:
            # Seen, it is paused for the rest, its screen still served: a nested guest left running in GRUB has
            # frozen this emulated host for good (see test_new_guests.pause_the_nested_guest).
            with Shell(host.console) as shell:
                shell.run(f"xl pause {NAME}", 120)
            return
    pytest.fail(f"the guest's screen never matched grub-rescue-cdrom.iso's under plain QEMU: {why}")


def test_a_wrong_token_is_turned_away(host):
    fingerprint = host.shown["fingerprint_sha256"]
    assert refused("127.0.0.1", host.port, "not-" + host.shown["token"], fingerprint)
    assert refused("127.0.0.1", host.port, "", fingerprint)


def test_an_expired_token_is_turned_away(host):
    fingerprint = host.shown["fingerprint_sha256"]
    time.sleep(max(0.0, host.short["minted"] + 62 - time.monotonic()))
    assert refused("127.0.0.1", host.port, host.short["token"], fingerprint)
    assert refused("127.0.0.1", host.port, host.shown["token"], fingerprint) is None     # still good


def test_display_off_stops_websockify_once_no_guest_has_one(host):
    with Shell(host.console) as shell:
        said = shell.run(f"xenbox appliance display {NAME} off 2>&1")
        assert shell.status == 0 and "display is off" in said, said
        assert DISPLAY_PORT not in {port for _, port in listening(shell)}
        shell.run(f"xl destroy {NAME}")
