"""Drivers that asked for firmware the image does not have, from the kernel's own log lines.

The lines are those of dom0's kernel (Debian's linux 6.1, the strings of the vmlinuz XenBox ships):
  drivers/base/firmware_loader/main.c, _request_firmware():
      dev_warn(device, "Direct firmware load for %s failed with error %d\\n", name, ret)
  Debian's patch "firmware_class: Log every success and failure against given device" (same function):
      dev_err(device, "firmware: failed to load %s (%d)\\n", name, ret)
  drivers/net/ethernet/realtek/r8169_firmware.c, rtl_fw_request_firmware():
      dev_err(rtl_fw->dev, "Unable to load firmware %s (%d)\\n", rtl_fw->fw_name, rc)
dev_warn/dev_err print "DRIVER DEVICE: " first (e.g. "bnx2 0000:01:00.0: "). The network interface
is found from the device by the caller (/sys/class/net/*/device), so this stays a pure reading of lines.
"""
from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

_PREFIX = r"(?:^|\s|;)(?P<driver>[\w.-]+) (?P<device>[\w:.-]+): "
_LINES = [re.compile(_PREFIX + pattern) for pattern in (
    r"Direct firmware load for (?P<file>\S+) failed with error (?P<error>-?\d+)",
    r"firmware: failed to load (?P<file>\S+) \((?P<error>-?\d+)\)",
    r"Unable to load firmware (?P<file>\S+) \((?P<error>-?\d+)\)",
)]
SYS_NET = Path("/sys/class/net")
KMSG = "/dev/kmsg"


@dataclass(frozen=True)
class MissingFirmware:
    driver: str
    device: str             # the kernel's name for it: a PCI address, a USB port
    file: str               # the firmware file it asked for, under /lib/firmware
    error: int              # -2 (ENOENT): not in the image; anything else: there but could not be loaded
    interface: str | None = None    # the network interface on that device, when it is a NIC

    @property
    def line(self) -> str:
        state = "missing" if self.error == -errno.ENOENT else f"failed to load (error {self.error})"
        return f"{self.interface or self.device} ({self.driver}): firmware {self.file} {state}"


def on_interfaces(found: list[MissingFirmware], interfaces: dict[str, str]) -> list[MissingFirmware]:
    return [replace(m, interface=interfaces.get(m.device)) for m in found]


def missing_firmware(kernel_log: str) -> list[MissingFirmware]:
    """One entry per device and file, in the order first logged (a driver logs a failure in two or three
    lines, and may ask again after a reset)."""
    found: dict[tuple[str, str], MissingFirmware] = {}
    for line in kernel_log.splitlines():
        for pattern in _LINES:
            match = pattern.search(line)
            if match:
                key = (match["device"], match["file"])
                found.setdefault(key, MissingFirmware(match["driver"], match["device"], match["file"],
                                                      int(match["error"])))
                break
    return list(found.values())


def interfaces_by_device(sys_net: Path = SYS_NET) -> dict[str, str]:
    """Device name (e.g. 0000:01:00.0) -> network interface name, from /sys/class/net/IF/device."""
    found: dict[str, str] = {}
    try:
        for interface in sorted(sys_net.iterdir()):
            device = interface / "device"
            if device.is_symlink():
                found.setdefault(Path(os.readlink(device)).name, interface.name)
    except OSError:
        pass
    return found


def read_kernel_log(kmsg: str = KMSG) -> str:
    """Every record still in the kernel's log buffer, one text per line (what `dmesg` prints)."""
    lines: list[str] = []
    try:
        fd = os.open(kmsg, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        while True:
            try:
                record = os.read(fd, 8192)
            except BlockingIOError:
                break
            except OSError as error:
                if error.errno == errno.EPIPE:      # overwritten while read: go on with the next
                    continue
                break
            if not record:
                break
            lines.append(record.decode(errors="replace").split("\n", 1)[0])
    finally:
        os.close(fd)
    return "\n".join(lines)
