"""The first-boot screens' answers, written as an answer file: the console sets a host up through the same
text, checks and steps as an answer file does (parse_answer, host_problems, apply_answer).

Pure: no host is read here. The screens collect a `FirstBootAnswers`; `answer_text` renders it. Extra bridges
and appliances are not asked for at first boot: the Network and Appliances screens add them later.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypervisor.network.config import NetworkConfig
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage.disks import Disk

SOURCE = "the first-boot screens"          # how problems name the text, as a file's path names a file
HEADER = ("# Set up from the XenBox console's first-boot screens, in the answer file's form.\n"
          "# Kept on the data store: later boots apply its network settings from here.\n")


@dataclass(frozen=True)
class FirstBootAnswers:
    network: NetworkConfig = field(default_factory=NetworkConfig)
    data_disks: tuple[str, ...] = ()                   # as the answer file names them: /dev/disk/by-id/<id>
    wipe_disks_with_data: bool = False                 # true only once a chosen disk's name was typed
    password_hash: str | None = field(default=None, repr=False)


def disk_name(disk: Disk) -> str:
    """What the answer file calls `disk`: its stable id, which survives reboots; its kernel name without one."""
    return f"/dev/disk/by-id/{disk.stable_id}" if disk.stable_id else disk.path


def _addressing(network: dict, mode_key: str, address_key: str, gateway_key: str, setting) -> None:
    network[mode_key] = setting.mode
    if setting.mode == "static":
        network[address_key] = setting.address
        if setting.gateway:
            network[gateway_key] = setting.gateway


def answer_text(answers: FirstBootAnswers) -> str:
    """The answer file these answers make; parse_answer reads it back to the same settings."""
    net = answers.network
    network: dict = {"interface": net.interface}
    _addressing(network, "ipv4", "address", "gateway", net.ipv4)
    _addressing(network, "ipv6", "address6", "gateway6", net.ipv6)
    if net.dns:
        network["dns"] = list(net.dns)
    document: dict = {"host": {"hostname": net.hostname}} if net.hostname else {}
    document["network"] = network
    if answers.data_disks:
        document["storage"] = {"data_disks": list(answers.data_disks),
                               "wipe_disks_with_data": answers.wipe_disks_with_data}
    if answers.password_hash:
        document["console"] = {"password_hash": answers.password_hash}
    return HEADER + "\n" + dumps(document)
