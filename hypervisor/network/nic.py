"""A network interface: the names Linux accepts for one, and what the console says of it (driver, MAC,
link, speed, read from sysfs)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

SYSFS = Path("/sys/class/net")
# What Linux takes as an interface name (IFNAMSIZ less the NUL), and nothing a vif spec or ip would misread.
IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
IFNAME_VALID = "a Linux interface name: 1-15 letters, digits, '_', '.' or '-'"


def is_ifname(name: str) -> bool:
    return bool(IFNAME.fullmatch(name)) and name not in (".", "..")


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
