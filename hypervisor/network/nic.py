"""What the console says about a network interface: driver, MAC, link, speed, read from sysfs."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SYSFS = Path("/sys/class/net")


@dataclass(frozen=True)
class Nic:
    name: str
    mac: str | None
    driver: str | None
    link: str                 # up, down, unknown
    speed_mbps: int | None

    @property
    def line(self) -> str:
        speed = f", {self.speed_mbps} Mb/s" if self.speed_mbps and self.speed_mbps > 0 else ""
        return f"{self.name} ({self.driver or 'unknown driver'}, {self.mac or 'no MAC'}), link {self.link}{speed}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def read_nic(name: str, sysfs: Path = SYSFS) -> Nic:
    folder = sysfs / name
    driver = os.path.basename(os.path.realpath(folder / "device" / "driver")) if (folder / "device" / "driver").exists() else None
    speed = _read(folder / "speed")
    return Nic(name, _read(folder / "address"), driver, _read(folder / "operstate") or "unknown",
               int(speed) if speed and speed.lstrip("-").isdigit() else None)
