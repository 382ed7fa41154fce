"""Whether a guest uses PV drivers: its disks' and NICs' frontends, connected or not, from xenstore.

Which devices a guest has is on dom0's side, one folder per device under
/local/domain/0/backend/{vbd,qdisk,vif}/DOMID/DEVID (blkback, QEMU's qdisk, netback). Whether the
guest's own driver took the device is on its side: the frontend's `state` (the backend's `frontend`
key names its folder, /local/domain/DOMID/device/{vbd,vif}/DEVID), a XenbusState: 1 Initialising,
2 InitWait, 3 Initialised, 4 Connected, 5 Closing, 6 Closed. A PV guest's frontends reach 4 as its
kernel boots; an HVM guest's stay below 4 until PV drivers load in it, and until then it uses QEMU's
emulated disks and NIC. A CD drive is left out: PV drivers leave an HVM guest's CD to QEMU (Linux's
blkfront refuses a "cdrom" device-type there).

One `xenstore-ls -f /local/domain` answers for every guest at once; `Frontends` asks it at most every
few seconds, so the Appliances screen's two-second refresh does not start a program each time.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from hypervisor import runner

CONNECTED = "4"
DISK_BACKENDS, NIC_BACKENDS = ("vbd", "qdisk"), ("vif",)
LINE = re.compile(r'^(/\S*) = "(.*)"$')
BACKEND = re.compile(r"^/local/domain/0/backend/(vbd|qdisk|vif)/(\d+)/(\d+)$")
READ_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class Count:
    connected: int
    devices: int

    def __str__(self) -> str:
        return f"{self.connected}/{self.devices}"


@dataclass(frozen=True)
class PvDrivers:
    """One guest's disks and NICs: how many of each there are, and how many a PV frontend connected."""
    disks: Count
    nics: Count

    @property
    def connected(self) -> int:
        return self.disks.connected + self.nics.connected

    @property
    def devices(self) -> int:
        return self.disks.devices + self.nics.devices

    @property
    def summary(self) -> str:
        """The sentence the console and `xenbox appliance list` show."""
        counts = ", ".join(f"{kind} {count}" for kind, count in (("disks", self.disks), ("NICs", self.nics))
                           if count.devices)
        if self.devices == 0:
            return "no disks or NICs"
        if self.connected == self.devices:
            return f"PV drivers: {counts} connected"
        if self.connected == 0:
            return "no PV drivers (emulated devices)"
        return f"PV drivers partly connected: {counts}"

    @property
    def short(self) -> str:
        """For a narrow column: "0/0 1/1" (disks, then NICs, connected of all), "emulated", or "none"."""
        if self.devices == 0:
            return "none"
        return "emulated" if self.connected == 0 else f"{self.disks} {self.nics}"

    def as_json(self) -> dict:
        return {"disks": {"connected": self.disks.connected, "devices": self.disks.devices},
                "nics": {"connected": self.nics.connected, "devices": self.nics.devices},
                "summary": self.summary}


def parse_tree(text: str) -> dict[str, str]:
    """`xenstore-ls -f PATH`'s lines, `/full/path = "value"`, as path -> value (still escaped as printed)."""
    tree = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = LINE.match(line)
        if match is None:
            raise runner.ParseError(f"xenstore-ls printed a line that is not `path = \"value\"` "
                                    f"(line {number}): {line!r}")
        tree[match.group(1)] = match.group(2)
    return tree


def pv_drivers(tree: dict[str, str]) -> dict[int, PvDrivers]:
    """Every guest with a disk or NIC backend in dom0, by domid."""
    found: dict[int, tuple[list[bool], list[bool]]] = {}
    for path in tree:
        match = BACKEND.match(path)
        if match is None:
            continue
        kind, domid, devid = match.group(1), int(match.group(2)), match.group(3)
        if tree.get(f"{path}/device-type") == "cdrom":
            continue
        usual = f"/local/domain/{domid}/device/{'vif' if kind in NIC_BACKENDS else 'vbd'}/{devid}"
        front = tree.get(f"{path}/frontend") or usual
        connected = tree.get(f"{front}/state") == CONNECTED
        disks, nics = found.setdefault(domid, ([], []))
        (nics if kind in NIC_BACKENDS else disks).append(connected)
    return {domid: PvDrivers(Count(sum(disks), len(disks)), Count(sum(nics), len(nics)))
            for domid, (disks, nics) in found.items()}


def read_pv_drivers(run: runner.Runner = runner.run) -> dict[int, PvDrivers]:
    """Every guest's, from one `xenstore-ls`. CommandError or ParseError when xenstore cannot be read."""
    return pv_drivers(parse_tree(run(["xenstore-ls", "-f", "/local/domain"], timeout=30)))


class Frontends:
    """`read_pv_drivers` for the running guests, asked again only when the guests running changed or
    `every` seconds have passed: a frontend's state changes as a guest boots, hardly ever after."""

    def __init__(self, run: runner.Runner = runner.run, clock: Callable[[], float] = time.monotonic,
                 every: float = READ_EVERY_SECONDS) -> None:
        self._run, self._clock, self._every = run, clock, every
        self._domids: frozenset[int] = frozenset()
        self._read_at: float | None = None
        self._found: dict[int, PvDrivers] = {}

    def of(self, domids: Iterable[int]) -> dict[int, PvDrivers]:
        """Those of `domids` (dom0 left out); nothing at all when xenstore cannot be read (then the
        screen shows no line for it rather than a wrong one), asked again at the next refresh."""
        wanted = frozenset(domid for domid in domids if domid != 0)
        if not wanted:
            return {}
        now = self._clock()
        if wanted != self._domids or self._read_at is None or now - self._read_at >= self._every:
            try:
                self._found, self._read_at = read_pv_drivers(self._run), now
            except (runner.CommandError, runner.ParseError):
                self._found, self._read_at = {}, None
            self._domids = wanted
        return {domid: drivers for domid, drivers in self._found.items() if domid in wanted}
