"""Issue 4's storage targets, in one more XenBox boot with three disks attached, each figure beside a
baseline from the same boot (issue 17's figures are measured after them in it: a guest's disk and network
throughput, bench/throughput.py, then a new HVM guest's, bench/hvm.py):

- making a 20 GiB data store (`xenbox storage init`: LVM, the data volume, its ext4), against
  `mkfs.ext4` of a second, identical 20 GiB disk: the least any data store costs;
- adding an appliance whose 1 GiB image is copied in (`xenbox appliance add`, which puts it on a new
  volume of the data store's volume group, `big.xvda`), against `dd bs=4M conv=fsync` of the same image
  between the same two places: an ext4 disk holding the bundle, and an identical new volume made by
  `lvcreate` in that group (its making timed with the dd, as the add's is). Caches are dropped before
  each copy, so both read the disk.

Times are dom0's own clock (/proc/uptime, 10 ms steps), read on each side of the command.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import hvm, shell, throughput
from bench.boot import Timeout, booted
from bench.memory import ProbeError
from bench.report import Figure

GIB = 1024 ** 3
DATA_STORE_GIB = 20
IMAGE_MIB = 1024
BOOT_TIMEOUT = 900
OVERVIEW = r"(?s)HVM: (available|unavailable).*Domains"
FIRST_BOOT = r"Step 1 of 5"
FIRST_BOOT_SAID = rb"xenbox: no settings kept and no answer file"
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
SOURCE = "/mnt/source"


@dataclass(frozen=True)
class StorageBoot:
    """What the boot measured; a part not asked for, or that failed (and said why), is None."""
    storage: StorageRun | None = None
    throughput: throughput.ThroughputRun | None = None
    hvm: hvm.HvmRun | None = None


@dataclass(frozen=True)
class StorageRun:
    mkfs_s: float
    init_s: float
    dd_s: float
    add_s: float
    log: Path


def source_disk(folder: Path, extra: dict[str, Path] | None = None, bundle: bool = True) -> Path:
    """An ext4 disk image holding big/ (the bundle), its 1 GiB image written with data, not holes, and
    `extra` files (name on the disk: file here) at its top: what the HVM figures need (bench/hvm.py)."""
    tree = folder / "tree"
    tree.mkdir(parents=True)
    for name, source in (extra or {}).items():
        shutil.copyfile(source, tree / name)
    size_mib = 64 + sum(source.stat().st_size for source in (extra or {}).values()) // (1024 * 1024)
    if bundle:
        (tree / "big").mkdir()
        (tree / "big" / "appliance.toml").write_text(MANIFEST)
        block = os.urandom(1024 * 1024)
        with open(tree / "big" / "disk.img", "wb") as image:
            for _ in range(IMAGE_MIB):
                image.write(block)
        size_mib += IMAGE_MIB + 192
    disk = folder / "source.img"
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "bench-src", "-d", str(tree), str(disk), f"{size_mib}M"],
                   check=True)
    if bundle:
        (tree / "big" / "disk.img").unlink()
    return disk


def blank_disk(path: Path, size: int) -> Path:
    with open(path, "wb") as disk:
        disk.truncate(size)
    return path


def open_shell(console) -> None:
    """A host with no settings opens the first-boot screens over the overview once the boot has looked for
    an answer file; a key typed before they open is lost. Leave them for later (Esc, yes), as an operator
    who sets the host up by hand does, then open the shell."""
    console.wait_for_output(FIRST_BOOT_SAID, BOOT_TIMEOUT)
    console.wait_for_screen(FIRST_BOOT, 180)
    console.press("\x1b")
    console.wait_for_screen(r"Set this host up later\?", 180)
    console.press("y")
    console.wait_for_screen(OVERVIEW, 180)
    console.press("s")
    console.wait_for_screen("XenBox shell", 120)
    console.settle(2)


def measure(iso: Path, work: Path, log: Path, storage: bool = True, throughput_figures: bool = True,
            hvm_figures: bool = True) -> StorageBoot:
    """The storage figures, the throughput ones (bench/throughput.py) and the HVM ones (bench/hvm.py), or
    some of them, in one boot; the issue 17 parts, after the storage ones, each give None (and say why)
    when they fail, so what came before is kept."""
    def say(text: str) -> None:
        print(f"bench: storage: {text}", file=sys.stderr, flush=True)

    def optional(what: str, step):
        try:
            return step()
        except (ProbeError, Timeout) as error:
            say(f"no {what} figures: {error}")
            return None
    work.mkdir(parents=True, exist_ok=True)
    extra = {}
    if hvm_figures:
        try:
            extra = hvm.stick_files()
        except FileNotFoundError as error:
            say(f"no HVM figures: {error}")
            hvm_figures = False
    with tempfile.TemporaryDirectory(prefix="bench-storage-", dir=work) as folder:
        folder = Path(folder)
        say(f"writing a {IMAGE_MIB} MiB image onto an ext4 source disk" if storage else "making the stick")
        disks = [blank_disk(folder / "store.img", DATA_STORE_GIB * GIB), source_disk(folder, extra, storage)]
        if storage:
            disks.append(blank_disk(folder / "mkfs.img", DATA_STORE_GIB * GIB))
        say(f"booting {iso.name} with them (serial log {log})")
        with booted(iso, log, disks=disks) as console:
            open_shell(console)
            mkfs_s = shell.timed(console, "mkfs", "mkfs.ext4 -q -F /dev/vdc") if storage else None
            init_s = shell.timed(console, "init", "xenbox storage init vda")
            say(f"20 GiB: mkfs.ext4 {mkfs_s if mkfs_s is None else round(mkfs_s, 1)} s, data store {init_s:.1f} s")
            shell.run(console, f"mkdir -p {SOURCE} && mount -o ro /dev/vdb {SOURCE}")
            stored = add_timed(console, mkfs_s, init_s, log, say) if storage else None
            io = optional("throughput", lambda: throughput.measure(console)) if throughput_figures else None
            guest = optional("HVM", lambda: hvm.measure(console, SOURCE)) if hvm_figures else None
    return StorageBoot(stored, io, guest)


def add_timed(console, mkfs_s: float, init_s: float, log: Path, say) -> StorageRun:
    """dd of the 1 GiB image from the stick onto a new data store volume, then `xenbox appliance add` of its bundle."""
    drop = "sync; echo 3 > /proc/sys/vm/drop_caches"
    shell.run(console, drop)
    # where `appliance add` puts the image: a new volume of the data store's group, lvcreate timed with it
    dd_s = shell.timed(console, "dd", f"lvcreate --yes -q -n dd -L {IMAGE_MIB}m xenbox >/dev/null && "
                                      f"dd if={SOURCE}/big/disk.img of=/dev/xenbox/dd bs=4M conv=fsync 2>/dev/null")
    shell.run(console, f"lvremove --yes -q xenbox/dd; {drop}")
    add_s = shell.timed(console, "add", f"xenbox appliance add {SOURCE}/big")
    say(f"{IMAGE_MIB} MiB image: dd {dd_s:.1f} s, xenbox appliance add {add_s:.1f} s")
    return StorageRun(mkfs_s, init_s, dd_s, add_s, log)


def figures(run: StorageRun | None) -> list[Figure]:
    mkfs, init, dd, add = (run.mkfs_s, run.init_s, run.dd_s, run.add_s) if run else (None,) * 4
    return [
        Figure(GROUP, "datastore_init_s", f"make a {DATA_STORE_GIB} GiB data store", "s", mkfs, init, "< 10 s", 10.0,
               f"mkfs.ext4, {DATA_STORE_GIB} GiB"),
        Figure(GROUP, "import_1gib_s", f"add an appliance, {IMAGE_MIB} MiB image", "s", dd, add,
               ">= 70% of dd's speed", dd / 0.7 if dd else None, "lvcreate + dd bs=4M, same places"),
    ]
