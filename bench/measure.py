"""One boot and everything measured in it: milestones, Xen's and the kernel's clocks, memory."""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench import floor, memory, timeline
from bench.boot import booted
from bench.memory import Memory
from bench.timeline import Milestone

BOOT_TIMEOUT = 400      # as the end-to-end tests: TCG on a loaded 2-core machine
SETTLE = 10             # after the console is ready, so the screen's console (tty1) is up too


@dataclass(frozen=True)
class Profile:
    """What is different about booting the floor and booting XenBox."""
    name: str
    init: Milestone                     # the initramfs /init's first line
    ready_screen: str                   # a regex on the serial screen: the console is usable
    later: list[Milestone] = field(default_factory=list)   # milestones between /init and ready
    shell_key: str | None = None        # the key that opens a shell, and what the shell says first
    shell_banner: str | None = None

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
)

READY = Milestone("ready", "console ready", b"")     # seen on the screen, not in the output


@dataclass
class Run:
    profile: Profile
    times: dict[str, float | None]         # wall-clock seconds after QEMU started
    cpu_times: dict[str, float | None]     # QEMU's CPU seconds by then
    xen_dom0_start: float | None
    kernel_init: float | None
    memory: Memory
    log: Path

    @property
    def milestones(self) -> list[Milestone]:
        return [*self.profile.milestones, READY]


def boot(profile: Profile, iso: Path, log: Path) -> Run:
    def say(text: str) -> None:
        print(f"bench: {profile.name}: {text}", file=sys.stderr, flush=True)

    say(f"booting {iso.name} (serial log {log})")
    with booted(iso, log) as console:
        try:
            return _measure(profile, console, log, say)
        finally:    # also when the boot fails: where it stopped is in there
            log.with_suffix(".times.txt").write_text(timeline.stamped_lines(console.events, console.cpu))


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
