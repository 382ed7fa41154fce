"""The host's network: the management interface, the settings in force, and changes to them.

Changes are collected first (the NIC under xenbr0, IPv4, IPv6, hostname, DNS, extra bridges), each checked
as it is typed; `a`
applies them all at once. The console then asks to keep them, and goes back to the
previous settings by itself if nobody answers within a minute. Kept settings go to the
data store (config/network.toml) and are applied at every boot.
"""
from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from hypervisor.network.apply import describe, management_nic, move, wired_nics
from hypervisor.network.config import Addressing, Bridge, NetworkConfig, hostname_problem, validate
from hypervisor.network.nic import read_nic
from tui.invalid import Invalid
from tui.widgets.header import ClockedScreen, ScreenHeader
from tui.widgets.keep_or_revert import KeepOrRevert
from tui.widgets.key_footer import KeyFooter
from tui.widgets.prompt import Prompt


NETWORK_KEY_WIDTH = 14      # "g New bridge" and a space: two lines of keys at 80 columns


def read_bridge(text: str) -> Bridge:
    """'NAME NIC', 'NAME NIC vlan ID', 'NAME vlan ID' (on the management NIC) or 'NAME host-only'."""
    words = text.split()
    usage = ("type a name and what it carries: xenbr1 eth1, xenbr2 eth0 vlan 20, xenbr3 vlan 30 "
             "(on the management NIC) or lab host-only")
    if len(words) == 2 and words[1] == "host-only":
        return Bridge(words[0], host_only=True)
    if len(words) == 2:
        return Bridge(words[0], nic=words[1])
    if len(words) in (3, 4) and words[-2] == "vlan" and words[-1].isdigit():
        return Bridge(words[0], nic=words[1] if len(words) == 4 else None, vlan=int(words[-1]))
    raise Invalid(usage)


def problems_for(config: NetworkConfig, prefix: str) -> list[str]:
    return [f"{p.message}" for p in validate(config) if p.field.startswith(prefix)]


def read_addressing(text: str, version: int, modes: tuple[str, ...]) -> Addressing:
    """'dhcp' / 'auto' / 'off', or 'ADDRESS/PREFIX [GATEWAY]'."""
    words = text.split()
    if len(words) == 1 and words[0] in modes:
        return Addressing(words[0])
    if not 1 <= len(words) <= 2:
        raise Invalid(f"type {' or '.join(modes)}, or an address with its prefix and then the gateway, "
                      f"such as {'192.168.1.20/24 192.168.1.1' if version == 4 else '2001:db8::20/64 fe80::1'}")
    return Addressing("static", words[0], words[1] if len(words) == 2 else None)


class NetworkScreen(ClockedScreen):
    DEFAULT_CSS = """
    NetworkScreen Static.box { height: auto; padding: 0 1; border: solid $primary; border-title-color: $text; }
    NetworkScreen #pending { border: solid $warning; }
    NetworkScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("i", "interface", "Interface"),
        Binding("4", "ipv4", "IPv4"),
        Binding("6", "ipv6", "IPv6"),
        Binding("h", "hostname", "Hostname"),
        Binding("n", "dns", "DNS"),
        Binding("g", "add_bridge", "New bridge"),
        Binding("x", "remove_bridge", "Del bridge"),
        Binding("a", "apply", "Apply"),
        Binding("escape,b", "app.pop_screen", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.current = NetworkConfig()
        self.source = "DHCP, as at boot (nothing kept on the data store)"
        self.draft = self.current
        self._busy = False

    def compose(self) -> ComposeResult:
        yield ScreenHeader(show_clock=True, icon="")
        yield Static("", id="nic", classes="box")
        yield Static("", id="current", classes="box")
        yield Static("", id="pending", classes="box")
        yield Static("i, 4, 6, h, n, g, x change a setting; a applies the changes.", id="status")
        yield KeyFooter(NETWORK_KEY_WIDTH)

    def on_mount(self) -> None:
        self.sub_title = "Network"
        for box, title in (("#nic", "Management interface"), ("#current", "In force"), ("#pending", "Changes")):
            self.query_one(box).border_title = title
        from hypervisor.answer.network_settings import saved
        from hypervisor.answer.parse import AnswerError
        try:
            found = saved()
        except AnswerError as error:
            found = None
            self._say(f"The kept settings cannot be read: {error}")
        if found:
            self.current, self.source = found
        self.draft = self.current
        self._show()

    def _show(self) -> None:
        nic = management_nic()
        self.query_one("#nic", Static).update(Text(
            f"{read_nic(nic).line}, under the guest bridge xenbr0" if nic else "no wired interface under xenbr0"))
        self.query_one("#current", Static).update(Text(f"{describe(self.current)}\nfrom {self.source}"))
        pending = self.query_one("#pending", Static)
        pending.display = self.draft != self.current
        pending.update(Text(describe(self.draft)))

    def _say(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    # -- changing one setting --------------------------------------------------
    def _ask(self, question: str, value: str, read) -> None:
        def changed(draft: NetworkConfig | None) -> None:
            if draft is not None:
                self.draft = draft
                self._show()
                self._say("Press a to apply the changes, or change more.")
        # Empty, with the setting now as the placeholder: what is typed replaces it, with no
        # line editing needed (Ctrl-U and Home do not cross every serial terminal).
        self.app.push_screen(Prompt(question, "", placeholder=value, read=read), changed)

    def _checked(self, draft: NetworkConfig, prefix: str) -> NetworkConfig:
        found = problems_for(draft, prefix)
        if found:
            raise Invalid(found[0])
        return draft

    def _read_addressing(self, text: str, version: int) -> NetworkConfig:
        modes, key, suffix = (("dhcp",), "ipv4", "") if version == 4 else (("off", "auto"), "ipv6", "6")
        draft = replace(self.draft, **{key: read_addressing(text, version, modes)})
        for field in (f"network.address{suffix}", f"network.gateway{suffix}"):
            self._checked(draft, field)
        return draft

    def action_interface(self) -> None:
        wired = wired_nics()

        def read(text: str) -> NetworkConfig:
            if text != "auto" and text not in wired:
                raise Invalid(f"type auto or one of this host's wired NICs: {', '.join(wired) or 'none found'}")
            draft = replace(self.draft, interface=text)
            found = validate(draft)
            if found:
                raise Invalid(found[0].message)
            return draft
        self._ask(f"The NIC bridged into xenbr0, for guests and this host: auto (the first wired one) or one of "
                  f"{', '.join(wired) or 'none found'}:", self.draft.interface, read)

    def action_ipv4(self) -> None:
        v4 = self.draft.ipv4
        value = "dhcp" if v4.mode == "dhcp" else " ".join(filter(None, (v4.address, v4.gateway)))
        self._ask("IPv4: dhcp, or the address with its prefix, then the gateway (192.168.1.20/24 192.168.1.1):",
                  value, lambda text: self._read_addressing(text, 4))

    def action_ipv6(self) -> None:
        v6 = self.draft.ipv6
        value = v6.mode if v6.mode != "static" else " ".join(filter(None, (v6.address, v6.gateway)))
        self._ask("IPv6: off, auto, or the address with its prefix, then the gateway (2001:db8::20/64 fe80::1):",
                  value, lambda text: self._read_addressing(text, 6))

    def action_hostname(self) -> None:
        def read(text: str) -> NetworkConfig:
            if text and (problem := hostname_problem(text)):
                raise Invalid(problem)
            return replace(self.draft, hostname=text or None)
        self._ask("Hostname (empty: the one DHCP gives):", self.draft.hostname or "", read)

    def action_dns(self) -> None:
        self._ask("DNS servers, by address, separated by spaces (empty: the ones DHCP gives):",
                  " ".join(self.draft.dns),
                  lambda text: self._checked(replace(self.draft, dns=tuple(text.split())), "network.dns"))

    def action_add_bridge(self) -> None:
        def read(text: str) -> NetworkConfig:
            return self._checked(replace(self.draft, bridges=(*self.draft.bridges, read_bridge(text))),
                                 f"network.bridges[{len(self.draft.bridges)}]")
        self._ask("New bridge for guests: its name and what it carries (xenbr1 eth1, xenbr2 eth0 vlan 20, "
                  "lab host-only):", "", read)

    def action_remove_bridge(self) -> None:
        names = [bridge.name for bridge in self.draft.bridges]
        if not names:
            self.notify("There is no bridge to remove besides xenbr0, which guests always have.", severity="warning")
            return

        def read(text: str) -> NetworkConfig:
            if text not in names:
                raise Invalid(f"type one of {', '.join(names)}, or Escape")
            return replace(self.draft, bridges=tuple(b for b in self.draft.bridges if b.name != text))
        self._ask(f"Remove which bridge ({', '.join(names)})? Guests on it lose their link.", names[-1], read)

    # -- applying --------------------------------------------------------------
    def action_apply(self) -> None:
        if self._busy:
            return
        if self.draft == self.current:
            self.notify("Nothing has changed yet: i, 4, 6, h, n, g or x changes a setting.", severity="warning")
            return
        found = validate(self.draft)
        if found:
            self.notify(f"Not applied: {found[0]}", severity="error", markup=False, timeout=10)
            return
        self._busy = True
        self._say("Applying ...")
        self._move(self.current, self.draft, then_ask=True)

    @work(thread=True, exclusive=True, group="network", exit_on_error=False)
    def _move(self, previous: NetworkConfig, new: NetworkConfig, then_ask: bool) -> None:
        said: list[str] = []
        failures = move(previous, new, said.append)
        notes = [line for line in said if "failed:" not in line]     # failures come back on their own
        if notes:
            self.app.call_from_thread(self.notify, " ".join(notes), markup=False, timeout=10)
        self.app.call_from_thread(self._moved, previous, new, failures, then_ask)

    def _moved(self, previous: NetworkConfig, new: NetworkConfig, failures: list[str], then_ask: bool) -> None:
        if failures:
            self.notify("Some steps failed: " + "; ".join(failures), severity="error", markup=False, timeout=15)
        if not then_ask:          # that was the way back
            self._busy = False
            self._say("The previous settings are back in force.")
            self.notify("The network settings went back to the previous ones.", severity="warning", timeout=10)
            return

        def answered(keep: bool | None) -> None:
            if keep:
                self._keep(new)
            else:
                self._say("Going back to the previous settings ...")
                self._move(new, previous, then_ask=False)
        self.app.push_screen(KeepOrRevert(describe(new)), answered)

    def _keep(self, new: NetworkConfig) -> None:
        from hypervisor.answer.network_settings import save
        from hypervisor.storage.datastore import DataStore
        self._busy = False
        self.current = self.draft = new
        if DataStore().is_mounted():
            save(new)
            self.source = "the data store (config/network.toml)"
            self._say("Kept: applied at every boot from now on.")
        else:
            self.source = "this console, until the next boot"
            self._say("In force until the next boot: there is no data store to keep them on (key t).")
        self._show()
