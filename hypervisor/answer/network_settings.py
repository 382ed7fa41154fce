"""The host's network settings as kept on the data store (config/network.toml), in the answer file's
own [host] and [network] form, so one reader checks both and an operator can read either.

What is in force at boot, in order: config/network.toml (changed from the console), else the answer
file kept as config/answer.toml, else DHCP on xenbr0 (`NetworkConfig()`, what rc.boot sets up).
"""
from __future__ import annotations

from pathlib import Path

from hypervisor.network.config import Bridge, NetworkConfig
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage.datastore import MOUNTPOINT

NETWORK_SETTINGS = MOUNTPOINT / "config" / "network.toml"
ANSWER_SETTINGS = MOUNTPOINT / "config" / "answer.toml"


def to_toml(config: NetworkConfig) -> str:
    network: dict = {"interface": config.interface, "ipv4": config.ipv4.mode}
    if config.ipv4.mode == "static":
        network["address"] = config.ipv4.address
        if config.ipv4.gateway:
            network["gateway"] = config.ipv4.gateway
    network["ipv6"] = config.ipv6.mode
    if config.ipv6.mode == "static":
        network["address6"] = config.ipv6.address
        if config.ipv6.gateway:
            network["gateway6"] = config.ipv6.gateway
    if config.dns:
        network["dns"] = list(config.dns)
    if config.bridges:
        network["bridges"] = [_bridge_table(bridge) for bridge in config.bridges]
    document = {"host": {"hostname": config.hostname}} if config.hostname else {}
    document["network"] = network
    return "# The host's network, as set from the console. XenBox applies it at every boot.\n" + dumps(document)


def _bridge_table(bridge: Bridge) -> dict:
    if bridge.host_only:
        return {"name": bridge.name, "host_only": True}
    return {"name": bridge.name, **({"nic": bridge.nic} if bridge.nic else {}),
            **({"vlan": bridge.vlan} if bridge.vlan else {})}


def saved(network: Path | None = None, answer: Path | None = None) -> tuple[NetworkConfig, str] | None:
    """The settings in force and the file they come from; None when there are none (DHCP).
    Raises AnswerError when the file cannot be read."""
    from hypervisor.answer.parse import check_answer
    for path in (network or NETWORK_SETTINGS, answer or ANSWER_SETTINGS):
        if path.exists():
            return check_answer(path).network, str(path)
    return None


def save(config: NetworkConfig, path: Path = NETWORK_SETTINGS) -> None:
    write_atomically(path, to_toml(config))
