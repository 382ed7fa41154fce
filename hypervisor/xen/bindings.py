"""The domain list and free memory straight from Xen, through the Python bindings Xen ships.

Why not `xl list`: each console refreshes every two seconds, and under emulation one
`xl list` cost 0.9 s of dom0 CPU (measured in dom0, QEMU TCG) -- two consoles kept
most of a dom0 CPU busy drawing their status. `xen.lowlevel.xc` makes the same
hypercalls `xl list` and `xl info` make, inside the console's own process.

The figures are xl's: memory is the domain's pages (xl list's Mem), CPU time the
same counter, the state flags the same six. Names come from xenstore, as xl's do.
Everything else (creating, pausing, saving guests) still goes through `xl`.
"""
from __future__ import annotations

import glob
import importlib
import sys
import threading
from typing import Any, Callable

from hypervisor.xen.domains import Domain, XenInfo, state_name

# Debian's xen-utils puts the bindings beside xl, not on Python's path.
BINDINGS_GLOB = "/usr/lib/xen-*/lib/python"


class BindingError(RuntimeError):
    """Xen's bindings are missing or refused a call: use `xl` instead."""


def state_flags(info: dict[str, Any]) -> str:
    """The six letters `xl list` prints (r b p s c d), from a domain_getinfo entry."""
    letters = (("r", "running"), ("b", "blocked"), ("p", "paused"), ("s", "shutdown"), ("c", "crashed"),
               ("d", "dying"))
    return "".join(letter if info.get(key) else "-" for letter, key in letters)


def domain_from_info(info: dict[str, Any], name: str) -> Domain:
    """One entry of `xc.domain_getinfo()` as the Domain `xl list` would have given."""
    try:
        return Domain(name=name, domid=int(info["domid"]), memory_mib=int(info["mem_kb"]) // 1024,
                      vcpus=int(info["online_vcpus"]), state=state_name(state_flags(info)),
                      cpu_seconds=int(info["cpu_time"]) / 1e9)
    except (KeyError, TypeError, ValueError) as error:
        raise BindingError(f"Xen's domain information lacks or garbles {error}") from error


def memory_from_physinfo(physinfo: dict[str, Any]) -> tuple[int, int]:
    """(total, free) in MiB, rounded down as `xl info` rounds them."""
    try:
        return int(physinfo["total_memory"]) // 1024, int(physinfo["free_memory"]) // 1024
    except (KeyError, TypeError, ValueError) as error:
        raise BindingError(f"Xen's host information lacks or garbles {error}") from error


def info_from_bindings(version: dict[str, Any], physinfo: dict[str, Any]) -> XenInfo:
    """What `xl info` says of Xen's version, the CPUs and memory, from xeninfo() and physinfo().

    virt_caps is left unknown: the bindings name only "hvm" and "pv" there, never "hap" or
    "shadow" (Xen 4.17, tools/python/xen/lowlevel/xc/xc.c), and HVM support is then judged
    from /sys/hypervisor and Xen's log instead (hypervisor/xen/capabilities.py)."""
    try:
        total, free = memory_from_physinfo(physinfo)
        release = f"{int(version['xen_major'])}.{int(version['xen_minor'])}{version.get('xen_extra', '')}"
        return XenInfo(version=release, nr_cpus=int(physinfo["nr_cpus"]), total_memory_mib=total,
                       free_memory_mib=free, virt_caps="", hw_caps=str(physinfo.get("hw_caps", "")))
    except (KeyError, TypeError, ValueError) as error:
        raise BindingError(f"Xen's version or host information lacks or garbles {error}") from error


def name_of(raw: bytes | str | None, domid: int) -> str:
    if raw is None:
        return f"(domain {domid})"      # a domain being built or torn down has no name yet
    return raw.decode(errors="replace") if isinstance(raw, bytes) else raw


class XenBindings:
    """Open handles to the hypervisor (privcmd) and xenstore; one call at a time."""

    def __init__(self, xc_module: Any, xs_module: Any) -> None:
        self._xc = xc_module.xc()
        self._xs = xs_module.xs()
        self._errors = (xc_module.Error, xs_module.Error, OSError)
        self._lock = threading.Lock()

    def domains(self) -> list[Domain]:
        with self._lock:
            try:
                infos = self._xc.domain_getinfo()
                names = [self._xs.read("", f"/local/domain/{info['domid']}/name") for info in infos]
            except self._errors as error:
                raise BindingError(str(error)) from error
        return [domain_from_info(info, name_of(name, info.get("domid", -1))) for info, name in zip(infos, names)]

    def memory(self) -> tuple[int, int]:
        return memory_from_physinfo(self._ask(lambda xc: xc.physinfo()))

    def info(self) -> XenInfo:
        return info_from_bindings(*self._ask(lambda xc: (xc.xeninfo(), xc.physinfo())))

    def log(self) -> str:
        """Xen's console ring: what `xl dmesg` prints."""
        ring = self._ask(lambda xc: xc.readconsolering())
        return ring.decode(errors="replace") if isinstance(ring, bytes) else str(ring)

    def _ask(self, call: Callable[[Any], Any]) -> Any:
        with self._lock:
            try:
                return call(self._xc)
            except self._errors as error:
                raise BindingError(str(error)) from error


def open_bindings() -> XenBindings | None:
    """Xen's bindings, or None where there are none (not dom0, no privileges, no xen-utils)."""
    for path in sorted(glob.glob(BINDINGS_GLOB), reverse=True):
        if path not in sys.path:
            sys.path.append(path)
    try:
        xc_module = importlib.import_module("xen.lowlevel.xc")
        xs_module = importlib.import_module("xen.lowlevel.xs")
        return XenBindings(xc_module, xs_module)
    except Exception:       # ImportError, or the handles refused: xc.Error, xs.Error, OSError
        return None
