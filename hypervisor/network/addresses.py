"""The host's own addresses, for the overview: asked of the kernel directly, no program run.

The overview refreshes every two seconds, so this is an ioctl per interface and one
small /proc file, not `ip addr`. Guest-facing ports (vif, tap) carry no host address.
"""
from __future__ import annotations

import fcntl
import socket
import struct
from pathlib import Path

IF_INET6 = Path("/proc/net/if_inet6")
SIOCGIFADDR = 0x8915                # linux/sockios.h
GLOBAL_SCOPE = 0x00                 # /proc/net/if_inet6 scope column; 0x20 link, 0x10 host
NOT_THE_HOSTS = ("lo", "vif", "tap", "ifb")


def is_hosts(ifname: str) -> bool:
    return not ifname.startswith(NOT_THE_HOSTS)


def parse_if_inet6(text: str) -> list[tuple[str, str]]:
    """(interface, address) for each global IPv6 address in /proc/net/if_inet6."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 6:
            continue
        hex_address, _index, _prefix, scope, _flags, ifname = fields
        try:
            if int(scope, 16) != GLOBAL_SCOPE:
                continue
            found.append((ifname, socket.inet_ntop(socket.AF_INET6, bytes.fromhex(hex_address))))
        except ValueError:
            continue
    return found


def ipv4_of(ifname: str) -> str | None:
    """The interface's (primary) IPv4 address, or None if it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, struct.pack("256s", ifname.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(reply[20:24])


def host_addresses() -> list[tuple[str, str]]:
    """(interface, address), IPv4 first, for the host's own interfaces."""
    try:
        names = [name for _, name in socket.if_nameindex() if is_hosts(name)]
    except OSError:
        return []
    v4 = [(name, address) for name in names if (address := ipv4_of(name))]
    try:
        v6 = [(name, address) for name, address in parse_if_inet6(IF_INET6.read_text()) if is_hosts(name)]
    except OSError:
        v6 = []
    return v4 + v6


def describe_addresses(addresses: list[tuple[str, str]]) -> str:
    """'10.0.2.15 (xenbr0)', several joined by commas, or a plain 'no address yet'."""
    if not addresses:
        return "no network address yet"
    return ", ".join(f"{address} ({name})" for name, address in addresses)
