"""What Xen says of its domains and of itself, as dataclasses: pure parsers of `xl list` and `xl info`,
the state names a person reads, and CPU % from Xen's CPU-time accounting.

Both ways of asking Xen (`xl`, in xl.py, and its bindings, in bindings.py) give these types.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from hypervisor.runner import ParseError


@dataclass(frozen=True)
class Domain:
    name: str
    domid: int
    memory_mib: int
    vcpus: int
    state: str          # running, blocked, paused, shutdown, crashed, dying, or "-"
    cpu_seconds: float


# `xl list` prints six state letters: r b p s c d, '-' where a flag is off.
STATE_NAMES = {"r": "running", "b": "blocked", "p": "paused", "s": "shutdown", "c": "crashed", "d": "dying"}


def state_name(flags: str) -> str:
    names = [STATE_NAMES[ch] for ch in flags if ch in STATE_NAMES]
    # "blocked" is idle-but-alive: a person reads it as running.
    if not names:
        return "running"     # all dashes: runnable, between samples
    if names == ["blocked"]:
        return "running"
    return names[0] if len(names) == 1 else "+".join(names)


def state_has(state: str, name: str) -> bool:
    """Whether a state from state_name includes `name`: "paused+shutdown" has both, "running" neither."""
    return name in state.split("+")


def has_shut_down(domain: Domain | None) -> bool:
    """What `xl shutdown -w` waits for: the guest is gone from Xen's list, or shut down and waiting to be
    cleaned up. A crashed guest has not shut down."""
    return domain is None or state_has(domain.state, "shutdown")


def stopped_but_held(domain: Domain) -> bool:
    """No longer running, yet still listed, so Xen still holds its name: shut down, crashed or dying.
    xl's monitor destroys one that shut down within a second or so; a crashed one stays until destroyed."""
    return any(state_has(domain.state, name) for name in ("shutdown", "crashed", "dying"))


def parse_list(text: str) -> list[Domain]:
    """`xl list`: Name ID Mem VCPUs State Time(s). Names may hold spaces: split from the right."""
    domains = []
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        parts = line.rsplit(None, 5)
        if len(parts) != 6:
            raise ParseError(f"unexpected line in `xl list` output: {line!r}")
        name, domid, mem, vcpus, flags, seconds = parts
        try:
            domains.append(Domain(name.strip(), int(domid), int(mem), int(vcpus), state_name(flags), float(seconds)))
        except ValueError as error:
            raise ParseError(f"unexpected line in `xl list` output: {line!r}") from error
    return domains


def parse_info(text: str) -> dict[str, str]:
    """`xl info`: `key : value` lines; values may contain colons."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


@dataclass(frozen=True)
class XenInfo:
    version: str
    nr_cpus: int
    total_memory_mib: int
    free_memory_mib: int
    virt_caps: str
    hw_caps: str = ""           # the CPU's feature words as Xen sees them ("178bf3fd:80002001:..."), hex

    @classmethod
    def from_info(cls, info: dict[str, str]) -> "XenInfo":
        try:
            return cls(
                version=f"{info['xen_major']}.{info['xen_minor']}{info.get('xen_extra', '')}",
                nr_cpus=int(info["nr_cpus"]),
                total_memory_mib=int(info["total_memory"]),
                free_memory_mib=int(info["free_memory"]),
                virt_caps=info.get("virt_caps", ""),
                hw_caps=info.get("hw_caps", ""),
            )
        except (KeyError, ValueError) as error:
            raise ParseError(f"`xl info` output lacks or garbles {error}") from error


class CpuMeter:
    """CPU % per domain as a share of all the host's physical CPUs, from Xen's CPU-time accounting.

    100 % means every physical CPU busy, so three guests sharing one CPU never all show 100 %.
    """

    def __init__(self, nr_cpus: int) -> None:
        self.nr_cpus = max(nr_cpus, 1)
        self._last: dict[int, tuple[float, float]] = {}

    def sample(self, domains: Sequence[Domain], now: float) -> dict[int, float | None]:
        percents: dict[int, float | None] = {}
        seen = {}
        for d in domains:
            previous = self._last.get(d.domid)
            seen[d.domid] = (now, d.cpu_seconds)
            if previous is None or now <= previous[0]:
                percents[d.domid] = None      # first sight: no interval to measure yet
                continue
            share = (d.cpu_seconds - previous[1]) / ((now - previous[0]) * self.nr_cpus)
            percents[d.domid] = max(0.0, min(100.0, share * 100))
        self._last = seen
        return percents
