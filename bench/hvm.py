"""Issue 17's two HVM figures, each beside a baseline from the same run:

- a new HVM guest's first screen: `xenbox appliance create NAME --iso ISO --disk-size 64M --memory 128`
  (Debian's grub-rescue-pc CD, put into the ISO library from a stick) until the guest's screen first shows
  text (SeaBIOS's or GRUB's, in VGA text mode), read in dom0 from the device model's QMP screendump
  (tests/e2e/new_guests/hvm.py, copied onto the stick with bench/probes/hvm_first_screen.py). Baseline: the
  same CD booted by QEMU TCG on the host, no Xen, same memory, VGA card and disk, QEMU's start until its QMP
  screendump first shows text. Before the guest draws anything QEMU's screendump is not blank: it says
  "Guest has not initialized the display (yet)." in 640x480, so only a text-mode screen counts.
- dom0's memory per running HVM guest: dom0's userland Pss (bench/memory.py) while the guest runs, beside
  the same sum before it was created, in the same boot; the difference is the figure. The device model's
  Rss and Pss and every process that appeared with the guest (the device model, `xl create`'s daemon) are
  printed under it.

Both run in the storage boot (bench/storage.py), which has a data store for the ISO library and a stick; with
`--only hvm` that boot is made without the storage figures' 1 GiB image.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import memory, shell
from bench.boot import cpu_seconds
from bench.memory import Process, ProbeError
from bench.report import Figure
from firmware.board import REPO
from firmware.qemu import settings

RESCUE_ISO = Path("/usr/lib/grub-rescue/grub-rescue-cdrom.iso")     # Debian's grub-rescue-pc (ci/host-packages.txt)
SCREEN_SCRIPT = REPO / "tests" / "e2e" / "new_guests" / "hvm.py"
PROBE = Path(__file__).resolve().parent / "probes" / "hvm_first_screen.py"
NAME = "hvm-bench"
MEMORY_MIB = 128
DISK = "64M"
INTERVAL = 0.5              # between screendumps, both sides
SCREEN_TIMEOUT = 600        # the guest's screen, once created (TCG, nested)
CREATE_TIMEOUT = 600
SETTLE = 15                 # s after the text screen before dom0's memory is read: GRUB has loaded by then
TEXT_MODE = (720, 400)      # VGA's 80x25 text mode, as QEMU's screendump draws it
DEVICE_MODEL = "xen-qemu-system-i386"
MIB = 1024


@dataclass(frozen=True)
class Screen:
    at_s: float                 # s after the start (create typed / QEMU spawned)
    width: int
    height: int
    colours: int
    cpu_s: float | None = None  # QEMU's CPU seconds by then (host baseline only)
    poll: int = 0               # which screendump showed it: the first means it was there by the first look


@dataclass(frozen=True)
class HvmRun:
    create_s: float                     # `xenbox appliance create` returned (guest created and started)
    first: Screen | None                # first non-blank screen, any mode (QEMU's placeholder counts)
    text: Screen | None                 # first non-blank VGA text-mode screen: the figure
    polls: int
    pss_before_kib: int                 # dom0 userland Pss before the guest was created
    pss_with_kib: int                   # the same with the guest running
    new_processes: list[Process] = field(default_factory=list)    # there with the guest, not before
    domid: int | None = None
    device_model_rss_kib: int | None = None
    device_model_pss_kib: int | None = None


@dataclass(frozen=True)
class AloneRun:
    first: Screen | None
    text: Screen | None
    polls: int
    log: Path


def stick_files() -> dict[str, Path]:
    """What the storage boot's stick carries for this: the CD and the two scripts run in dom0."""
    if not RESCUE_ISO.is_file():
        raise FileNotFoundError(f"{RESCUE_ISO} is missing: install grub-rescue-pc (ci/host-packages.txt)")
    return {RESCUE_ISO.name: RESCUE_ISO, "hvm.py": SCREEN_SCRIPT, PROBE.name: PROBE}


def colours(ppm: bytes, stride: int = 7) -> tuple[int, int, int]:
    """Width, height and how many colours a binary PPM (QMP's screendump) shows, every `stride`-th pixel
    looked at, as tests/e2e/new_guests/hvm.py does in dom0: one colour is a blank screen."""
    magic, size, maxval, pixels = ppm.split(b"\n", 3)
    if magic != b"P6":
        raise ValueError(f"not a binary PPM (magic {magic[:8]!r})")
    width, height = map(int, size.split())
    return width, height, len({pixels[i:i + 3] for i in range(0, len(pixels) - 2, 3 * stride)})


def last_json(output: str) -> dict:
    """The probe's one JSON line in what the shell printed (kernel messages may surround it)."""
    for line in reversed(output.splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    raise ProbeError(f"no JSON line from {PROBE.name} in:\n{output[-1500:]}")


def created_span(output: str) -> tuple[float, float]:
    """dom0 uptimes on each side of `xenbox appliance create`, from its BENCH-CREATE line; fails if it failed."""
    for line in reversed(output.splitlines()):
        words = line.split()
        if len(words) == 4 and words[0] == "BENCH-CREATE":
            if words[3] != "0":
                raise ProbeError(f"`xenbox appliance create` failed (exit {words[3]}):\n{output[-1500:]}")
            return float(words[1]), float(words[2])
    raise ProbeError(f"no BENCH-CREATE line in:\n{output[-1500:]}")


def screen_at(seen: dict | None, start: float) -> Screen | None:
    if not seen:
        return None
    return Screen(seen["uptime"] - start, seen["width"], seen["height"], seen["colours"], poll=seen["poll"])


def guest_processes(before: memory.Memory, with_guest: memory.Memory) -> list[Process]:
    """The processes running with the guest that were not there before it (by pid and command)."""
    known = {(p.pid, p.command) for p in before.processes}
    return [p for p in with_guest.processes if (p.pid, p.command) not in known]


def serving(processes: list[Process], name: str, domid: int) -> list[Process]:
    """Of the new processes, those there for the guest: its device model (`-xen-domid N`) and whatever names
    it (`xl create .../NAME.cfg`, which stays to watch the domain); not a `sleep` some dom0 loop was in."""
    return [p for p in processes if f"-xen-domid {domid} " in f"{p.command} " or name in p.command]


def device_model(found: dict) -> tuple[int | None, int | None]:
    """Rss and Pss (KiB) of the guest's device model, from the probe's `memory` answer."""
    models = [m for m in found.get("device_models", []) if DEVICE_MODEL in m.get("command", "")]
    if not models:
        return None, None
    return sum(m.get("rss_kib", 0) for m in models), sum(m.get("pss_kib", 0) for m in models)


def measure(console, stick: str) -> HvmRun:
    """In the booted dom0, a shell open, the stick mounted at `stick` and a data store made."""
    def say(text: str) -> None:
        print(f"bench: hvm: {text}", file=sys.stderr, flush=True)
    probe = f"python3 {stick}/{PROBE.name}"
    # the autostarted sample guest would share the emulated CPUs with the new one
    shell.run(console, "xl destroy sample-web 2>/dev/null; true", 120)
    shell.run_ok(console, f"xenbox iso add {stick}/{RESCUE_ISO.name}", "`xenbox iso add` failed", 300)
    console.settle(5)
    before = memory.measure(console)
    say(f"dom0 userland Pss before the guest: {before.userland_pss_kib / MIB:.1f} MiB; creating {NAME}")
    output = shell.run(
        console,
        f"t0=$(cut -d' ' -f1 /proc/uptime); xenbox appliance create {NAME} --iso {RESCUE_ISO.name} "
        f"--disk-size {DISK} --memory {MEMORY_MIB}; rc=$?; t1=$(cut -d' ' -f1 /proc/uptime); "
        f"echo BENCH-CREATE $t0 $t1 $rc; [ $rc = 0 ] && {probe} screen {NAME} {SCREEN_TIMEOUT} {INTERVAL}",
        CREATE_TIMEOUT + SCREEN_TIMEOUT + 60)
    start, created = created_span(output)
    seen = last_json(output)
    first, text = screen_at(seen["first"], start), screen_at(seen["text"], start)
    say(f"created in {created - start:.1f} s; first screen "
        + (f"at {first.at_s:.1f} s ({first.width}x{first.height}, screendump {first.poll})" if first else "never")
        + (f", text at {text.at_s:.1f} s (screendump {text.poll})" if text else ", never text"))
    console.settle(SETTLE)
    with_guest = memory.measure(console)
    rss, pss = device_model(last_json(shell.run(console, f"{probe} memory {NAME}", 120)))
    new = guest_processes(before, with_guest)
    say(f"dom0 userland Pss with it: {with_guest.userland_pss_kib / MIB:.1f} MiB; new processes: "
        + ", ".join(f"{p.name} {p.pss_kib / MIB:.1f}" for p in new))
    return HvmRun(created - start, first, text, seen["polls"], before.userland_pss_kib,
                  with_guest.userland_pss_kib, new, rss, pss, seen["domid"])


class Qmp:
    """QEMU's monitor on a unix socket, one command at a time."""

    def __init__(self, path: Path, timeout: float = 30) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self.stream = self.sock.makefile("rw")
        self.stream.readline()                  # the greeting
        self.execute("qmp_capabilities")

    def execute(self, command: str, **arguments) -> dict:
        self.stream.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        self.stream.flush()
        while True:
            reply = json.loads(self.stream.readline())
            if "return" in reply or "error" in reply:
                return reply

    def close(self) -> None:
        self.sock.close()


def alone_argv(iso: Path, disk: Path, qmp: Path) -> list[str]:
    """The guest as `xenbox appliance create` makes it, as its device model's argv showed (128 MiB, 1 vCPU,
    Cirrus VGA, a blank disk and the CD on IDE, boot order CD then disk, `-net none`), on QEMU's own PC."""
    return ["qemu-system-x86_64", "-accel", "tcg", "-cpu", settings()["cpu_tcg"], "-m", str(MEMORY_MIB),
            "-vga", "cirrus", "-display", "none", "-serial", "none", "-no-reboot",
            "-drive", f"media=cdrom,format=raw,readonly=on,file={iso}",
            "-drive", f"if=ide,format=raw,file={disk}", "-boot", "order=dc", "-net", "none",
            "-qmp", f"unix:{qmp},server=on,wait=off"]


def boot_alone(work: Path, log: Path, timeout: float = 300) -> AloneRun:
    """The same CD in QEMU TCG on the host, no Xen: QEMU's spawn until its screen first shows something."""
    print(f"bench: hvm alone: booting {RESCUE_ISO.name} in QEMU without Xen (log {log})", file=sys.stderr,
          flush=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-hvm-", dir=work) as folder:
        folder = Path(folder)
        disk, qmp_path, dump = folder / "disk.img", folder / "qmp.sock", folder / "screen.ppm"
        with open(disk, "wb") as blank:
            blank.truncate(64 * 1024 * 1024)
        with open(log, "wb") as output:
            started = time.monotonic()
            child = subprocess.Popen(alone_argv(RESCUE_ISO, disk, qmp_path), stdout=output, stderr=output)
            try:
                while not qmp_path.exists():
                    if child.poll() is not None or time.monotonic() - started > 60:
                        raise ProbeError(f"QEMU alone never opened its QMP socket (exit {child.poll()}): see {log}")
                    time.sleep(0.05)
                qmp = Qmp(qmp_path)
                first = text = None
                polls = 0
                while time.monotonic() - started < timeout:
                    at, cpu = time.monotonic() - started, cpu_seconds(child.pid)
                    qmp.execute("screendump", filename=str(dump))
                    polls += 1
                    width, height, count = colours(dump.read_bytes())
                    if count > 1:
                        seen = Screen(at, width, height, count, cpu, polls)
                        first = first or seen
                        if (width, height) == TEXT_MODE:
                            text = seen
                            break
                    time.sleep(INTERVAL)
                qmp.close()
            finally:
                child.terminate()
                child.wait(30)
    print("bench: hvm alone: " + (f"first screen at {first.at_s:.1f} s" if first else "never a screen")
          + (f", text at {text.at_s:.1f} s" if text else ", never text"), file=sys.stderr, flush=True)
    return AloneRun(first, text, polls, log)


GROUP_SCREEN = (f"New HVM guest (issue 17): Debian's grub-rescue-pc CD, {MEMORY_MIB} MiB, a {DISK} disk, s after "
                f"`xenbox appliance create`;\n  baseline: the same CD in QEMU TCG alone, no Xen, s after QEMU's start; "
                f"screens by QMP screendump every {INTERVAL} s")
GROUP_MEMORY = ("dom0 memory per running HVM guest (issue 17), same boot, MiB; baseline: dom0 userland Pss before "
                "the guest was created")


def _at(screen: Screen | None) -> float | None:
    return screen.at_s if screen else None


def _mib(kib: int | None) -> float | None:
    return None if kib is None else kib / MIB


def figures(run: HvmRun | None, alone: AloneRun | None) -> list[Figure]:
    """The XenBox column is the guest under Xen, the baseline column QEMU alone / dom0 before the guest."""
    base = "QEMU TCG alone, no Xen"
    before = _mib(run.pss_before_kib) if run else None
    new_pss = sum(p.pss_kib for p in serving(run.new_processes, NAME, run.domid)) if run else None
    return [
        Figure(GROUP_SCREEN, "hvm_first_screen_s", "create -> first text on its screen", "s",
               _at(alone.text) if alone else None, _at(run.text) if run else None, baseline=base),
        Figure(GROUP_SCREEN, "hvm_create_s", "  `xenbox appliance create` returned", "s",
               None, run.create_s if run else None, baseline=""),
        Figure(GROUP_MEMORY, "hvm_dom0_userland_pss", "userland Pss: guest running", "MiB",
               before, _mib(run.pss_with_kib) if run else None, "difference <= 40 MiB",
               before + 40 if before is not None else None, "dom0 before the guest"),
        Figure(GROUP_MEMORY, "hvm_new_processes_pss", "  processes serving it, Pss", "MiB",
               None, _mib(new_pss), "<= 40 MiB", 40.0, baseline=""),
        Figure(GROUP_MEMORY, "hvm_device_model_pss", "  of which the device model, Pss", "MiB",
               None, _mib(run.device_model_pss_kib) if run else None, baseline=""),
        Figure(GROUP_MEMORY, "hvm_device_model_rss", "  the device model, Rss", "MiB",
               None, _mib(run.device_model_rss_kib) if run else None, baseline=""),
    ]
