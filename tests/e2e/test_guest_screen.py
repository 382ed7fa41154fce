"""An hvm guest's screen, read from outside the host as an operator's browser reads it: TLS to websockify,
a WebSocket with the token `xenbox appliance display NAME show` printed, RFB to the guest's VNC server.

The guest boots Debian's grub-rescue-cdrom.iso (nobody here built it); what is read must match the same
ISO booted by plain QEMU on this machine in this run (a perceptual hash: a blank screen never matches,
tests/unit/test_display_screen_hash.py). Before the display is turned on nothing listens for it; a wrong
token and an expired one are turned away. One host boot serves every test here, in order.
"""
import json
import re
import shutil
import subprocess
import time
from types import SimpleNamespace

import pytest

from conftest import ISO, LOGS
from free_port import free_port
from grub_rescue import reference_screen, rescue_iso, settled_screen
from machine import Shell, booted, leave_first_boot_for_later, wait_for_console
from screen_client import Refused, read_screen, refused
from screen_hash import alike, pgm

NAME = "grub-screen"
MANIFEST = f"""\
name = "{NAME}"
description = "Debian's GRUB rescue CD, whose screen the test reads"
type = "hvm"
[memory]
initial_mib = 128
[boot]
order = ["cd"]
[[disks]]
file = "grub-rescue-cdrom.iso"
cdrom = true
target = "hdc"
"""
DISPLAY_PORT = 6080
SCREEN_WAIT = 420       # xl create and an hvm guest's boot under TCG inside TCG, on a busy 2-core machine


def bundle_disk(folder, rescue):
    """An ext4 disk (no partitions) holding the bundle folder, made from a folder (mkfs.ext4 -d: no root)."""
    bundle = folder / "content" / NAME
    bundle.mkdir(parents=True)
    (bundle / "appliance.toml").write_text(MANIFEST)
    shutil.copy(rescue, bundle / "grub-rescue-cdrom.iso")
    image = folder / "bundle.img"
    with open(image, "wb") as disk:
        disk.truncate(16 * 2**20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "BUNDLE", "-d", str(folder / "content"), str(image)], check=True)
    return image


@pytest.fixture(scope="module")
def host(iso, tmp_path_factory):
    folder = tmp_path_factory.mktemp("screen")
    rescue = rescue_iso(ISO.parent / "cache")
    reference = reference_screen(rescue)         # before the host boots: the machine is quieter
    (LOGS / "guest-screen.reference.pgm").write_bytes(pgm(reference))
    port = free_port()
    with booted(iso, "guest-screen", disks=[bundle_disk(folder, rescue)],
                host_forwards=[f"tcp:127.0.0.1:{port}-:{DISPLAY_PORT}"]) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        yield SimpleNamespace(console=console, port=port, reference=reference, shown=None, short=None)


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


def test_display_on_and_start_then_show_gives_an_address_and_tokens(host):
    with Shell(host.console) as shell:
        shell.run(f"mkdir -p /mnt/bundle /var/lib/xenbox/appliances && mount -o ro /dev/vda /mnt/bundle && "
                  f"cp -r /mnt/bundle/{NAME} /var/lib/xenbox/appliances/ && umount /mnt/bundle")
        assert shell.status == 0
        said = shell.run(f"xenbox appliance display {NAME} on 2>&1")
        assert shell.status == 0 and "display is on; it applies at its next start" in said, said
        said = shell.run(f"xenbox appliance start {NAME} 2>&1", 300)
        assert shell.status == 0, said
        vnc = {(address, port) for address, port in listening(shell) if 5900 <= port < 6000}
        assert vnc and all(address == "127.0.0.1" for address, _ in vnc), vnc     # libxl's VNC: loopback only
        short = shell.run(f"xenbox appliance display {NAME} show --minutes 1 --json", 120)
        assert shell.status == 0, short
        host.short = json.loads(short)
        host.short["minted"] = time.monotonic()
        shown = shell.run(f"xenbox appliance display {NAME} show --json", 120)
        assert shell.status == 0, shown
        host.shown = json.loads(shown)
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
