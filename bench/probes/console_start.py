"""Run in dom0 by `make bench`, after the boot: how long a console takes to start in this dom0, idle.

    PYTHONPATH=/usr/lib/xenbox/python python3 console_start.py textual|xenbox

One fresh interpreter per run, headless (nothing is written to a terminal), 80x24:
  textual   a one-widget Textual app, until its first frame: the least any Textual console costs here;
  xenbox    XenBox's console app, until a screen shows its HVM line (at boot the console is forked
            from the supervisor, which has imported already: this is the same work, unshared).
Prints MARK then, e.g.:

    kind=textual start_ms=300 import_ms=2800 shown_ms=400

start: the process's creation to this script's first line (the interpreter's own start),
from /proc/self/stat in clock ticks (10 ms); import: from that line to the app made (asyncio
and the app's imports); shown: the app's start to its first frame (textual) or to the HVM
line (xenbox).

Typed over the serial line into a heredoc (without this docstring), so: no exclamation marks, no tabs.
"""
import time

STARTED = time.clock_gettime(time.CLOCK_BOOTTIME)

import asyncio
import os
import sys

MARK = "BENCH" "-START"     # split, so the typed script's echo never reads as a result
SIZE = (80, 24)
POLL = 0.01
TIMEOUT = 120.0


def interpreter_start():
    """Seconds from this process's creation to STARTED: /proc gives the creation in ticks after boot."""
    with open("/proc/self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return STARTED - int(fields[19]) / os.sysconf("SC_CLK_TCK")


def textual_app():
    from textual.app import App
    from textual.widgets import Static

    class OneWidget(App):
        drawn = False

        def compose(self):
            yield Static("HVM: available (AMD-V)")

        def on_mount(self):
            self.call_after_refresh(self.first_frame)

        def first_frame(self):
            self.drawn = True

    app = OneWidget()
    return app, lambda: app.drawn


def xenbox_app():
    import tui.app
    from tui.widgets.host_panel import HostPanel

    app = tui.app.XenBoxApp(tty="")

    def hvm_shown():
        return any("HVM:" in getattr(panel, "_text", "")
                   for screen in app.screen_stack for panel in screen.query(HostPanel))
    return app, hvm_shown


async def run_until(app, shown):
    running = asyncio.create_task(app.run_async(headless=True, size=SIZE))
    deadline = time.monotonic() + TIMEOUT
    while not shown():
        if running.done() or time.monotonic() > deadline:
            raise SystemExit("the app did not show what was waited for (no Xen here?)")
        await asyncio.sleep(POLL)
    at = time.clock_gettime(time.CLOCK_BOOTTIME)
    app.exit()
    await running
    return at


def main(kind):
    make = {"textual": textual_app, "xenbox": xenbox_app}[kind]
    app, shown = make()
    imported = time.clock_gettime(time.CLOCK_BOOTTIME)
    at = asyncio.run(run_until(app, shown))
    print("%s kind=%s start_ms=%.0f import_ms=%.0f shown_ms=%.0f"
          % (MARK, kind, interpreter_start() * 1000, (imported - STARTED) * 1000, (at - imported) * 1000),
          flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
