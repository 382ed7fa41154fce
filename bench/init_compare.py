"""Busybox init against systemd as dom0's init: the same dom0 job under each, measured alike.

    python -m bench.init_compare build   [--out DIR] [--variants busybox,systemd]
    python -m bench.init_compare measure [--out DIR] [--variants busybox,systemd] [--rounds N]

`build` makes one ISO per variant from this source tree, into DIR/<variant>/ (not
images/), with the ordinary build steps. The variants differ only in dom0's init:

- busybox         the image as XenBox ships it (inittab: rc.boot, then rc.services beside one
                  process forking the consoles on hvc0 and tty1).
- systemd         + Debian's systemd-sysv; /sbin/init is systemd. xenbox-boot.service
                  (Type=oneshot, RemainAfterExit) runs the same rc.boot, xenbox-services
                  the same rc.services, and xenbox-console@hvc0/tty1 (Restart=always,
                  RestartSec=0) a console each (measured 2026-11-26, when the image also ran
                  one supervisor per terminal and rc.boot did rc.services' work).
                  Default dependencies, journald and udev (already in the image) as
                  Debian sets them up. Masked, because they would do nothing for dom0
                  or redo rc.boot's job: gettys (XenBox's consoles own hvc0 and tty1),
                  systemd-logind (needs D-Bus, which is not installed), the SysV generator
                  (it would start Debian's /etc/init.d/xen a second time).
- systemd-noudev  the same with udev masked as well (rc.boot loads drivers itself);
                  not built or measured yet.

Two things rc.boot and the initramfs do differently under systemd, and why:
rc.boot skips mounts systemd has already made (a second sysfs on /sys would hide
systemd's cgroup tree), and the initramfs puts a tmpfs on /run before it moves the
boot medium under /run/xenbox (systemd mounts /run itself when it is not a mount
point, which would hide the medium).

`measure` boots each variant one after the other, ONE QEMU at a time, with
bench.measure (the `make bench` machinery: timestamped serial, QEMU CPU time, pyte
screen, memory read from a shell on the console; memory is read once the sample
appliance's autostart has finished and its guest has had a minute to boot). Then, in
the same boot, it kills the console's supervisor (the process init started), the
console and its shell with `kill -9`, and times until the respawned console's output
(terminal size query, alternate screen) and until its overview is drawn again. Under
systemd it also keeps the unit's journal and `systemd-analyze blame`. Results:
DIR/init-compare<tag>.json, a table on stdout, timestamped serial logs under DIR/logs/.
The figures of 2026-11-26 and the decision they led to are in README.md's design notes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

VARIANTS = ("busybox", "systemd", "systemd-noudev")

# --- build -------------------------------------------------------------------

BOOT_UNIT = """\
[Unit]
Description=XenBox dom0 start-up (rc.boot: what the consoles need)

[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=0
ExecStart=/usr/lib/xenbox/rc.boot
ExecStop=/usr/lib/xenbox/rc.shutdown

[Install]
WantedBy=multi-user.target
"""

SERVICES_UNIT = """\
[Unit]
Description=XenBox dom0 services (rc.services: Xen's drivers and daemons, guest bridge, appliances)
After=xenbox-boot.service

[Service]
Type=simple
ExecStart=/usr/lib/xenbox/rc.services

[Install]
WantedBy=multi-user.target
"""

CONSOLE_UNIT = """\
[Unit]
Description=XenBox console on %I
After=xenbox-boot.service
StartLimitIntervalSec=0

[Service]
ExecStart=/usr/lib/xenbox/console %I
Restart=always
RestartSec=0
StandardInput=tty
StandardOutput=tty
TTYPath=/dev/%I
TTYReset=yes
TTYVHangup=yes
Environment=TERM=linux

[Install]
WantedBy=multi-user.target
"""

# rc.boot mounts /proc, /sys, /dev/pts and /dev/shm itself; under systemd they are mounted already.
RC_BOOT_MOUNT_GUARD = (
    "# systemd has mounted the kernel filesystems already: mount only what is not mounted yet.\n"
    'mount() { for target; do :; done; mountpoint -q "$target" && return 0; command mount "$@"; }\n'
)
INITRAMFS_RUN_TMPFS = "mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /root/run\n"

MASKED = ["getty.target", "systemd-logind.service"]
MASKED_GENERATORS = ["systemd-getty-generator", "systemd-sysv-generator"]
UDEV_UNITS = ["systemd-udevd.service", "systemd-udev-trigger.service", "systemd-udev-settle.service",
              "systemd-udevd-control.socket", "systemd-udevd-kernel.socket"]


def install_systemd_init(rootfs: Path, mask_udev: bool) -> None:
    etc = rootfs / "etc" / "systemd" / "system"
    etc.mkdir(parents=True, exist_ok=True)
    for name, text in (("xenbox-boot.service", BOOT_UNIT), ("xenbox-services.service", SERVICES_UNIT),
                       ("xenbox-console@.service", CONSOLE_UNIT)):
        (etc / name).write_text(text)
    wants = etc / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    for name, unit in (("xenbox-boot.service", "xenbox-boot.service"),
                       ("xenbox-services.service", "xenbox-services.service"),
                       ("xenbox-console@hvc0.service", "xenbox-console@.service"),
                       ("xenbox-console@tty1.service", "xenbox-console@.service")):
        _symlink(f"/etc/systemd/system/{unit}", wants / name)
    _symlink("/lib/systemd/system/multi-user.target", etc / "default.target")
    for unit in MASKED + (UDEV_UNITS if mask_udev else []):
        _symlink("/dev/null", etc / unit)
    generators = rootfs / "etc" / "systemd" / "system-generators"
    generators.mkdir(parents=True, exist_ok=True)
    for name in MASKED_GENERATORS:
        _symlink("/dev/null", generators / name)
    _symlink("/lib/systemd/systemd", rootfs / "sbin" / "init")
    rc_boot = rootfs / "usr" / "lib" / "xenbox" / "rc.boot"
    text = rc_boot.read_text()
    anchor = text.index("\n", text.index("export PATH=")) + 1
    rc_boot.write_text(text[:anchor] + RC_BOOT_MOUNT_GUARD + text[anchor:])


def _symlink(target: str, link: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


def systemd_initramfs_source(source: Path, into: Path) -> Path:
    """A copy of initramfs/ whose init puts a tmpfs on the new root's /run first."""
    shutil.copytree(source, into)
    init = into / "init"
    text = init.read_text()
    anchor = text.index("mkdir -p /root/run/xenbox/medium")
    init.write_text(text[:anchor] + INITRAMFS_RUN_TMPFS + text[anchor:])
    return into


def build(variant: str, out: Path) -> Path:
    from firmware import build as fb
    from firmware import initramfs
    from firmware.board import load_board
    from firmware.context import Context
    from firmware.overlay import apply_overlays
    from firmware.run import step

    board = load_board("pc")
    steps = list(fb.STEPS)
    if variant != "busybox":
        board = dataclasses.replace(board, packages=(*board.packages, "systemd-sysv"))

        def overlays_then_systemd(ctx: Context) -> None:
            apply_overlays(ctx)
            install_systemd_init(ctx.rootfs, mask_udev=variant == "systemd-noudev")

        def initramfs_with_run_tmpfs(ctx: Context) -> None:
            original = initramfs.SOURCE
            with tempfile.TemporaryDirectory() as tmp:
                initramfs.SOURCE = systemd_initramfs_source(original, Path(tmp) / "initramfs")
                try:
                    initramfs.build_initramfs(ctx)
                finally:
                    initramfs.SOURCE = original

        steps = [(title, overlays_then_systemd if action is apply_overlays
                  else initramfs_with_run_tmpfs if action is initramfs.build_initramfs else action)
                 for title, action in steps]
    images = (out / variant).resolve()
    images.mkdir(parents=True, exist_ok=True)
    (out / "cache").mkdir(parents=True, exist_ok=True)
    if not (images / "cache").exists():     # one package and wheel cache for all variants
        (images / "cache").symlink_to((out / "cache").resolve())
    ctx = Context(board=board, images=images, version=fb.build_version())
    for number, (title, action) in enumerate(steps, start=1):
        with step(number, len(steps), f"{variant}: {title}"):
            action(ctx)
    return ctx.iso


# --- measure -----------------------------------------------------------------

MIB = 1024


def pid1_and_init_helpers(memory) -> dict[str, float]:
    """Pss (MiB) of PID 1 and of the daemons that come with systemd when it is there."""
    by_name: dict[str, float] = {}
    for p in memory.processes:
        key = "pid1" if p.pid == 1 else p.name
        if key in ("pid1", "systemd-journal", "systemd-udevd"):
            by_name[key] = by_name.get(key, 0) + p.pss_kib / MIB
    return by_name


def respawn(console, profile) -> dict[str, float | None]:
    """kill -9 the supervisor init started, the console and the shell; time the new console."""
    from bench import shell
    # The shell's parent is the console; the console's parent is the supervisor init started.
    line = "kill -9 $(cut -d' ' -f4 /proc/$PPID/stat) $PPID $$"
    data = line.encode()
    for start in range(0, len(data), shell.PIECE):
        console.child.send(data[start:start + shell.PIECE])
        console.settle(shell.PAUSE)
    console.settle(1)
    since_events, since = len(console.events), len(console.transcript)
    t0 = time.monotonic() - console.started
    cpu0 = _cpu(console)
    console.child.send(b"\r")
    console.screen.reset()
    console.wait_for_screen(profile.ready_screen, 180)
    drawn = console.events[-1][0]
    cpu_drawn = console.cpu[-1] if console.cpu else None
    return {"size_query_s": _after(console, rb"\x1b\[6n", since, since_events, t0),
            "app_s": _after(console, rb"\x1b\[\?1049h", since, since_events, t0),
            "overview_s": drawn - t0,
            "overview_cpu_s": None if cpu_drawn is None or cpu0 is None else cpu_drawn - cpu0}


# What systemd did with the console between the kill and the respawn, on its own clock.
JOURNAL = ("journalctl -o short-monotonic --no-pager -u xenbox-console@hvc0 | tail -n 12; "
           "systemctl show -p NRestarts -p ExecMainStartTimestampMonotonic xenbox-console@hvc0; "
           "systemd-analyze 2>&1 | head -n 1; systemd-analyze blame 2>&1 | head -n 12; "
           "cat /proc/[0-9]*/stat | awk '{print $14+$15, $1, $2}' | sort -rn | head -n 12")


def what_systemd_did(console, profile) -> str:
    from bench import shell
    console.press(profile.shell_key)
    console.wait_for_screen(profile.shell_banner, 60)
    console.settle(1)
    return shell.run(console, JOURNAL)


def _after(console, pattern: bytes, since: int, since_events: int, t0: float) -> float | None:
    """Seconds from t0 until `pattern` first arrived after transcript offset `since`."""
    from bench.timeline import chunk_index
    match = re.search(pattern, console.transcript[since:])
    if not match:
        return None
    index = chunk_index(console.events, since + match.end() - 1)
    return console.events[index][0] - t0 if index is not None and index >= since_events else None


def _cpu(console):
    from bench.boot import cpu_seconds
    return cpu_seconds(console.child.pid)


# The sample appliance's autostart runs beside the console; memory is read once it is done,
# and the guest's own boot (in the same QEMU) is given a minute to finish before anything is timed.
AUTOSTART_DONE = rb"xenbox: appliance \S+ (started|NOT started)"
GUEST_SETTLE = 60


def measure_boot(profile, console, log: Path, say):
    """bench.measure's boot measurement, but memory is read after the appliance autostart finished."""
    from bench.measure import BOOT_TIMEOUT, read_run
    console.wait_for_screen(profile.ready_screen, BOOT_TIMEOUT)
    ready = len(console.events) - 1
    say(f"console ready at {console.events[ready][0]:.1f} s; waiting for the appliance autostart")
    console.wait_for_output(AUTOSTART_DONE, 300)
    console.settle(GUEST_SETTLE)
    return read_run(profile, console, ready, log, say)


def measure_one(variant: str, iso: Path, log: Path) -> dict:
    from bench.boot import booted
    from bench.measure import XENBOX as BENCH_PROFILE
    from bench.timeline import Milestone
    # One more milestone: rc.boot's first line, i.e. init has started and handed over to XenBox's job.
    XENBOX = dataclasses.replace(BENCH_PROFILE, later=[
        *BENCH_PROFILE.later[:1], Milestone("rcboot", "rc.boot started", rb"xenbox: loading drivers"),
        *BENCH_PROFILE.later[1:]])

    def say(text: str) -> None:
        print(f"init-compare: {variant}: {text}", file=sys.stderr, flush=True)

    say(f"booting {iso} (serial log {log})")
    with booted(iso, log) as console:
        try:
            run = measure_boot(XENBOX, console, log, say)
            again = respawn(console, XENBOX)
            say(f"console back {again['overview_s']:.1f} s after kill -9")
            if variant != "busybox":
                again["journal"] = what_systemd_did(console, XENBOX)
        finally:
            from bench.timeline import stamped_lines
            log.with_suffix(".times.txt").write_text(stamped_lines(console.events, console.cpu))

    def since_init(times: dict, key: str) -> float | None:
        return None if times.get(key) is None or times.get("init") is None else times[key] - times["init"]

    def between(times: dict, start: str, end: str) -> float | None:
        return None if times.get(start) is None or times.get(end) is None else times[end] - times[start]

    m = run.memory
    return {
        # boot medium found (the initramfs is about to switch_root) -> rc.boot's first line: init's own start-up
        "switch_root_to_rcboot": {"wall_s": between(run.times, "medium", "rcboot"),
                                  "cpu_s": between(run.cpu_times, "medium", "rcboot")},
        "variant": variant, "log": str(log),
        "wall_s": {k: since_init(run.times, k) for k in ("medium", "rcboot", "services", "app", "ready")},
        "cpu_s": {k: since_init(run.cpu_times, k) for k in ("medium", "rcboot", "services", "app", "ready")},
        "kernel_init_s": run.kernel_init,
        "memory_mib": {"used": m.used_kib / MIB, "shmem": m.meminfo.get("Shmem", 0) / MIB,
                       "userland_pss": m.userland_pss_kib / MIB, "processes": len(m.processes),
                       **pid1_and_init_helpers(m)},
        "largest": [(p.pss_kib / MIB, p.command or p.name) for p in m.largest(10)],
        "respawn": again,
    }


def squashfs_and_iso(out: Path, variant: str) -> dict[str, float]:
    squashfs = out / variant / "build" / "pc" / "iso" / "live" / "rootfs.squashfs"
    iso = out / variant / "xenbox.iso"
    return {"squashfs_mib": squashfs.stat().st_size / 2**20 if squashfs.exists() else None,
            "iso_mib": iso.stat().st_size / 2**20}


def table(results: dict[str, list[dict]], sizes: dict[str, dict]) -> str:
    def med(variant: str, path: tuple) -> float | None:
        values = []
        for r in results[variant]:
            v = r
            for key in path:
                v = v.get(key) if isinstance(v, dict) else None
            if v is not None:
                values.append(v)
        return statistics.median(values) if values else None

    rows = [
        ("switch_root -> rc.boot started, wall s", ("switch_root_to_rcboot", "wall_s")),
        ("switch_root -> rc.boot started, QEMU CPU s", ("switch_root_to_rcboot", "cpu_s")),
        ("dom0 /init -> Xen services up, wall s", ("wall_s", "services")),
        ("dom0 /init -> console overview, wall s", ("wall_s", "ready")),
        ("dom0 /init -> Xen services up, QEMU CPU s", ("cpu_s", "services")),
        ("dom0 /init -> console overview, QEMU CPU s", ("cpu_s", "ready")),
        ("used: MemTotal - MemAvailable, MiB", ("memory_mib", "used")),
        ("  of which Shmem (tmpfs), MiB", ("memory_mib", "shmem")),
        ("userland Pss sum, MiB", ("memory_mib", "userland_pss")),
        ("userland processes", ("memory_mib", "processes")),
        ("PID 1 Pss, MiB", ("memory_mib", "pid1")),
        ("systemd-journald Pss, MiB", ("memory_mib", "systemd-journal")),
        ("systemd-udevd Pss, MiB", ("memory_mib", "systemd-udevd")),
        ("kill -9 -> new supervisor's size query, s", ("respawn", "size_query_s")),
        ("kill -9 -> new console app up (alt screen), s", ("respawn", "app_s")),
        ("kill -9 -> overview drawn again, wall s", ("respawn", "overview_s")),
        ("kill -9 -> overview drawn again, QEMU CPU s", ("respawn", "overview_cpu_s")),
    ]
    variants = list(results)
    lines = [f"{'':46}" + "".join(f"{v:>16}" for v in variants)]
    for label, path in rows:
        cells = [med(v, path) for v in variants]
        lines.append(f"{label:46}" + "".join(f"{'-' if c is None else f'{c:.1f}':>16}" for c in cells))
    for key, label in (("squashfs_mib", "root squashfs, MiB"), ("iso_mib", "ISO, MiB")):
        lines.append(f"{label:46}" + "".join(f"{sizes[v][key] or 0:>16.1f}" for v in variants))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure busybox init against systemd as dom0's init.")
    parser.add_argument("command", choices=("build", "measure"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/initcmp/images"))
    parser.add_argument("--variants", default="busybox,systemd")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--tag", default="", help="prefix of the serial logs' round numbers")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    if args.command == "build":
        for variant in variants:
            print(f"built {build(variant, args.out)}", file=sys.stderr)
        return 0
    results: dict[str, list[dict]] = {v: [] for v in variants}
    load = os.getloadavg()
    for number in range(1, args.rounds + 1):
        for variant in variants:     # alternating, one QEMU at a time
            iso = args.out / variant / "xenbox.iso"
            log = args.out / "logs" / f"{variant}-{args.tag}{number}.serial.log"
            results[variant].append(measure_one(variant, iso, log))
    sizes = {v: squashfs_and_iso(args.out, v) for v in variants}
    report = table(results, sizes)
    print(f"medians of {args.rounds} round(s); QEMU TCG, one boot at a time; host load "
          f"{load[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end\n{report}")
    for variant in variants:
        print(f"\n{variant}: largest processes (Pss MiB, last round)")
        for pss, command in results[variant][-1]["largest"]:
            print(f"  {pss:6.1f}  {command[:90]}")
    (args.out / f"init-compare{args.tag}.json").write_text(json.dumps(
        {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_start": load,
         "load_end": os.getloadavg(), "sizes": sizes, "runs": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
