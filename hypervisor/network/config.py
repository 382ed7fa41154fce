"""The host's network settings: the management bridge xenbr0 and its addresses, DNS, hostname, extra bridges.

`validate` lists every problem, each named as in the answer file (`network.address`,
`network.bridges[1].vlan`). `to_commands` turns settings into the argv lists that apply them on a
freshly booted dom0, the same steps rc.boot takes; `change` gives the commands that move a running host
from one setting to another, and the ones that move it back.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Callable

from hypervisor.network.nic import IFNAME_VALID, is_ifname
from hypervisor.settings.problems import Problem

MANAGEMENT_BRIDGE = "xenbr0"
LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
IPV4_MODES = ("dhcp", "static")
IPV6_MODES = ("off", "auto", "static")
MAX_DNS = 3          # glibc's resolver reads only the first three nameserver lines
UDHCPC = ["udhcpc", "-i", MANAGEMENT_BRIDGE, "-s", "/usr/lib/xenbox/udhcpc.script", "-t", "5", "-T", "2", "-b"]
# The answer file's keys for each IP version: (mode, address, gateway, an example address, an example gateway).
KEYS = {4: ("ipv4", "address", "gateway", "192.168.1.20/24", "192.168.1.1"),
        6: ("ipv6", "address6", "gateway6", "2001:db8::20/64", "2001:db8::1")}


@dataclass(frozen=True)
class Addressing:
    mode: str                         # ipv4: dhcp | static; ipv6: off | auto | static
    address: str | None = None        # static only, with its prefix: "192.168.1.20/24"
    gateway: str | None = None        # static only; none means no default route


@dataclass(frozen=True)
class Bridge:
    """A bridge for guests besides xenbr0: over a NIC, over a VLAN on a NIC, or with no uplink."""
    name: str
    nic: str | None = None            # the NIC it bridges, or the one carrying its VLAN (None: the management NIC)
    vlan: int | None = None
    host_only: bool = False           # guests reach each other and dom0, nothing outside


@dataclass(frozen=True)
class NetworkConfig:
    interface: str = "auto"           # the NIC under xenbr0; "auto" is the first wired one, as rc.boot picks
    ipv4: Addressing = field(default_factory=lambda: Addressing("dhcp"))
    ipv6: Addressing = field(default_factory=lambda: Addressing("auto"))
    hostname: str | None = None       # None: the one DHCP gives, else "xenbox"
    dns: tuple[str, ...] = ()         # none: the ones DHCP gives
    bridges: tuple[Bridge, ...] = ()


# ---- validation --------------------------------------------------------------------------------------------

def hostname_problem(name: str) -> str | None:
    """Why `name` is no hostname under RFC 1123, or None."""
    if not name:
        return "must not be empty"
    if len(name) > 253:
        return f"is {len(name)} characters long; a hostname has at most 253"
    labels = name.split(".")
    for label in labels:
        if not label:
            return "has an empty part (two dots in a row, or a dot at either end)"
        if len(label) > 63:
            return f'has a part of {len(label)} characters ("{label[:16]}..."); each part between dots has at most 63'
        if not LABEL.fullmatch(label):
            return (f'has the part "{label}": use only letters, digits and "-", not at the start or end of a part '
                    "(RFC 1123), such as edge-01 or edge-01.example.com")
    if labels[-1].isdigit():
        return "ends in a number, so it reads as an IP address: end it with letters, such as edge-01"
    return None


def _host_address(text: str, version: int) -> tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface | None, str | None]:
    """The interface ("address/prefix") and why a host may not take it (None when it may); the interface
    stays known when only the address within it is wrong, so the gateway is still checked against it."""
    example, most = KEYS[version][3], 32 if version == 4 else 128
    address, slash, prefix = text.partition("/")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None, f"is not an IPv{version} address with its prefix length, such as {example}"
    if ip.version != version:
        return None, f"is an IPv{ip.version} address; write an IPv{version} one here, such as {example}"
    if not slash:
        return None, f"has no prefix length: write it as {ip}/{example.split('/')[1]} (the size of its subnet)"
    if not re.fullmatch(r"[0-9]{1,3}", prefix) or not 1 <= int(prefix) <= most:
        return None, f"has the prefix length /{prefix}; it must be 1-{most}, such as {example}"
    interface = ipaddress.ip_interface(f"{ip}/{int(prefix)}")
    net = interface.network
    if ip.is_multicast or ip.is_loopback or ip.is_unspecified or ip.is_link_local or (version == 4 and ip.is_reserved):
        return interface, f"is not an address a host may take ({_kind(ip)}): use one from your subnet, such as {example}"
    if version == 4 and net.prefixlen <= 30 and ip in (net.network_address, net.broadcast_address):
        which = "network" if ip == net.network_address else "broadcast"
        return interface, (f"is the {which} address of {net}, which no host may take: use one of "
                      f"{net.network_address + 1}-{net.broadcast_address - 1}")
    if version == 6 and net.prefixlen <= 126 and ip == net.network_address:
        return interface, f"is the subnet-router anycast address of {net}: use another, such as {net.network_address + 1}"
    return interface, None


def _kind(ip) -> str:
    for attribute, words in (("is_multicast", "multicast"), ("is_loopback", "loopback"),
                             ("is_unspecified", "unspecified"), ("is_link_local", "link-local")):
        if getattr(ip, attribute):
            return words
    return "reserved"


def _gateway_problem(text: str, version: int, interface, address_key: str) -> str | None:
    example = KEYS[version][4]
    try:
        gateway = ipaddress.ip_address(text)
    except ValueError:
        return f"is not an IPv{version} address, such as {example}"
    if gateway.version != version:
        return f"is an IPv{gateway.version} address; write an IPv{version} one here, such as {example}"
    if interface is None:
        return None          # the address is wrong or missing: that problem is named already
    net = interface.network
    if gateway == interface.ip:
        return f"is this host's own address; the gateway is your router, another address in {net}"
    if version == 6 and gateway.is_link_local:
        return None          # routers advertise themselves by link-local address
    if gateway not in net:
        return (f"is outside this host's subnet {net} (network.{address_key} = \"{interface}\"): "
                f"the gateway must be in it, or the prefix length must be larger")
    if version == 4 and net.prefixlen <= 30 and gateway in (net.network_address, net.broadcast_address):
        return f"is the {'network' if gateway == net.network_address else 'broadcast'} address of {net}, not a router's"
    return None


def _addressing(setting: Addressing, version: int, problem: Callable[[str, object, str], None]) -> None:
    mode_key, address_key, gateway_key, example, _ = KEYS[version]
    modes = IPV4_MODES if version == 4 else IPV6_MODES
    if setting.mode not in modes:
        problem(f"network.{mode_key}", setting.mode, "must be one of " + ", ".join(f'"{m}"' for m in modes))
        return
    if setting.mode != "static":
        for key, value in ((address_key, setting.address), (gateway_key, setting.gateway)):
            if value is not None:
                problem(f"network.{key}", value, f'is only used with {mode_key} = "static" (here {mode_key} = '
                                                 f'"{setting.mode}"): remove it, or write {mode_key} = "static"')
        return
    interface = None
    if setting.address is None:
        problem(f"network.{address_key}", None, f'missing: {mode_key} = "static" needs {address_key} = "{example}"')
    else:
        interface, message = _host_address(setting.address, version)
        if message:
            problem(f"network.{address_key}", setting.address, message)
    if setting.gateway is not None:
        message = _gateway_problem(setting.gateway, version, interface, address_key)
        if message:
            problem(f"network.{gateway_key}", setting.gateway, message)


def _bridges(config: NetworkConfig, problem: Callable[[str, object, str], None]) -> None:
    names = {MANAGEMENT_BRIDGE: "the management bridge (network.interface)"}
    uplinks: dict[tuple[str, int | None], str] = {}
    if config.interface != "auto":
        uplinks[(config.interface, None)] = "xenbr0, the management bridge (network.interface)"
    for index, bridge in enumerate(config.bridges):
        where = f"network.bridges[{index}]"
        if not is_ifname(bridge.name):
            problem(f"{where}.name", bridge.name, f"must be {IFNAME_VALID}, such as xenbr1")
        elif bridge.name in names:
            problem(f"{where}.name", bridge.name, f"is already the name of {names[bridge.name]}: choose another")
        else:
            names[bridge.name] = where
        if bridge.nic is not None and not is_ifname(bridge.nic):
            problem(f"{where}.nic", bridge.nic, f"must be {IFNAME_VALID}, such as eth1")
        if bridge.vlan is not None and not 1 <= bridge.vlan <= 4094:
            problem(f"{where}.vlan", bridge.vlan, "must be a VLAN id of 1-4094 (0 and 4095 are reserved)")
        if bridge.host_only:
            if bridge.nic is not None or bridge.vlan is not None:
                problem(f"{where}.host_only", True, "a host-only bridge has no uplink: remove nic and vlan, "
                                                    "or remove host_only")
            continue
        if bridge.nic is None and bridge.vlan is None:
            problem(f"{where}.nic", None, 'missing: say what the bridge carries: nic = "eth1", vlan = 20 (on the '
                                          "management NIC, or on nic), or host_only = true")
            continue
        uplink = (bridge.nic or config.interface, bridge.vlan)
        if uplink in uplinks:
            carried = f"VLAN {bridge.vlan} on {uplink[0]}" if bridge.vlan else uplink[0]
            problem(f"{where}.{'vlan' if bridge.vlan else 'nic'}", bridge.vlan or bridge.nic,
                    f"{carried} already carries {uplinks[uplink]}: a NIC or VLAN joins one bridge; "
                    "use another NIC, or a VLAN (vlan = 20)")
        else:
            uplinks[uplink] = where


def validate(config: NetworkConfig) -> list[Problem]:
    """Every problem with these settings; an empty list when they can be applied."""
    problems: list[Problem] = []

    def problem(name: str, value: object, message: str) -> None:
        problems.append(Problem(name, value, message))

    if config.interface != "auto" and not is_ifname(config.interface):
        problem("network.interface", config.interface, f'must be "auto" or {IFNAME_VALID}, such as eth0')
    _addressing(config.ipv4, 4, problem)
    _addressing(config.ipv6, 6, problem)
    if config.hostname is not None and (message := hostname_problem(config.hostname)):
        problem("host.hostname", config.hostname, message)
    if len(config.dns) > MAX_DNS:
        problem("network.dns", list(config.dns), f"names {len(config.dns)} servers; the resolver reads only "
                                                 f"the first {MAX_DNS}: keep at most {MAX_DNS}")
    seen: set[str] = set()
    for index, server in enumerate(config.dns):
        try:
            address = str(ipaddress.ip_address(server))
        except ValueError:
            problem(f"network.dns[{index}]", server, "is not an IP address; DNS servers are given by address, "
                                                     "such as 192.168.1.1 or 2001:db8::53")
            continue
        if address in seen:
            problem(f"network.dns[{index}]", server, "is listed twice")
        seen.add(address)
    _bridges(config, problem)
    return problems


# ---- commands ----------------------------------------------------------------------------------------------

def _new_bridge(name: str) -> list[str]:
    return ["ip", "link", "add", "name", name, "type", "bridge", "stp_state", "0", "forward_delay", "0"]


def _join(port: str, bridge: str) -> list[list[str]]:
    return [["ip", "link", "set", "dev", port, "master", bridge], ["ip", "link", "set", "dev", port, "up"]]


def vlan_device(parent: str, vlan: int, index: int) -> str:
    """eth0.20, or vlan20b1 when the parent's name leaves no room (interface names have at most 15 characters)."""
    name = f"{parent}.{vlan}"
    return name if len(name) <= 15 else f"vlan{vlan}b{index}"


def _sysctl(setting: str) -> list[str]:
    return ["sysctl", "-q", "-w", f"net.ipv6.conf.{MANAGEMENT_BRIDGE}.{setting}"]


def _ipv6_settings(config: NetworkConfig) -> list[list[str]]:
    if config.ipv6.mode == "off":
        return [_sysctl("disable_ipv6=1")]
    if config.ipv6.mode == "static":
        return [_sysctl("autoconf=0")]      # router adverts may still give routes, not addresses
    return []


def _addresses(config: NetworkConfig) -> list[list[str]]:
    bridge, commands = MANAGEMENT_BRIDGE, []
    if config.ipv6.mode == "static":
        commands.append(["ip", "-6", "address", "add", config.ipv6.address, "dev", bridge])
        if config.ipv6.gateway:
            commands.append(["ip", "-6", "route", "add", "default", "via", config.ipv6.gateway, "dev", bridge])
    if config.ipv4.mode == "static":
        commands.append(["ip", "-4", "address", "add", config.ipv4.address, "dev", bridge])
        if config.ipv4.gateway:
            commands.append(["ip", "-4", "route", "add", "default", "via", config.ipv4.gateway, "dev", bridge])
    else:
        commands.append(list(UDHCPC))               # it sets address, route and resolv.conf from the lease
    if config.hostname:
        commands.append(["hostname", config.hostname])
    return commands


def address_commands(config: NetworkConfig) -> list[list[str]]:
    """IPv6 settings, addresses, default routes and hostname on xenbr0, which exists."""
    return _ipv6_settings(config) + _addresses(config)


def bridge_commands(config: NetworkConfig, nic: str | None, skip: frozenset[Bridge] = frozenset()) -> list[list[str]]:
    """The extra bridges, those in `skip` (already up) left out."""
    commands = []
    for index, bridge in enumerate(config.bridges):
        if bridge in skip:
            continue
        commands.append(_new_bridge(bridge.name))
        parent = bridge.nic or nic
        if bridge.host_only or parent is None:
            pass                                        # no uplink, or no NIC found: guests only
        elif bridge.vlan is not None:
            device = vlan_device(parent, bridge.vlan, index)
            commands.append(["ip", "link", "add", "link", parent, "name", device, "type", "vlan", "id", str(bridge.vlan)])
            commands += _join(device, bridge.name)
        else:
            commands += _join(parent, bridge.name)
        commands.append(["ip", "link", "set", "dev", bridge.name, "up"])
    return commands


def to_commands(config: NetworkConfig, nic: str | None) -> list[list[str]]:
    """What applies `config` on a fresh dom0, `nic` being the management NIC ("auto" resolved; None: none found).
    Besides `ip`: sysctl where ip has no word for it (IPv6 off, no SLAAC), udhcpc for DHCP, hostname."""
    # IPv6 settings before the link is up, so no address is autoconfigured first.
    commands = [_new_bridge(MANAGEMENT_BRIDGE), *_ipv6_settings(config),
                ["ip", "link", "set", "dev", MANAGEMENT_BRIDGE, "up"], *(_join(nic, MANAGEMENT_BRIDGE) if nic else [])]
    return commands + _addresses(config) + bridge_commands(config, nic)


def teardown_commands(config: NetworkConfig, nic: str | None, keep: frozenset[Bridge] = frozenset()) -> list[list[str]]:
    """Undo `config` on a running host, keeping xenbr0 and its guests' ports: addresses, routes we added
    (proto boot), IPv6 settings, extra bridges but those in `keep`. The DHCP client is a process: the
    caller stops it first."""
    bridge = MANAGEMENT_BRIDGE
    commands = [["ip", "-4", "route", "flush", "dev", bridge, "proto", "boot"],
                ["ip", "-6", "route", "flush", "dev", bridge, "proto", "boot"],
                ["ip", "-4", "address", "flush", "dev", bridge],
                ["ip", "-6", "address", "flush", "dev", bridge, "scope", "global"],
                _sysctl("disable_ipv6=0"), _sysctl("autoconf=1")]
    for index, extra in enumerate(config.bridges):
        if extra in keep:
            continue
        commands.append(["ip", "link", "del", "dev", extra.name])
        parent = extra.nic or nic
        if extra.vlan is not None and not extra.host_only and parent:
            commands.append(["ip", "link", "del", "dev", vlan_device(parent, extra.vlan, index)])
    return commands


def management_uplink(config: NetworkConfig, wired: list[str]) -> tuple[str | None, str | None]:
    """The NIC `config` puts under xenbr0, among this host's wired NICs in the order rc.services reads
    them; and what to say when network.interface names one that is not there (the first wired NIC
    is bridged instead, as at a boot with no settings)."""
    first = wired[0] if wired else None
    if config.interface == "auto" or config.interface in wired:
        return (first if config.interface == "auto" else config.interface), None
    instead = f"xenbr0 stays on {first}, the first wired NIC" if first else "xenbr0 has no NIC to bridge"
    return first, (f"network.interface = {config.interface} is not a wired NIC of this host (it has "
                   f"{', '.join(wired) or 'none'}): {instead}; plug it in, or change network.interface")


def uplink_commands(current: str | None, wanted: str | None) -> list[list[str]]:
    """xenbr0 moved from the NIC under it to another. The one left is taken down, so it takes no
    address of its own on the same network (IPv6 would give it one)."""
    if current == wanted:
        return []
    left = [["ip", "link", "set", "dev", current, "nomaster"], ["ip", "link", "set", "dev", current, "down"]]
    return (left if current else []) + (_join(wanted, MANAGEMENT_BRIDGE) if wanted else [])


@dataclass(frozen=True)
class Change:
    apply: list[list[str]]        # from the previous settings to the new ones
    rollback: list[list[str]]     # back to the previous ones, when the new ones cut the host off


_SAME = object()


def change(previous: NetworkConfig, new: NetworkConfig, nic: str | None, new_nic=_SAME) -> Change:
    """Moving a running host between settings, and back. `nic` is the NIC under xenbr0 now, `new_nic` the one
    `new` puts there (management_uplink; by default the same). `NetworkConfig()` is what rc.boot sets up."""
    to_nic = nic if new_nic is _SAME else new_nic

    def move(old: NetworkConfig, to: NetworkConfig, old_nic: str | None, to_nic: str | None) -> list[list[str]]:
        # A bridge in both stays up: deleting it would take its guests' ports off it. Not one whose VLAN
        # is on the management NIC, when that NIC changes.
        kept = frozenset(bridge for bridge in old.bridges if bridge in to.bridges
                         and (old_nic == to_nic or bridge.host_only or bridge.nic is not None))
        return (teardown_commands(old, old_nic, kept) + uplink_commands(old_nic, to_nic) + address_commands(to)
                + bridge_commands(to, to_nic, kept))
    return Change(move(previous, new, nic, to_nic), move(new, previous, to_nic, nic))


def resolv_conf(config: NetworkConfig) -> str | None:
    """/etc/resolv.conf for fixed DNS servers; None leaves it to DHCP."""
    return "".join(f"nameserver {server}\n" for server in config.dns) or None
