"""The sample appliance's guest booted by QEMU directly, without Xen: the baseline for its first HTTP answer.

The same kernel (the ISO's boot/vmlinuz; the sample's vmlinux is it, unpacked) and the
same initramfs (the sample bundle's initrd.img, taken out of the ISO's root
squashfs), with the guest's own memory and vCPUs from its manifest, under QEMU TCG.
Two things have to change for it to boot on an emulated PC instead of Xen: its
console is ttyS0 rather than hvc0 (command line and inittab), and it gets a driver
for QEMU's e1000 NIC (in /etc/modules after its Xen drivers, which find no Xen and
load nothing). It is the only DHCP client on QEMU's network, so it takes 10.0.2.15.
What it times, QEMU's start to the first HTTP answer, is what the guest itself
costs under TCG; XenBox's figure is what a person waits for on top of a ready console.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench import http
from bench.boot import TimedConsole, cpu_seconds
from bench.iso import extract
from bench.timeline import chunk_index
from firmware.initramfs import install_modules, pack
from firmware.qemu import settings
from firmware.run import die, run

BUNDLE = "usr/share/xenbox/appliances/sample-web"
NIC_MODULE = "e1000"
ADDRESS = "10.0.2.15"
TIMEOUT = 300


@dataclass(frozen=True)
class DirectBoot:
    http_s: float | None            # QEMU's start -> first HTTP answer, wall seconds
    http_cpu_s: float | None        # the same in QEMU's CPU seconds
    status: int | None
    serving_s: float | None         # when the guest said "sample-web: serving http://IP/" on its console
    address: str | None             # the address it said
    memory_mib: int
    vcpus: int
    log: Path


@dataclass(frozen=True)
class Guest:
    kernel: Path
    initrd: Path
    cmdline: str
    memory_mib: int
    vcpus: int


def serial_console(cmdline: str) -> str:
    """The manifest's kernel command line with its Xen console swapped for the PC's first serial port."""
    words = [w for w in cmdline.split() if not w.startswith("console=")]
    return " ".join(["console=ttyS0", *words])


def prepare(iso: Path, work: Path) -> Guest:
    """Kernel and initramfs of the sample guest, out of `iso`, made bootable on QEMU's PC."""
    out = work / "direct-guest"
    shutil.rmtree(out, ignore_errors=True)
    files = extract(iso, out, ["/boot/vmlinuz", "/live/rootfs.squashfs"])
    root = out / "root"
    run(["unsquashfs", "-q", "-n", "-d", root, files["/live/rootfs.squashfs"], BUNDLE, "usr/lib/modules"],
        quiet=True)
    files["/live/rootfs.squashfs"].unlink()
    bundle = root / BUNDLE
    manifest = tomllib.loads((bundle / "appliance.toml").read_text())
    tree = out / "initramfs"
    tree.mkdir()
    unpacked = subprocess.run(["zstd", "-dc", bundle / "initrd.img"], capture_output=True, check=True).stdout
    subprocess.run(["cpio", "-i", "-d", "--quiet", "--no-absolute-filenames"], cwd=tree, input=unpacked,
                   check=True)
    versions = sorted(p.name for p in (tree / "lib" / "modules").iterdir())
    if len(versions) != 1:
        die(f"the sample guest's initramfs holds modules for {versions or 'no kernel'}, expected one kernel")
    version = versions[0]
    names = (tree / "etc" / "modules").read_text().split()
    install_modules(tree, root / "usr/lib/modules" / version, version, [*names, NIC_MODULE])
    inittab = tree / "etc" / "inittab"
    inittab.write_text(inittab.read_text().replace("hvc0", "ttyS0"))
    pack(tree, out / "initrd.img")
    shutil.rmtree(root)     # the root's modules: what the guest needs is in its initramfs now
    return Guest(files["/boot/vmlinuz"], out / "initrd.img", serial_console(manifest["boot"].get("cmdline", "")),
                 manifest["memory"]["initial_mib"], manifest["vcpus"]["initial"])


def argv(guest: Guest, port: int) -> list[str]:
    s = settings()
    return ["qemu-system-x86_64", "-accel", "tcg", "-cpu", s["cpu_tcg"], "-smp", str(guest.vcpus),
            "-m", str(guest.memory_mib), "-no-reboot", "-display", "none", "-serial", "stdio",
            "-kernel", str(guest.kernel), "-initrd", str(guest.initrd), "-append", guest.cmdline,
            "-netdev", f"user,id=net0,hostfwd={http.forward(port, ADDRESS)}", "-device", "e1000,netdev=net0"]


def boot(guest: Guest, log: Path) -> DirectBoot:
    """Boot it, poll its port from QEMU's start, stop at the first answer (or after TIMEOUT s)."""
    print(f"bench: guest alone: booting the sample guest's kernel and initramfs without Xen (serial log {log})",
          file=sys.stderr, flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    port = http.free_port()
    console = TimedConsole(argv(guest, port), log)
    poller = http.FirstAnswer(port, console.started, lambda: cpu_seconds(console.child.pid)).start()
    try:
        deadline = time.monotonic() + TIMEOUT
        while poller.answer is None and console.child.isalive() and time.monotonic() < deadline:
            console.settle(0.5)
        console.settle(1)       # the "serving" line, if the answer came first
    finally:
        poller.stop()
        console.close()
    text = console.transcript.decode(errors="replace")
    answer = poller.answer
    said = http.SERVING.search(text)
    serving_s = None
    if said:
        index = _chunk_of(console, said.group(0).encode())
        serving_s = None if index is None else console.events[index][0]
    print(f"bench: guest alone: HTTP answer at {answer.at:.1f} s" if answer else
          f"bench: guest alone: no HTTP answer within {TIMEOUT} s", file=sys.stderr, flush=True)
    return DirectBoot(answer.at if answer else None, answer.cpu if answer else None,
                      answer.status if answer else None, serving_s,
                      http.serving_address(text), guest.memory_mib, guest.vcpus, log)


def _chunk_of(console, needle: bytes) -> int | None:
    offset = console.transcript.find(needle)
    return None if offset < 0 else chunk_index(console.events, offset + len(needle) - 1)
