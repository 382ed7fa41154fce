"""The host's facts at the top of the overview, HVM support included."""
from __future__ import annotations

from textual.widgets import Static

from hypervisor.host.summary import HostSummary
from hypervisor.network.addresses import describe_addresses
from hypervisor.xen import daemons as xen_daemons


def describe(host: HostSummary) -> str:
    used = host.memory_total_mib - host.memory_free_mib
    return "\n".join([
        f"Host    {host.hostname} - {describe_addresses(list(host.addresses))}",
        f"Xen     {host.xen_version}",
        f"CPU     {host.cpu_model} - {host.cores} cores",
        f"Memory  {host.memory_total_mib} MiB total, {host.memory_free_mib} MiB free ({used} MiB in use)",
        host.hvm.line,
        # a driver that asked for firmware the image lacks: the NIC or disk behind it may not work
        *(f"Firmware {problem.line}" for problem in host.missing_firmware),
    ])


class HostPanel(Static):
    DEFAULT_CSS = """
    HostPanel { height: auto; padding: 0 1; border: solid $primary; border-title-color: $text; }
    """

    def on_mount(self) -> None:
        self.border_title = "Host"
        self._text = ""
        self._say("Xen's services are starting ..." if xen_daemons.starting() else "Asking Xen about this host ...")

    def show(self, host: HostSummary) -> None:
        self._say(describe(host))

    def show_problem(self, message: str) -> None:
        self._say(f"Xen did not answer: {message}")

    def _say(self, text: str) -> None:
        # Every two seconds the same facts, mostly: redrawing (and laying out) only on a change
        # keeps the console's share of dom0's CPU small, which matters on a slow or busy host.
        if text != self._text:
            self._text = text
            self.update(text)
