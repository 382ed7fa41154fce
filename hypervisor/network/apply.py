"""Put network settings on the running host: stop the boot's DHCP client, then move xenbr0 from what
rc.boot set up (DHCP, `NetworkConfig()`) to the settings given; hostname and DNS too.

Used at first setup (answer file) and at every later boot (the settings kept on the data store).
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Callable

from hypervisor import runner
from hypervisor.network.config import (MANAGEMENT_BRIDGE, Bridge, NetworkConfig, change, management_uplink,
                                       resolv_conf)

GUEST_PORTS = ("vif", "tap")     # xenbr0's ports that are guests' interfaces, not the host's NIC
SYSFS = Path("/sys/class/net")


def management_nic(sysfs: Path = SYSFS) -> str | None:
    """The NIC under xenbr0 now: rc.services' choice, or network.interface's once applied."""
    ports = sysfs / MANAGEMENT_BRIDGE / "brif"
    names = sorted(p.name for p in ports.iterdir()) if ports.is_dir() else []
    return next((name for name in names if not name.startswith(GUEST_PORTS)), None)


def wired_nics(sysfs: Path = SYSFS) -> list[str]:
    """The host's wired NICs in the order rc.services reads them (the first is bridged at boot): a
    device behind it, no radio, not a guest's port (netback's vifs have a device too)."""
    try:
        names = sorted(entry.name for entry in sysfs.iterdir())
    except OSError:
        return []
    return [name for name in names if (sysfs / name / "device").exists() and not (sysfs / name / "wireless").exists()
            and not name.startswith(GUEST_PORTS)]


def stop_dhcp_client(proc: Path = Path("/proc")) -> None:
    """The boot's udhcpc on xenbr0 (dom0's only one: guests run their own in their own kernels)."""
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "udhcpc":
                    os.kill(int(entry.name), signal.SIGTERM)
            except (OSError, ValueError):
                pass


def apply_network(config: NetworkConfig, say: Callable[[str], None], run: runner.Runner = runner.run,
                  etc: Path = Path("/etc")) -> list[str]:
    """Apply `config` over what rc.boot set up; returns the commands that failed (each also said)."""
    return move(NetworkConfig(), config, say, run, etc)


def move(previous: NetworkConfig, config: NetworkConfig, say: Callable[[str], None],
         run: runner.Runner = runner.run, etc: Path = Path("/etc"), sysfs: Path = SYSFS) -> list[str]:
    """From the settings in force to `config` (and back, with the two swapped), xenbr0 moved onto the
    NIC network.interface names when it is not there already."""
    nic = management_nic(sysfs)
    wanted, missing = management_uplink(config, wired_nics(sysfs))
    if missing:
        say(f"network: {missing}")
    if wanted != nic:
        say(f"network: xenbr0 moves from {nic or 'no NIC'} to {wanted or 'no NIC'} (network.interface = "
            f"{config.interface})")
    stop_dhcp_client()       # a DHCP client left running would put its lease back
    failed = []
    for argv in change(previous, config, nic, wanted).apply:
        try:
            if argv[0] == "udhcpc":
                runner.spawn(argv)      # udhcpc -b goes to the background once it has tried: nobody waits
            else:
                run(argv, timeout=30)
        except runner.CommandError as error:
            # Flushing what is not there is no failure: rc.boot's DHCP may not have got an address yet.
            if "flush" not in argv:
                failed.append(f"`{' '.join(argv)}`: {error.sentence}")
                say(f"network: `{' '.join(argv)}` failed: {error.sentence}")
    if config.hostname:
        (etc / "hostname").write_text(config.hostname + "\n")
    servers = resolv_conf(config)
    if servers:
        (etc / "resolv.conf").write_text(servers)
    return failed


def describe(config: NetworkConfig) -> str:
    ipv4 = (f"IPv4 {config.ipv4.address}" + (f" via {config.ipv4.gateway}" if config.ipv4.gateway else "")
            if config.ipv4.mode == "static" else "IPv4 by DHCP")
    return ", ".join(([f"NIC {config.interface}"] if config.interface != "auto" else [])
                     + [f"hostname {config.hostname or 'from DHCP'}", ipv4, f"IPv6 {config.ipv6.mode}"]
                     + ([f"DNS {' '.join(config.dns)}"] if config.dns else [])
                     + ([f"bridges {', '.join(map(bridge_text, config.bridges))}"] if config.bridges else []))


def bridge_text(bridge: Bridge) -> str:
    """'xenbr1 on eth1', 'xenbr2 on VLAN 20 of eth0', 'lab host-only': the screen's own syntax, spelled out."""
    if bridge.host_only:
        return f"{bridge.name} host-only"
    on = f"VLAN {bridge.vlan} of {bridge.nic or 'the management NIC'}" if bridge.vlan else bridge.nic
    return f"{bridge.name} on {on}"
