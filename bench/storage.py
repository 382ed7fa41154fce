"""Issue 4's storage targets, in one more XenBox boot with three disks attached, each figure beside a
baseline from the same boot:

- making a 20 GiB data store (`xenbox storage init`: LVM, the data volume, its ext4), against
  `mkfs.ext4` of a second, identical 20 GiB disk: the least any data store costs;
- adding an appliance whose 1 GiB image is copied in (`xenbox appliance add`), against `dd bs=4M
  conv=fsync` of the same image between the same two places: an ext4 disk holding the bundle, and
  the data store. Caches are dropped before each copy, so both read the disk.

Times are dom0's own clock (/proc/uptime, 10 ms steps), read on each side of the command.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import shell
from bench.boot import booted
from bench.memory import ProbeError
from bench.report import Figure

GIB = 1024 ** 3
DATA_STORE_GIB = 20
IMAGE_MIB = 1024
BOOT_TIMEOUT = 900
OVERVIEW = r"HVM: (available|unavailable)"
GROUP = "Storage (issue 4), one boot with three disks"
# A PV appliance (pygrub would boot it from its disk; it is only added, never started): the bundle is its
# manifest and its big image.
MANIFEST = """name = "big"
type = "pv"
[memory]
initial_mib = 64
[boot]
bootloader = "pygrub"
[[disks]]
file = "disk.img"
"""
TIMED = re.compile(r"BENCH-TIMED (\S+) ([0-9.]+) ([0-9.]+) (\d+)")


@dataclass(frozen=True)
class StorageRun:
    mkfs_s: float
    init_s: float
    dd_s: float
    add_s: float
    log: Path


def source_disk(folder: Path) -> Path:
    """An ext4 disk image holding big/ (the bundle), its 1 GiB image written with data, not holes."""
    bundle = folder / "tree" / "big"
    bundle.mkdir(parents=True)
    (bundle / "appliance.toml").write_text(MANIFEST)
    block = os.urandom(1024 * 1024)
    with open(bundle / "disk.img", "wb") as image:
        for _ in range(IMAGE_MIB):
            image.write(block)
    disk = folder / "source.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "bench-src", "-d", str(folder / "tree"), str(disk),
                    f"{IMAGE_MIB + 256}M"], check=True)
    (bundle / "disk.img").unlink()
    return disk


def blank_disk(path: Path, size: int) -> Path:
    with open(path, "wb") as disk:
        disk.truncate(size)
    return path


def timed(console, name: str, command: str, timeout: float = 900) -> float:
    """Seconds `command` took by dom0's clock; fails loudly if it failed."""
    line = (f"t0=$(cut -d' ' -f1 /proc/uptime); {command}; rc=$?; t1=$(cut -d' ' -f1 /proc/uptime); "
            f"echo BENCH-TIMED {name} $t0 $t1 $rc")
    output = shell.run(console, line, timeout)
    found = [m for m in TIMED.finditer(output) if m.group(1) == name]
    if not found:
        raise ProbeError(f"{name}: no timing line in:\n{output[-1500:]}")
    _, start, end, code = found[-1].groups()
    if code != "0":
        raise ProbeError(f"{name}: `{command}` failed (exit {code}):\n{output[-1500:]}")
    return float(end) - float(start)


def measure(iso: Path, work: Path, log: Path) -> StorageRun:
    def say(text: str) -> None:
        print(f"bench: storage: {text}", file=sys.stderr, flush=True)
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-storage-", dir=work) as folder:
        folder = Path(folder)
        say(f"writing a {IMAGE_MIB} MiB image onto an ext4 source disk")
        disks = [blank_disk(folder / "store.img", DATA_STORE_GIB * GIB), source_disk(folder),
                 blank_disk(folder / "mkfs.img", DATA_STORE_GIB * GIB)]
        say(f"booting {iso.name} with them (serial log {log})")
        with booted(iso, log, disks=disks) as console:
            console.wait_for_screen(OVERVIEW, BOOT_TIMEOUT)
            console.press("s")
            console.wait_for_screen("XenBox shell", 120)
            console.settle(2)
            mkfs_s = timed(console, "mkfs", "mkfs.ext4 -q -F /dev/vdc")
            init_s = timed(console, "init", "xenbox storage init vda")
            say(f"20 GiB: mkfs.ext4 {mkfs_s:.1f} s, data store {init_s:.1f} s")
            shell.run(console, "mkdir -p /mnt/source && mount -o ro /dev/vdb /mnt/source")
            drop = "sync; echo 3 > /proc/sys/vm/drop_caches"
            shell.run(console, drop)
            dd_s = timed(console, "dd", "dd if=/mnt/source/big/disk.img of=/var/lib/xenbox/images/dd.img "
                                        "bs=4M conv=fsync 2>/dev/null")
            shell.run(console, f"rm /var/lib/xenbox/images/dd.img; {drop}")
            add_s = timed(console, "add", "xenbox appliance add /mnt/source/big")
            say(f"{IMAGE_MIB} MiB image: dd {dd_s:.1f} s, xenbox appliance add {add_s:.1f} s")
    return StorageRun(mkfs_s, init_s, dd_s, add_s, log)


def figures(run: StorageRun | None) -> list[Figure]:
    mkfs, init, dd, add = (run.mkfs_s, run.init_s, run.dd_s, run.add_s) if run else (None,) * 4
    return [
        Figure(GROUP, "datastore_init_s", f"make a {DATA_STORE_GIB} GiB data store", "s", mkfs, init, "< 10 s", 10.0,
               f"mkfs.ext4, {DATA_STORE_GIB} GiB"),
        Figure(GROUP, "import_1gib_s", f"add an appliance, {IMAGE_MIB} MiB image", "s", dd, add,
               ">= 70% of dd's speed", dd / 0.7 if dd else None, "dd bs=4M, same two places"),
    ]
