"""The console's network screen, driven by Textual's pilot. Moving the real host's addresses cannot
happen here: `move` (the function that runs `ip`) is replaced by one that records each move, and the
kept settings go to a temporary folder. The end-to-end test changes a booted XenBox's address for real."""
import asyncio

import pytest
from textual.app import App
from textual.widgets import Input, Static

import tui.screens.network as network_screen
from hypervisor.network.config import Addressing, NetworkConfig
from tui.screens.network import NetworkScreen
from tui.widgets.keep_or_revert import KeepOrRevert
from tui.widgets.prompt import Prompt

STATIC = NetworkConfig(ipv4=Addressing("static", "10.0.2.60/24", "10.0.2.2"))


@pytest.fixture
def moves(tmp_path, monkeypatch):
    done = []
    monkeypatch.setattr(network_screen, "move", lambda previous, new, say: done.append((previous, new)) or [])
    monkeypatch.setattr("hypervisor.answer.network_settings.NETWORK_SETTINGS", tmp_path / "network.toml")
    monkeypatch.setattr("hypervisor.answer.network_settings.ANSWER_SETTINGS", tmp_path / "answer.toml")
    monkeypatch.setattr("hypervisor.storage.datastore.DataStore.is_mounted", lambda self: True)
    monkeypatch.setattr("hypervisor.answer.network_settings.save", lambda config: (tmp_path / "kept").write_text(repr(config)))
    return done


class NetworkApp(App):
    def on_mount(self):
        self.push_screen(NetworkScreen())


def drive(test):
    async def run():
        app = NetworkApp()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await test(pilot, app)
    asyncio.run(run())


async def answer(pilot, app, text):
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def settle(pilot, app):
    await pilot.pause(0.1)
    await app.workers.wait_for_complete()
    await pilot.pause()


def test_a_bad_gateway_is_refused_as_it_is_typed(moves):
    async def test(pilot, app):
        await pilot.press("4")
        await answer(pilot, app, "10.0.2.60/24 192.168.9.1")
        assert isinstance(app.screen, Prompt)
        assert str(app.screen.query_one("#problem", Static).render()).startswith(
            "is outside this host's subnet 10.0.2.0/24")
    drive(test)


def test_a_change_kept_is_saved_one_not_confirmed_goes_back(moves, tmp_path):
    async def test(pilot, app):
        screen = app.screen
        await pilot.press("4")
        await answer(pilot, app, "10.0.2.60/24 10.0.2.2")
        assert screen.draft == STATIC and screen.current == NetworkConfig()
        await pilot.press("a")
        await settle(pilot, app)
        assert isinstance(app.screen, KeepOrRevert)
        await pilot.press("y")
        await settle(pilot, app)
        assert moves == [(NetworkConfig(), STATIC)] and screen.current == STATIC
        assert "10.0.2.60/24" in (tmp_path / "kept").read_text()
        await pilot.press("4")
        await answer(pilot, app, "dhcp")
        await pilot.press("a")
        await settle(pilot, app)
        app.screen.left = 0                       # the minute has passed with no answer
        await pilot.pause(1.2)
        await settle(pilot, app)
        assert moves[1:] == [(STATIC, NetworkConfig()), (NetworkConfig(), STATIC)]
        assert screen.current == STATIC
    drive(test)


def test_bridges_are_added_checked_as_typed_applied_and_removed(moves):
    from hypervisor.network.config import Bridge

    async def test(pilot, app):
        screen = app.screen
        await pilot.press("g")
        await answer(pilot, app, "xenbr1")
        assert "type a name and what it carries" in str(app.screen.query_one("#problem", Static).render())
        await answer(pilot, app, "xenbr0 host-only")
        assert str(app.screen.query_one("#problem", Static).render()).startswith(
            "is already the name of the management bridge")
        await answer(pilot, app, "xenbr1 eth0 vlan 20")
        await pilot.press("g")
        await answer(pilot, app, "lab host-only")
        assert screen.draft.bridges == (Bridge("xenbr1", nic="eth0", vlan=20), Bridge("lab", host_only=True))
        assert "bridges xenbr1 on VLAN 20 of eth0, lab host-only" in str(
            screen.query_one("#pending", Static).render())
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        assert moves[-1][1].bridges == screen.current.bridges == screen.draft.bridges
        await pilot.press("x")
        await answer(pilot, app, "nope")
        assert "type one of xenbr1, lab" in str(app.screen.query_one("#problem", Static).render())
        await answer(pilot, app, "xenbr1")
        assert screen.draft.bridges == (Bridge("lab", host_only=True),)
    drive(test)


def test_every_key_shows_in_the_footer_at_80_columns(moves):
    async def test(pilot, app):
        footer = app.screen.query_one("KeyFooter")
        assert {key.key for key in footer.keys()} == {"i", "4", "6", "h", "n", "g", "x", "a", "escape"}
        lines = footer.render().plain.splitlines()
        assert footer.size.height == len(lines) == 2 and all(len(line) <= 80 for line in lines)
        assert all(f"{key.shown} {key.description}" in footer.render().plain for key in footer.keys())
    drive(test)


def test_the_nic_under_xenbr0_is_chosen_among_the_wired_ones_and_applied(moves, monkeypatch, tmp_path):
    monkeypatch.setattr(network_screen, "wired_nics", lambda: ["eth0", "eth1"])

    async def test(pilot, app):
        screen = app.screen
        await pilot.press("i")
        assert "auto (the first wired one) or one of eth0, eth1" in app.screen.question
        await answer(pilot, app, "eth7")
        assert str(app.screen.query_one("#problem", Static).render()) == (
            "type auto or one of this host's wired NICs: eth0, eth1")
        await answer(pilot, app, "eth1")
        assert screen.draft == NetworkConfig(interface="eth1")
        assert "NIC eth1, hostname from DHCP" in str(screen.query_one("#pending", Static).render())
        await pilot.press("a")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        assert moves == [(NetworkConfig(), NetworkConfig(interface="eth1"))]
        assert screen.current.interface == "eth1" and "interface='eth1'" in (tmp_path / "kept").read_text()
    drive(test)
