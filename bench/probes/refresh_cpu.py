"""Run in dom0 by `make bench`: the CPU one Appliances-screen refresh costs, with N appliances defined.

    PYTHONPATH=/usr/lib/xenbox/python python3 refresh_cpu.py REFRESHES N [N ...]

A refresh is what tui/screens/appliances.py's _read_rows does: `xl list`, the CPU
meter, the PV frontends of the running guests (one `xenstore-ls`, every 10 s at most),
the catalog through the console's CatalogCache, the autostart status, the rows.
For each N, copies of the sample appliance's manifest (autostart off, its kernel
and ramdisk empty files in each copy's bundle: a path out of the bundle would be refused)
are put in the operator's folder until the catalog holds N appliances; then one first refresh
(a new cache and meter: every manifest read, `xl info` asked) and REFRESHES
refreshes as the screen repeats them every two seconds (manifests only stat'ed).
CPU is user + system of this process and its children (`xl`), from getrusage.
The copies are removed at the end. One line per N, MARK then:

    n=50 broken=0 refreshes=10 steady_ms=41.2 steady_xl_ms=20.1 first_ms=180.3 steady_wall_ms=60.0

Typed over the serial line into a heredoc (without this docstring), so: no
exclamation marks, no tabs.
"""
import re
import resource
import shutil
import sys
import time
from pathlib import Path

from hypervisor.appliances.autostart_status import read_status
from hypervisor.appliances.catalog import APPLIANCE_DIRS, discover
from hypervisor.xen.domains import CpuMeter
from hypervisor.xen.frontends import Frontends
from hypervisor.xen.xl import Xl
from tui.catalog_cache import CatalogCache
from tui.screens.appliance_rows import build_rows

MARK = "BENCH" "-REFRESH"      # split, so the typed script's echo never reads as a result
SAMPLE = Path("/usr/share/xenbox/appliances/sample-web")
OPERATOR = APPLIANCE_DIRS[0]
PREFIX = "bench-copy-"
PAUSE = 0.2                     # between refreshes, so the meter has an interval
SCREEN_SECONDS = 2.0            # tui/screens/appliances.py REFRESH_SECONDS


def copy_manifest(text, name):
    """The sample's manifest under another name, not started at boot; with the files it names in
    its bundle (kernel, ramdisk), which each copy holds as an empty file of its own."""
    text, named = re.subn(r'(?m)^name = "[^"]*"', 'name = "%s"' % name, text)
    text, off = re.subn(r"(?m)^enabled = true", "enabled = false", text)
    files = re.findall(r'(?m)^(?:kernel|ramdisk) = "([^"/][^"]*)"', text)
    if (named, off, len(files)) == (1, 1, 2):
        return text, files
    raise SystemExit("the sample manifest changed shape: name, a relative kernel and ramdisk, or autostart "
                     "not found once each")


def make_copies(count):
    for folder in OPERATOR.glob(PREFIX + "*"):
        shutil.rmtree(folder)
    for number in range(count):
        bundle = OPERATOR / ("%s%02d" % (PREFIX, number))
        bundle.mkdir(parents=True)
        text, files = copy_manifest((SAMPLE / "appliance.toml").read_text(), bundle.name)
        (bundle / "appliance.toml").write_text(text)
        for name in files:
            (bundle / name).write_bytes(b"")


def cpu():
    own, xl = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, xl.ru_utime + xl.ru_stime


class Screen:
    """The Appliances screen's refresh without Textual: the same calls, in the same order."""

    def __init__(self, xl):
        self.xl = xl
        self.catalog = CatalogCache().entries
        self.refreshes = 0
        # the screen's clock, not this loop's: xenstore-ls as often as two-second refreshes ask it
        self.frontends = Frontends(clock=lambda: self.refreshes * SCREEN_SECONDS).of
        self.meter = None

    def refresh(self):
        self.refreshes += 1
        domains = self.xl.domains()
        if self.meter is None:
            self.meter = CpuMeter(self.xl.info().nr_cpus)
        cpu_share = self.meter.sample(domains, time.monotonic())
        drivers = self.frontends(domain.domid for domain in domains)
        return build_rows(self.catalog(), domains, cpu_share, read_status(), drivers=drivers)


def timed(call):
    own, xl, wall = *cpu(), time.monotonic()
    result = call()
    own_after, xl_after = cpu()
    return result, own_after - own, xl_after - xl, time.monotonic() - wall


def measure(xl, wanted, refreshes):
    make_copies(0)
    make_copies(max(0, wanted - len(discover())))
    screen = Screen(xl)
    rows, first_own, first_xl, _ = timed(screen.refresh)
    own = children = wall = 0.0
    for _ in range(refreshes):
        time.sleep(PAUSE)
        rows, o, c, w = timed(screen.refresh)
        own, children, wall = own + o, children + c, wall + w
    broken = sum(1 for row in rows if row.state == "broken")
    ms = 1000.0 / refreshes
    print("%s n=%d broken=%d refreshes=%d steady_ms=%.1f steady_xl_ms=%.1f first_ms=%.1f steady_wall_ms=%.1f"
          % (MARK, len(rows), broken, refreshes, (own + children) * ms, children * ms,
             (first_own + first_xl) * 1000, wall * ms), flush=True)


def main(argv):
    refreshes, counts = int(argv[0]), [int(n) for n in argv[1:]]
    xl = Xl.on_this_host()
    Screen(xl).refresh()        # warm: imports done, files in the page cache
    try:
        for count in counts:
            measure(xl, count, refreshes)
    finally:
        make_copies(0)


if __name__ == "__main__":
    main(sys.argv[1:])
