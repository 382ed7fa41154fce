"""What an answer file will set up, a line each: said by `xenbox answer check` and the console's
first-boot summary alike."""
from __future__ import annotations

from hypervisor.answer.parse import Answer


def summary(answer: Answer) -> list[str]:
    """What the answer file will set up, a line each."""
    net = answer.network
    ipv4 = f"static {net.ipv4.address}" + (f" via {net.ipv4.gateway}" if net.ipv4.gateway else "") \
        if net.ipv4.mode == "static" else "DHCP"
    lines = [f"hostname: {net.hostname or 'from DHCP'}",
             f"network: xenbr0 on {net.interface}, IPv4 {ipv4}, IPv6 {net.ipv6.mode}"
             + (f", DNS {' '.join(net.dns)}" if net.dns else "")]
    lines += [f"bridge: {b.name} " + ("host-only" if b.host_only else f"VLAN {b.vlan} on {b.nic or net.interface}"
                                      if b.vlan else f"over {b.nic}") for b in net.bridges]
    storage = answer.storage
    if storage.data_disks:
        lines.append(f"data disks: {' '.join(storage.data_disks)}"
                     + (" (erased even if they hold data)" if storage.wipe_disks_with_data else ""))
    lines += [f"pool: {p.name} ({p.type})" for p in storage.pools]
    lines.append("console password: " + ("set" if answer.password_hash else "unchanged"))
    lines += [f"serial console: {answer.serial}, from the next boot on"] if answer.serial else []
    lines += [f"appliance: {a.source}" + ("" if a.autostart is None else f", autostart {'on' if a.autostart else 'off'}")
              + ("" if a.order is None else f", order {a.order}") for a in answer.appliances]
    return lines
