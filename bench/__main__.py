"""`make bench`: boot the busybox-only floor, then XenBox, and print what XenBox adds.

In XenBox's boot it also times the autostarted sample guest's first HTTP answer and
the Appliances screen's refresh with 1 and 50 appliances; then it boots the sample
guest alone (no Xen) as the HTTP answer's baseline. A last XenBox boot with three
disks times the data store's making and an appliance's import (bench/storage.py), then a
PV guest's disk and network throughput against dom0's own (bench/throughput.py), then a
new HVM guest's first screen and its dom0 memory (bench/hvm.py), whose baseline is the
same CD booted by QEMU alone. Last, the console's boot with device firmware and microcode against the same
ISO without them (bench/firmware_boot.py), at least two boots each.

    python -m bench [--iso images/xenbox.iso] [--rounds N] [--json images/bench.json]
                    [--only hvm|throughput|firmware|firmware-boot]

The boots run one after the other, never at once: on a 2-core machine two TCG
guests would steal each other's CPU and both timelines would stretch. With
--rounds N the pair is booted N times, alternating, and each figure is the median.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench import console_start, firmware_boot, firmware_size, guest, http, hvm, refresh, report, storage, throughput
from bench.boot import Timeout
from bench.floor import build_floor_iso
from bench.guest import DirectBoot
from bench.iso import snapshot
from bench.measure import FLOOR, XENBOX, Run, boot
from bench.memory import ProbeError
from firmware.board import REPO
from firmware.qemu import settings
from firmware.run import BuildError

IMAGES = REPO / "images"
FAILURES = (BuildError, Timeout, ProbeError)    # what stops the bench: an ISO that cannot be used, a boot that hangs


def failed(error: Exception, logs: Path) -> int:
    """Say why the bench stopped, and where to look; the exit status."""
    where = error.hint if isinstance(error, BuildError) else f"serial logs: {logs}"
    print(f"bench failed: {error}\n  {where}", file=sys.stderr)
    return 1


def version(work: Path) -> str:
    """XenBox's build version, from the GRUB menu the floor copied out of the ISO."""
    cfg = work / "floor-iso" / "boot" / "grub" / "grub.cfg"
    match = re.search(r'menuentry "XenBox (\S+)"', cfg.read_text())
    return match.group(1) if match else "unknown"


def guest_alone(iso: Path, work: Path) -> guest.Guest | None:
    """The sample guest made bootable without Xen; None (and no baseline) when the ISO has none to give."""
    print(f"bench: taking the sample guest's kernel and initramfs out of {iso}", file=sys.stderr)
    try:
        return guest.prepare(iso, work)
    except (BuildError, subprocess.CalledProcessError, OSError, KeyError) as error:
        print(f"bench: no guest-alone baseline: {error}", file=sys.stderr)
        return None


def boot_rounds(rounds: int, floor_iso: Path, iso: Path, alone: guest.Guest | None, logs: Path
                ) -> tuple[list[Run], list[Run], list[DirectBoot | None]]:
    floors, xenboxes, guests = [], [], []
    for number in range(1, rounds + 1):
        suffix = f"-{number}" if rounds > 1 else ""
        floors.append(boot(FLOOR, floor_iso, logs / f"floor{suffix}.serial.log"))
        xenboxes.append(boot(XENBOX, iso, logs / f"xenbox{suffix}.serial.log"))
        guests.append(guest.boot(alone, logs / f"guest-alone{suffix}.serial.log") if alone else None)
    return floors, xenboxes, guests


HVM_METHOD = (f"last in the storage boot: `xenbox iso add` of {hvm.RESCUE_ISO.name} from the stick, then dom0's "
              f"/proc/uptime before `xenbox appliance create {hvm.NAME} --iso ISO --disk-size {hvm.DISK} --memory "
              f"{hvm.MEMORY_MIB}` until bench/probes/hvm_first_screen.py (with tests/e2e/new_guests/hvm.py) sees a "
              f"QMP screendump in VGA text mode (720x400) with more than one colour, polled every "
              f"{hvm.INTERVAL} s once create returned; "
              f"dom0 userland Pss (bench/memory.py) before the create and {hvm.SETTLE} s after the text screen; "
              f"baseline: the same CD in QEMU TCG on the host, no Xen, {hvm.MEMORY_MIB} MiB, Cirrus VGA, a blank "
              f"{hvm.DISK} IDE disk, boot order dc, no NIC, QEMU's spawn until its QMP screendump shows the same")


def hvm_baseline(work: Path, logs: Path) -> hvm.AloneRun | None:
    try:
        return hvm.boot_alone(work, logs / "hvm-alone.log")
    except (ProbeError, OSError, subprocess.SubprocessError) as error:
        print(f"bench: no HVM baseline: {error}", file=sys.stderr)
        return None


def hvm_details(run: hvm.HvmRun | None, alone: hvm.AloneRun | None) -> dict:
    return {"xenbox": asdict(run) if run else None, "qemu_alone": {**asdict(alone), "log": str(alone.log)}
            if alone else None}


def print_hvm(rows: list[report.Figure]) -> None:
    print("\n" + report.table(rows, "New HVM guests: issue 17's figures, each beside a baseline from this run",
                              against="baseline"))
    print(f"\nIssue 17's target, as measured here:\n{report.verdicts(rows)}")


def write_part(args, part: str, key: str, method: str, rows: list[report.Figure], details, booted: bool = True
               ) -> None:
    """What `--only PART` measured, into bench.json under `key` with how it was measured; says where it went."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    report.write_json(args.json, rows, {"xenbox_iso": str(args.iso), "measured_at": stamp, "only": part, key: method},
                      {}, {}, extra={key: details})
    print(f"Results: {args.json}" + (f"; serial logs: {args.logs}" if booted else ""))


def only_hvm(args) -> int:
    """`--only hvm`: one XenBox boot with a data store and a stick, then the CD in QEMU alone."""
    try:
        iso = snapshot(args.iso, args.work)
        run = storage.measure(iso, args.work, args.logs / "hvm.serial.log", storage=False,
                              throughput_figures=False).hvm
    except FAILURES as error:
        return failed(error, args.logs)
    alone = hvm_baseline(args.work, args.logs)
    rows = hvm.figures(run, alone)
    print_hvm(rows)
    write_part(args, "hvm", "hvm", HVM_METHOD.replace("last in the storage boot", "in one XenBox boot with a blank "
                                                      "20 GiB disk (the data store) and a stick"),
               rows, hvm_details(run, alone))
    return 0 if run and alone else 1


THROUGHPUT_METHOD = (f"in the storage boot, after its figures: PV guests made from the sample appliance's kernel and "
                     f"initramfs, each with a {throughput.VOLUME_MIB} MiB data store volume (xvda) and a NIC on "
                     f"xenbr0, one after the other (the second with {throughput.INDIRECT}), then an HVM guest with PV "
                     f"drivers (the image's own bzImage, the same initramfs, an e1000 and an IDE disk that its "
                     f"netfront and blkfront take over, both seen connected), commands typed at its "
                     f"console (xl console) and timed by its /proc/uptime; disk: busybox dd bs=1M "
                     f"count={throughput.VOLUME_MIB} from /dev/zero with oflag=direct conv=fsync, then back to "
                     f"/dev/null with iflag=direct; baseline: dom0's busybox dd, the same, on an identical volume "
                     f"(same lvcreate size, same VG), timed by dom0's /proc/uptime; network: busybox wget -O /dev/null "
                     f"of a {throughput.FILE_MIB} MiB file from dom0's busybox httpd at dom0's xenbr0 address; "
                     f"baseline: dom0's wget of it from the same server at 127.0.0.1; caches dropped before each; "
                     f"{throughput.ROUNDS} rounds of write, read, fetch on each side, medians; the autostarted "
                     f"sample guest destroyed first")


def print_throughput(rows: list[report.Figure]) -> None:
    print("\n" + report.table(rows, "Guest throughput: issue 17's figures, each beside dom0's own in the same boot",
                              against="baseline"))
    print(f"\nIssue 17's target, as measured here:\n{report.verdicts(rows)}")


def only_throughput(args) -> int:
    """`--only throughput`: one XenBox boot with a data store (and an empty stick)."""
    try:
        iso = snapshot(args.iso, args.work)
        run = storage.measure(iso, args.work, args.logs / "throughput.serial.log", storage=False,
                              hvm_figures=False).throughput
    except FAILURES as error:
        return failed(error, args.logs)
    rows = throughput.figures(run)
    print_throughput(rows)
    print("Times are TCG emulation on a shared host: read the ratios.")
    write_part(args, "throughput", "throughput", THROUGHPUT_METHOD.replace(
        "in the storage boot, after its figures", "in one XenBox boot with a blank 20 GiB disk (the data store)"),
        rows, asdict(run) if run else None)
    return 0 if run else 1


FIRMWARE_METHOD = ("from the measured ISO, no boot: its root squashfs's /usr/lib/firmware unpacked (unsquashfs) and "
                   "compressed alone with the build's mksquashfs options (firmware/iso.py), and boot/ucode.cpio as "
                   "the ISO holds it; baseline: the ISO's size less both")


def print_firmware(rows: list[report.Figure]) -> None:
    print("\n" + report.table(rows, firmware_size.GROUP, against="baseline"))


def only_firmware(args) -> int:
    """`--only firmware`: what device firmware and microcode add to the ISO (no boot: a minute at most)."""
    try:
        size = firmware_size.measure(snapshot(args.iso, args.work), args.work)
    except FAILURES as error:
        return failed(error, args.logs)
    rows = firmware_size.figures(size)
    print_firmware(rows)
    write_part(args, "firmware", "firmware_size", FIRMWARE_METHOD, rows, asdict(size), booted=False)
    return 0


FIRMWARE_BOOT_METHOD = ("the measured ISO against one remade from its /boot and /live by grub-mkrescue under the "
                        "same label, as the build makes it, with the root squashfs recompressed without "
                        "/usr/lib/firmware and boot/ucode.cpio an empty cpio; "
                        "booted alternately, with the firmware first, to the console's HVM line, no probes; medians; "
                        "the target: no later than the baseline's median plus the spread of its own boots")


def print_firmware_boot(rows: list[report.Figure], rounds: int) -> None:
    print("\n" + report.table(rows, f"{firmware_boot.GROUP}, {rounds} boots each, medians", against="baseline"))
    print(f"\nIssue 21's boot target, as measured here:\n{report.verdicts(rows)}")


def firmware_boot_rounds(args) -> int:
    """At least two boots of each, so that the baseline has a spread to call noise."""
    return max(2, args.rounds)


def only_firmware_boot(args) -> int:
    """`--only firmware-boot`: the console's boot with device firmware and microcode, and without them."""
    rounds = firmware_boot_rounds(args)
    try:
        measured = firmware_boot.measure(snapshot(args.iso, args.work), args.work, args.logs, rounds)
    except FAILURES as error:
        return failed(error, args.logs)
    rows = firmware_boot.figures(measured)
    print_firmware_boot(rows, rounds)
    print("Times are TCG emulation on a shared host: read them against the baseline's spread.")
    write_part(args, "firmware-boot", "firmware_boot", FIRMWARE_BOOT_METHOD, rows, {
        "with_firmware": [r.times for r in measured.with_firmware], "without": [r.times for r in measured.without]})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark XenBox against the same Xen and kernel with busybox only.")
    parser.add_argument("--iso", type=Path, default=IMAGES / "xenbox.iso")
    parser.add_argument("--rounds", type=int, default=1, help="boot floor and XenBox N times each; print medians")
    parser.add_argument("--json", type=Path, default=IMAGES / "bench.json", help="where the results go")
    parser.add_argument("--work", type=Path, default=IMAGES / "build" / "bench", help="floor ISO and ISO snapshot")
    parser.add_argument("--logs", type=Path, default=IMAGES / "bench-logs", help="timestamped serial logs")
    parser.add_argument("--only", choices=["hvm", "throughput", "firmware", "firmware-boot"],
                        help="measure only this part: hvm = issue 17's HVM figures (one XenBox boot with a data store "
                        "and a stick, and QEMU alone); throughput = a PV guest's disk and network against dom0's (one "
                        "XenBox boot with a data store); firmware = what device firmware and microcode add to the ISO "
                        "(no boot); firmware-boot = the boot with them against the same ISO without them (--rounds, "
                        "at least 2, boots of each)")
    args = parser.parse_args(argv)
    if not args.iso.exists():
        print(f"{args.iso} does not exist: run `make` first", file=sys.stderr)
        return 1
    if args.only == "hvm":
        return only_hvm(args)
    if args.only == "throughput":
        return only_throughput(args)
    if args.only == "firmware":
        return only_firmware(args)
    if args.only == "firmware-boot":
        return only_firmware_boot(args)
    load = os.getloadavg()
    try:
        iso = snapshot(args.iso, args.work)
        firmware = firmware_size.measure(iso, args.work)
        print(f"bench: building the floor ISO from {args.iso}'s Xen, kernel and GRUB menu", file=sys.stderr)
        floor_iso = build_floor_iso(iso, args.work)
        alone = guest_alone(iso, args.work)
        floors, xenboxes, guests = boot_rounds(max(1, args.rounds), floor_iso, iso, alone, args.logs)
        stored = storage.measure(iso, args.work, args.logs / "storage.serial.log")
        hvm_alone = hvm_baseline(args.work, args.logs)
        firmware_boots = firmware_boot.measure(iso, args.work, args.logs, firmware_boot_rounds(args))
    except FAILURES as error:
        return failed(error, args.logs)

    q = settings()
    xenbox_version = version(args.work)
    sizes = {"floor": (floor_iso, floor_iso.stat().st_size), "xenbox": (args.iso, iso.stat().st_size)}
    rows = report.median([report.figures(f, x, sizes["floor"][1], sizes["xenbox"][1])
                          for f, x in zip(floors, xenboxes)])
    counts = (refresh.COUNTS[0], refresh.COUNTS[-1])
    appliance_rows = report.median([report.appliance_figures(x, g, counts) for x, g in zip(xenboxes, guests)])
    start_rows = report.median([report.console_start_figures(x) for x in xenboxes])
    storage_rows = storage.figures(stored.storage)
    io_rows = throughput.figures(stored.throughput)
    firmware_rows = firmware_size.figures(firmware)
    firmware_boot_rows = firmware_boot.figures(firmware_boots)
    hvm_rows = hvm.figures(stored.hvm, hvm_alone)
    end_load = os.getloadavg()
    rounds = f"{len(floors)} rounds, medians" if len(floors) > 1 else "one round"
    heading = (f"XenBox {xenbox_version} against its floor (same Xen, kernel and GRUB menu, busybox-only initramfs)\n"
               f"QEMU TCG {q['cpu_tcg']}, {q['cpus']} vCPUs, {q['memory_mib']} MiB; floor booted first, then XenBox, "
               f"one at a time, {rounds}; host load average {load[0]:.1f} at start, {end_load[0]:.1f} at end")
    print(report.table(rows, heading))
    print_firmware(firmware_rows)
    print_firmware_boot(firmware_boot_rows, len(firmware_boots.without))
    print("\n" + report.table(start_rows, "Where the console's start goes: issue 2's console target beside what "
                              "Textual itself costs here", against="baseline"))
    print(f"\n{report.console_target(rows, start_rows)}")
    print(f"\nXenBox's largest dom0 processes (Pss MiB, last round):\n{report.largest(xenboxes[-1])}")
    print("\n" + report.table(appliance_rows, "Appliances: issue 3's targets, each beside a baseline from this run",
                              against="baseline"))
    print(f"\nIssue 3's targets, as measured here (TCG: dom0's CPU is emulated, many times slower than hardware):\n"
          f"{report.verdicts(appliance_rows)}")
    print("\n" + report.table(storage_rows, "Storage: issue 4's targets, each beside a baseline from the same boot",
                              against="baseline"))
    print(f"\nIssue 4's targets, as measured here:\n{report.verdicts(storage_rows)}")
    print_throughput(io_rows)
    print_hvm(hvm_rows)
    print("Targets are informational. Times are TCG emulation on a shared host: read the ratios, and the\n"
          "CPU-time timeline rather than the wall clock when the host is busy.")
    method = {
        "xenbox_version": xenbox_version, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "qemu": {"accel": "tcg", "cpu": q["cpu_tcg"], "cpus": q["cpus"], "memory_mib": q["memory_mib"]},
        "boots": "sequential, floor then XenBox, both from CD through GRUB's first menu entry",
        "rounds": len(floors), "figures_are": "medians over the rounds",
        "host_load_average": {"start": load, "end": end_load},
        "floor": "the ISO's own Xen, kernel and grub.cfg; initramfs = the image's busybox and a shell",
        "sample_guest_http": "from the host through a QEMU user-net port forward to the guest's address, "
                             f"polled every {http.PAUSE} s with {http.ATTEMPT_TIMEOUT} s timeouts; "
                             "baseline: the sample guest's kernel and initramfs booted by QEMU alone "
                             "(console ttyS0, e1000 driver added), after XenBox",
        "storage": "one more XenBox boot with a blank 20 GiB disk (the data store), an ext4 disk holding a "
                   "bundle with a 1 GiB image, and a second blank 20 GiB disk (mkfs.ext4's baseline); times by "
                   "dom0's /proc/uptime around each command; caches dropped before dd and before the add",
        "console_start": f"in dom0 once the boot settled, bench/probes/console_start.py: {console_start.RUNS} "
                         f"fresh interpreters each, alternating {' and '.join(console_start.KINDS)}, headless",
        "throughput": THROUGHPUT_METHOD,
        "firmware_size": FIRMWARE_METHOD,
        "firmware_boot": FIRMWARE_BOOT_METHOD,
        "hvm": HVM_METHOD,
        "appliances_refresh": f"in dom0, bench/probes/refresh_cpu.py: getrusage self + children, "
                              f"{refresh.REFRESHES} refreshes after a first one, counts {list(refresh.COUNTS)}",
    }
    report.write_json(args.json, rows + firmware_rows + firmware_boot_rows + start_rows + appliance_rows + storage_rows + io_rows + hvm_rows,
                      method, sizes, {"floor": floors, "xenbox": xenboxes}, guests,
                      {"throughput": asdict(stored.throughput) if stored.throughput else None,
                       "firmware_size": asdict(firmware),
                       "hvm": hvm_details(stored.hvm, hvm_alone)})
    print(f"Results: {args.json}; serial logs: {args.logs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
