"""One boot and everything measured in it: milestones, Xen's and the kernel's clocks, memory."""
from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import console_start, floor, http, memory, refresh, shell, timeline
from bench.boot import booted, cpu_seconds
from bench.console_start import ConsoleStart
from bench.memory import Memory
from bench.refresh import Refresh
from bench.timeline import Milestone

BOOT_TIMEOUT = 400      # as the end-to-end tests: TCG on a loaded 2-core machine
SETTLE = 10             # after the console is ready, so the screen's console (tty1) is up too
GUEST_TIMEOUT = 300     # after the console is ready, for the sample guest's first HTTP answer
SAMPLE_GUEST = "10.0.2.16"      # QEMU's DHCP gives dom0 10.0.2.15 and the first guest the next lease
GUEST_LOG = "/var/log/xen/console/guest-sample-web.log"


@dataclass(frozen=True)
class Profile:
    """What is different about booting the floor and booting XenBox."""
    name: str
    init: Milestone                     # the initramfs /init's first line
    ready_screen: str                   # a regex on the serial screen: the console is usable
    later: list[Milestone] = field(default_factory=list)   # milestones between /init and ready
    shell_key: str | None = None        # the key that opens a shell, and what the shell says first
    shell_banner: str | None = None
    appliances: bool = False            # time the sample guest's first HTTP answer; the Appliances refresh

    @property
    def milestones(self) -> list[Milestone]:
        """What is looked for in the serial output, in boot order (console ready is seen on the screen)."""
        return [*timeline.COMMON, self.init, *self.later]


FLOOR = Profile(
    name="floor",
    init=Milestone("init", "dom0 /init", re.escape(floor.INIT_LINE).encode()),
    ready_screen=r"(?m)^" + re.escape(floor.PROMPT.strip()),
)
XENBOX = Profile(
    name="xenbox",
    init=Milestone("init", "dom0 /init", rb"xenbox: early boot \(initramfs\) started"),
    later=[  # XenBox's own boot messages (initramfs/init, rc.boot): where its time goes
        Milestone("medium", "boot medium found", rb"xenbox: boot medium found"),
        Milestone("services", "Xen services up", rb"xenbox: Xen services up"),
        Milestone("app", "console app up", rb"\x1b\[\?1049h"),   # Textual switches to the alternate screen
    ],
    ready_screen=r"HVM: (available|unavailable)",
    shell_key="s",
    shell_banner=r"XenBox shell",
    appliances=True,
)

READY = Milestone("ready", "console ready", b"")     # seen on the screen, not in the output


@dataclass(frozen=True)
class GuestAnswer:
    """The autostarted sample guest's first HTTP answer, asked from the host through QEMU's port forward."""
    forwarded_to: str               # the guest address the host port went to
    address: str | None             # the address the guest said it serves on (its console log in dom0)
    http_s: float | None            # wall seconds after QEMU started
    status: int | None
    started_s: float | None         # when XenBox said it had started the guest (serial console)
    http_cpu_s: float | None = None     # QEMU's CPU seconds at the answer


@dataclass
class Run:
    profile: Profile
    times: dict[str, float | None]         # wall-clock seconds after QEMU started
    cpu_times: dict[str, float | None]     # QEMU's CPU seconds by then
    xen_dom0_start: float | None
    kernel_init: float | None
    memory: Memory
    log: Path
    guest: GuestAnswer | None = None                            # XenBox only
    refreshes: list[Refresh] = field(default_factory=list)     # XenBox only: one per appliance count
    console_starts: dict[str, ConsoleStart] = field(default_factory=dict)  # XenBox only: by kind, once idle

    @property
    def milestones(self) -> list[Milestone]:
        return [*self.profile.milestones, READY]


def boot(profile: Profile, iso: Path, log: Path) -> Run:
    def say(text: str) -> None:
        print(f"bench: {profile.name}: {text}", file=sys.stderr, flush=True)

    say(f"booting {iso.name} (serial log {log})")
    port = http.free_port() if profile.appliances else None
    forwards = [http.forward(port, SAMPLE_GUEST)] if port else []
    with booted(iso, log, forwards) as console:
        poller = (http.FirstAnswer(port, console.started, lambda: cpu_seconds(console.child.pid)).start()
                  if port else None)
        try:
            run = _measure(profile, console, log, say)
            if poller:
                run.guest = guest_answer(console, poller, run.times[READY.key], say)
                say(f"typing the refresh probe; refreshes with {' and '.join(map(str, refresh.COUNTS))} appliances")
                run.refreshes = refresh.measure(console)
                say("refresh CPU: " + "; ".join(f"{r.appliances} appliances {r.steady_ms:.1f} ms"
                                                for r in run.refreshes))
                say(f"typing the console-start probe; {console_start.RUNS} runs each of {' and '.join(console_start.KINDS)}")
                run.console_starts = console_start.measure(console)
                say("console start, idle: " + "; ".join(f"{c.kind} {c.total_s:.1f} s"
                                                        for c in run.console_starts.values()))
            return run
        finally:    # also when the boot fails: where it stopped is in there
            if poller:
                poller.stop()
            log.with_suffix(".times.txt").write_text(timeline.stamped_lines(console.events, console.cpu))


def guest_answer(console, poller: http.FirstAnswer, ready: float, say) -> GuestAnswer:
    """Wait for the sample guest's first HTTP answer, then ask dom0 which address the guest really took."""
    deadline = console.started + ready + GUEST_TIMEOUT
    while poller.answer is None and time.monotonic() < deadline:
        console.settle(0.5)
    # Into the serial log too, for a guest that never answered: Xen's view, and the log's tail without
    # escapes (the guest's prompt asks the terminal where its cursor is, and pyte would type the
    # answer into dom0's shell).
    said = shell.run(console, f"xl list; /bin/busybox tail -n 20 {GUEST_LOG} | /bin/busybox tr -d '\\033'")
    address = http.serving_address(said)
    started = re.search(rb"appliance sample-web started", console.transcript)
    started_s = console.events[timeline.chunk_index(console.events, started.end() - 1)][0] if started else None
    answer = poller.answer
    if answer:
        say(f"sample guest ({address}) answered HTTP {answer.status} at {answer.at:.1f} s, "
            f"{answer.at - ready:.1f} s after the console was ready")
    else:
        say(f"sample guest ({address}) gave no HTTP answer at {SAMPLE_GUEST} within {GUEST_TIMEOUT} s of ready")
    return GuestAnswer(SAMPLE_GUEST, address, answer.at if answer else None, answer.status if answer else None,
                       started_s, answer.cpu if answer else None)


def _measure(profile: Profile, console, log: Path, say) -> Run:
    console.wait_for_screen(profile.ready_screen, BOOT_TIMEOUT)
    ready = len(console.events) - 1     # the chunk that completed the drawing
    say(f"console ready at {console.events[ready][0]:.1f} s; letting the boot settle {SETTLE} s")
    console.settle(SETTLE)
    return read_run(profile, console, ready, log, say)


def read_run(profile: Profile, console, ready: int, log: Path, say) -> Run:
    """Once the boot has settled: open the shell, read memory, and turn the timestamps into a Run."""
    if profile.shell_key:
        console.press(profile.shell_key)
        console.wait_for_screen(profile.shell_banner, 60)
        console.settle(1)
    used = memory.measure(console)
    kernel_init = timeline.kernel_init(console)
    say(f"dom0 used {used.used_kib // 1024} MiB, userland Pss {used.userland_pss_kib // 1024} MiB")
    chunks = {**timeline.find(console.events, console.transcript, profile.milestones), READY.key: ready}
    times = {key: None if i is None else console.events[i][0] for key, i in chunks.items()}
    cpu_times = {key: None if i is None else console.cpu[i] for key, i in chunks.items()}
    return Run(profile, times, cpu_times, timeline.xen_dom0_start(console.transcript), kernel_init, used, log)
