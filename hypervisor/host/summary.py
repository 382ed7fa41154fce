"""What the overview says about the host: read from Xen and from dom0's /proc and /sys."""
from __future__ import annotations

import socket
from dataclasses import dataclass, replace
from pathlib import Path

from hypervisor.host.missing_firmware import (MissingFirmware, interfaces_by_device, missing_firmware,
                                               on_interfaces, read_kernel_log)
from hypervisor.network.addresses import host_addresses
from hypervisor.runner import CommandError
from hypervisor.xen.capabilities import HvmSupport, hvm_support
from hypervisor.xen.domains import XenInfo
from hypervisor.xen.microcode import Microcode, microcode
from hypervisor.xen.xl import Xl

SYS_CAPABILITIES = Path("/sys/hypervisor/properties/capabilities")
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class HostSummary:
    hostname: str
    xen_version: str
    cpu_model: str
    cores: int
    memory_total_mib: int
    memory_free_mib: int
    hvm: HvmSupport
    addresses: tuple[tuple[str, str], ...] = ()      # (interface, address): the host's own
    microcode: Microcode | None = None
    missing_firmware: tuple[MissingFirmware, ...] = ()   # drivers that asked for firmware the image lacks


def cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return " ".join(line.split(":", 1)[1].split())
    return "unknown CPU"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def xen_log(xl: Xl) -> str:
    try:
        return xl.dmesg()
    except CommandError:
        return ""


def detect_hvm(xl: Xl, info: XenInfo, log: str | None = None) -> HvmSupport:
    return hvm_support(xen_log=xen_log(xl) if log is None else log, virt_caps=info.virt_caps,
                       sys_capabilities=_read(SYS_CAPABILITIES), cpuinfo=_read(CPUINFO))


def firmware_problems() -> tuple[MissingFirmware, ...]:
    return tuple(on_interfaces(missing_firmware(read_kernel_log()), interfaces_by_device()))


def host_summary(xl: Xl, previous: HostSummary | None = None) -> HostSummary:
    """Pass the `previous` summary to refresh only what can change before a reboot: the
    hostname, addresses and free memory. Xen's version, the CPU and HVM support are read once."""
    if previous is not None:
        total, free = xl.memory()
        return replace(previous, hostname=socket.gethostname(), memory_total_mib=total, memory_free_mib=free,
                       addresses=tuple(host_addresses()))
    info: XenInfo = xl.info()
    log = xen_log(xl)
    return HostSummary(
        hostname=socket.gethostname(),
        xen_version=info.version,
        cpu_model=cpu_model(_read(CPUINFO)),
        cores=info.nr_cpus,
        memory_total_mib=info.total_memory_mib,
        memory_free_mib=info.free_memory_mib,
        hvm=detect_hvm(xl, info, log),
        addresses=tuple(host_addresses()),
        microcode=microcode(log, _read(CPUINFO)),
        missing_firmware=firmware_problems(),
    )
