"""`make e2e-slow`: a real installer nobody here built, Debian 12's netboot installer (the text one: its
`linux` and `initrd.gz`), made into a PV guest with `xenbox appliance create` as an operator would, on a
host with a data store:

- at 256 MiB it cannot run: Xen's domain builder unpacks its 39 MB initrd.gz to ~131 MB of guest memory,
  and the kernel panics unpacking it; `xenbox appliance list` must give the panic, not just "stopped";
- at 1 GiB it comes up and its first screen (the language menu) shows on the guest's console.

Slow (the installer's kernel and initrd boot nested under TCG: minutes), so `make test` leaves it out
(`-m "not slow"`); the package (133 MB) is fetched once with `apt-get download` into images/cache.
"""
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO
from debian_package import unpacked
from machine import (Shell, booted, data_store_and_stick,
                     leave_first_boot_for_later, wait_for_console, run_ok as run)

pytestmark = pytest.mark.slow

PACKAGE = "debian-installer-12-netboot-amd64"
INSIDE = "usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64"
STICK = "/mnt/stick"
POOL = "/var/lib/xenbox/images"             # the data store's files pool
CONSOLE_LOG = "/var/log/xen/console/guest-{name}.log"
INSTALLER_UP = 1200     # 40 MB of initrd unpacked by Xen, then the installer's kernel and udev, nested under TCG


def installer() -> Path:
    # only the two files are used; the package's other ones (gtk, pxelinux) are unpacked beside them
    return unpacked(PACKAGE, REPO / "images" / "cache", f"{INSIDE}/initrd.gz", keep_deb=False).parent


def stick(folder: Path) -> Path:
    content = folder / "content"
    content.mkdir()
    for name in ("linux", "initrd.gz"):
        (content / name).write_bytes((installer() / name).read_bytes())
    image = folder / "stick.img"
    with open(image, "wb") as disk:
        disk.truncate(96 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "DI", "-d", str(content), str(image)], check=True)
    return image


@pytest.fixture(scope="module")
def shell(iso, tmp_path_factory):
    folder = tmp_path_factory.mktemp("installer")
    data = folder / "data.img"
    with open(data, "wb") as disk:
        disk.truncate(4096 * 1024 * 1024)
    with booted(iso, "installer", disks=[data, stick(folder)]) as console:
        wait_for_console(console)
        leave_first_boot_for_later(console)
        with Shell(console) as shell:
            data_store_and_stick(shell, STICK)
            run(shell, f"cp {STICK}/linux {POOL}/di-linux && cp {STICK}/initrd.gz {POOL}/di-initrd.gz", 600)
            run(shell, f"K='--type pv --kernel {POOL}/di-linux --ramdisk {POOL}/di-initrd.gz'")
            yield shell


def wait_in_log(shell, name: str, pattern: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if "FOUND" in shell.run(f"grep -q '{pattern}' {CONSOLE_LOG.format(name=name)} && echo FOUND", 60):
            return run(shell, f"tail -c 2000 {CONSOLE_LOG.format(name=name)}", 60)
        time.sleep(10)
    said = shell.run(f"tail -c 3000 {CONSOLE_LOG.format(name=name)}; xl list", 60)
    raise AssertionError(f"{pattern!r} never showed on {name}'s console in {timeout:.0f} s: {said}")


def test_the_installer_given_too_little_memory_is_shown_to_have_panicked(shell):
    """At 256 MiB: Xen's domain builder puts the initrd, unpacked (~131 MB), in guest memory, and the kernel
    needs as much again to unpack it into its root filesystem. (At 512 MiB this text installer came up here.)"""
    said = run(shell, "xenbox appliance create di-small $K --cmdline console=hvc0 --memory 256", 600)
    assert "di-small created and started" in said
    wait_in_log(shell, "di-small", "Kernel panic", INSTALLER_UP)
    panic = run(shell, f"grep -a -m1 -o 'Kernel panic - not syncing: .*' {CONSOLE_LOG.format(name='di-small')}")
    reason = panic.split("not syncing:", 1)[1].strip()[:40]
    deadline = time.monotonic() + 300
    while "its kernel panicked" not in (listed := shell.run("xenbox appliance list", 120)) \
            and time.monotonic() < deadline:
        time.sleep(10)
    assert "di-small crashed after it started at" in listed and "its kernel panicked: " + reason in listed, listed
    shell.run("xl destroy di-small 2>/dev/null; true", 120)


def test_the_installer_given_1_gib_shows_its_language_menu(shell):
    said = run(shell, "xenbox appliance create di $K --cmdline console=hvc0 --memory 1024 --disk-size 2G", 600)
    assert "di created and started" in said
    screen = wait_in_log(shell, "di", "[Ll]anguage", INSTALLER_UP)
    assert "language" in screen.lower(), screen
    state = next(line for line in run(shell, "xl list di").splitlines() if line.startswith("di ")).split()[-2]
    # alive: running, blocked, or waiting for a CPU ("------", seen with another machine busy), not paused,
    # shut down, crashed or dying
    assert set(state) <= set("rb-"), state
