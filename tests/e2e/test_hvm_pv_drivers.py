"""An HVM guest that has Xen's PV drivers (issue 17): made with `xenbox appliance create` from a Linux CD in the
ISO library, as an operator installs any distribution. Its kernel's blkfront and netfront take over the
emulated IDE disk and e1000 (the Xen platform device's unplug), their frontends reach state 4 in xenstore, and
`xenbox appliance list` (what the Appliances screen shows under its table) says so. Its network works through
netfront: it takes a DHCP lease on the guest bridge and serves its page.

The CD is made from the ISO under test (linux_iso.py): its kernel, and the sample appliance's busybox initramfs.
Slow (`make e2e-slow`): a boot of its own and a 64-bit Linux booting nested under TCG, about a minute of
kernel time, where a nested guest under this emulated AMD-V has also stopped on its own once before its
kernel printed anything.
"""
import subprocess
import time

import pytest

from linux_iso import linux_iso
from machine import (Shell, booted, data_store_and_stick, leave_first_boot_for_later, pv_drivers,
                     wait_for_console, run_ok as run)

pytestmark = pytest.mark.slow

LINUX_ISO = "linux-pv.iso"
STICK = "/mnt/stick"
GUEST_START = 600           # xl create, the device model, SeaBIOS, GRUB and the kernel, nested under TCG
CONNECTED = "PV drivers: disks 1/1, NICs 1/1 connected"


@pytest.fixture(scope="module")
def shell(iso, tmp_path_factory):
    folder = tmp_path_factory.mktemp("hvm-pv")
    content = folder / "content"
    content.mkdir()
    linux_iso(iso, folder).rename(content / LINUX_ISO)
    stick, data = folder / "stick.img", folder / "data.img"
    for image, size in ((stick, 64), (data, 2048)):
        with open(image, "wb") as disk:
            disk.truncate(size * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "ISOS", "-d", str(content), str(stick)], check=True)
    with booted(iso, "hvm-pv-drivers", disks=[data, stick]) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        with Shell(console) as shell:
            data_store_and_stick(shell, STICK)
            yield shell


def test_a_linux_cd_becomes_an_hvm_guest_whose_pv_drivers_connect_and_the_list_says_so(shell):
    said = run(shell, f"xenbox iso add {STICK}/{LINUX_ISO}", 300)
    assert f"added {LINUX_ISO} to the ISO library" in said, said
    said = run(shell, f"xenbox appliance create linux-pv --iso {LINUX_ISO} --nic-model e1000 --disk-size 64M "
                      "--memory 256", GUEST_START)
    assert "linux-pv created and started" in said, said
    # Before its kernel loads them, the guest has QEMU's emulated disk and NIC, and the list says that too.
    first = pv_drivers(shell, "linux-pv")
    assert first and first["summary"] in ("no PV drivers (emulated devices)", CONNECTED), first
    deadline, drivers = time.monotonic() + GUEST_START, first
    while drivers and drivers["summary"] != CONNECTED and time.monotonic() < deadline:
        time.sleep(10)
        drivers = pv_drivers(shell, "linux-pv")
    assert drivers and drivers["summary"] == CONNECTED, (drivers, run(shell, "xenbox appliance list"))
    assert drivers["disks"] == {"connected": 1, "devices": 1} and drivers["nics"] == {"connected": 1, "devices": 1}
    # its init says where it serves on hvc0, which the host keeps as the guest's console log
    log = "/var/log/xen/console/guest-linux-pv.log"
    served = run(shell, f"until grep -a 'serving http' {log}; do sleep 5; done", GUEST_START)
    assert "sample-web: serving http://10.0.2." in served, served
    address = served.split("serving http://")[-1].split("/")[0]
    page = run(shell, f"busybox wget -q -O - http://{address}/ | head -c 400", 120)
    assert "XenBox sample appliance" in page, page
    run(shell, "xl destroy linux-pv")
