"""Step 2: the management NIC, and the host's name, addresses and DNS servers, each checked as it is typed.

The same readers and checks as the Network screen (`read_addressing`, `validate`), so a value this step
takes is one the answer file takes.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from hypervisor.network.apply import management_nic
from hypervisor.network.config import NetworkConfig, hostname_problem, validate
from hypervisor.network.nic import SYSFS, read_nic
from tui.first_boot.step import Step
from tui.invalid import Invalid
from tui.screens.network import read_addressing
from tui.widgets.prompt import Prompt

HELP = "h hostname, 4 IPv4, 6 IPv6, d DNS servers: each is checked as you type it. Empty answers keep DHCP's."


def checked(config: NetworkConfig, *fields: str) -> NetworkConfig:
    """`config`, or Invalid saying what is wrong with the first of `fields` that has a problem."""
    for problem in validate(config):
        if problem.field.startswith(fields):
            value = "" if problem.value is None else f"{problem.value} "
            raise Invalid(f"{value}{problem.message}")
    return config


def addressing_text(config: NetworkConfig, version: int) -> str:
    setting = config.ipv4 if version == 4 else config.ipv6
    if setting.mode != "static":
        return "DHCP" if setting.mode == "dhcp" else setting.mode
    return setting.address + (f" via {setting.gateway}" if setting.gateway else " (no default route)")


class NetworkStep(Step):
    TITLE = "Network"
    BINDINGS = [Binding("h", "hostname", "Name"), Binding("4", "ipv4", "IPv4"), Binding("6", "ipv6", "IPv6"),
                Binding("d", "dns", "DNS")]

    def __init__(self, sysfs: Path = SYSFS) -> None:
        super().__init__(id="network")
        self.sysfs = sysfs          # /sys/class/net: the NIC under xenbr0, its driver, MAC and link

    def compose(self) -> ComposeResult:
        yield Static("", id="nic", classes="box")
        yield Static("", id="settings", classes="box")
        yield Static(HELP, classes="help")

    def on_mount(self) -> None:
        self.query_one("#nic").border_title = "Management interface"
        self.query_one("#settings").border_title = "Settings"

    def show(self) -> None:
        nic = management_nic(self.sysfs)
        self.query_one("#nic", Static).update(Text(
            f"{read_nic(nic, self.sysfs).line}, under the guest bridge xenbr0" if nic
            else "No wired interface under xenbr0: guests and this host have no network until one is plugged in."))
        net = self.answers.network
        self.query_one("#settings", Static).update(Text("\n".join([
            f"Hostname     {net.hostname or 'from DHCP, else xenbox'}",
            f"IPv4         {addressing_text(net, 4)}",
            f"IPv6         {addressing_text(net, 6)}",
            f"DNS servers  {' '.join(net.dns) or 'from DHCP'}"])))

    def _ask(self, question: str, value: str, read) -> None:
        def typed(network: NetworkConfig | None) -> None:
            if network is not None:
                self.change(replace(self.answers, network=network))
        # Empty, the value now as the placeholder: what is typed replaces it, no line editing needed.
        self.app.push_screen(Prompt(question, "", placeholder=value, read=read), typed)

    def action_hostname(self) -> None:
        def read(text: str) -> NetworkConfig:
            if text and (problem := hostname_problem(text)):
                raise Invalid(f"{text} {problem}")
            return replace(self.answers.network, hostname=text or None)
        self._ask("Hostname (empty: the one DHCP gives, else xenbox):", self.answers.network.hostname or "", read)

    def _addressing(self, text: str, version: int) -> NetworkConfig:
        modes, key, suffix = (("dhcp",), "ipv4", "") if version == 4 else (("off", "auto"), "ipv6", "6")
        network = replace(self.answers.network, **{key: read_addressing(text or modes[-1], version, modes)})
        return checked(network, f"network.address{suffix}", f"network.gateway{suffix}")

    def action_ipv4(self) -> None:
        self._ask("IPv4: dhcp, or the address with its prefix, then the gateway (192.168.1.20/24 192.168.1.1):",
                  addressing_text(self.answers.network, 4), lambda text: self._addressing(text, 4))

    def action_ipv6(self) -> None:
        self._ask("IPv6: off, auto, or the address with its prefix, then the gateway (2001:db8::20/64 fe80::1):",
                  addressing_text(self.answers.network, 6), lambda text: self._addressing(text, 6))

    def action_dns(self) -> None:
        self._ask("DNS servers, by address, separated by spaces (empty: the ones DHCP gives):",
                  " ".join(self.answers.network.dns),
                  lambda text: checked(replace(self.answers.network, dns=tuple(text.split())), "network.dns"))
