"""The Peers screen (overview, key p), driven by Textual's pilot at 80x24. The other hosts are real too:
their own certificates, a pairing offer or a peer listener on this machine's loopback, over TLS."""
import asyncio
import socket
import threading

from textual.widgets import Static

from hypervisor.peers.listener import Listener
from hypervisor.peers.this_host import ThisHost
from tui.screens.peers import PeersScreen
from tui_pilot import ScreenApp, answer, settle, table_rows


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def host(tmp_path, name: str, pairing_port: int, peer_port: int) -> ThisHost:
    folder = tmp_path / name
    folder.mkdir()
    return ThisHost(folder / "peers.toml", folder / "identity", pairing_port, peer_port, fixed_name=name, bridge="lo")


class Serving:
    """`host`'s peer listener, answering facts as the real one does (its figures made up here)."""

    def __init__(self, me: ThisHost) -> None:
        self.listener = Listener(me.identity(), me.peers(), "127.0.0.1", {
            "facts": lambda peer, request: {"xen_version": "4.17.6", "free_memory_mib": 900, "hvm": True}},
            port=me.peer_port)
        threading.Thread(target=self.listener.serve, daemon=True).start()

    def stop(self) -> None:
        self.listener.stopped.set()


def text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def until(pilot, condition, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("never happened")


def test_offering_a_code_pairs_a_host_that_types_it_and_shows_it_answering(tmp_path):
    pairing, peering = free_port(), free_port()
    alpha, beta = host(tmp_path, "alpha", pairing, peering), host(tmp_path, "beta", pairing, peering)

    async def run():
        app = ScreenApp(PeersScreen(alpha))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert alpha.identity().fingerprint in text(screen, "#me").replace("\n", "")
            assert table_rows(screen) == []
            await pilot.press("o")
            await pilot.pause()
            offer = screen.offer
            shown = text(screen, "#offer")
            assert f"Pairing code  {offer.shown_code}     this host's address  127.0.0.1" in shown
            assert "3 of 3 tries left" in shown
            peer = await asyncio.to_thread(beta.join, "127.0.0.1", offer.code)
            assert peer.fingerprint == alpha.identity().fingerprint
            serving = Serving(beta)
            try:
                await until(pilot, lambda: screen.offer is None)
                await settle(pilot)
                await pilot.press("u")          # beta listens only now that it has a peer: ask again
                await until(pilot, lambda: table_rows(screen) and "answers" in table_rows(screen)[0][2])
                assert table_rows(screen) == [["beta", "127.0.0.1", "answers: Xen 4.17.6, 900 MiB free, HVM yes"]]
                assert "Paired with beta at 127.0.0.1" in text(screen, "#status")
            finally:
                serving.stop()
            with socket.socket() as probe:              # the offer is closed: nothing listens for pairing
                assert probe.connect_ex(("127.0.0.1", pairing)) != 0
            await pilot.press("x")
            await pilot.press("y")
            await settle(pilot)
            assert table_rows(screen) == [] and alpha.peers() == []
            assert "beta is forgotten here. Forget this host on beta too" in text(screen, "#status")
    asyncio.run(run())


def test_escape_closes_an_open_offer_before_the_screen(tmp_path):
    alpha = host(tmp_path, "alpha", free_port(), free_port())

    async def run():
        app = ScreenApp(PeersScreen(alpha))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            await pilot.press("o")
            await pilot.pause()
            port = screen.offer.port
            await pilot.press("escape")
            await until(pilot, lambda: screen.offer is None)
            assert isinstance(app.screen, PeersScreen)
            assert "Not paired: pairing was cancelled" in text(screen, "#status")
            with socket.socket() as probe:
                assert probe.connect_ex(("127.0.0.1", port)) != 0
            await pilot.press("escape")
            await settle(pilot)
            assert not isinstance(app.screen, PeersScreen)
    asyncio.run(run())


def test_joining_a_host_that_offers_and_a_host_that_is_down(tmp_path):
    pairing, peering = free_port(), free_port()
    alpha, gamma = host(tmp_path, "alpha", pairing, peering), host(tmp_path, "gamma", pairing, peering)

    async def run():
        offer = gamma.offer()
        waiting = asyncio.create_task(asyncio.to_thread(offer.wait, gamma.trust))
        app = ScreenApp(PeersScreen(alpha))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            await pilot.press("j")
            await answer(pilot, "not-an-address")
            assert "type the other host's address" in str(app.screen.query_one("#problem", Static).render())
            await answer(pilot, "127.0.0.1")
            await answer(pilot, "12")
            assert "a pairing code is 8 letters and digits" in str(app.screen.query_one("#problem", Static).render())
            await answer(pilot, offer.shown_code.lower())
            await waiting
            await until(pilot, lambda: "Paired with gamma" in text(screen, "#status"))
            assert gamma.identity().fingerprint in text(screen, "#status").replace("\n", "")
            await until(pilot, lambda: table_rows(screen) and "NOT answering" in table_rows(screen)[0][2])
            assert [p.name for p in gamma.peers()] == ["alpha"]
            await pilot.press("j")
            await answer(pilot, "127.0.0.1")
            await answer(pilot, offer.shown_code)       # that offer is over: nothing listens
            await until(pilot, lambda: "Not paired" in text(screen, "#status"))
            assert "does not answer" in text(screen, "#status")
    asyncio.run(run())


def test_without_a_data_store_the_screen_says_so_and_offers_nothing(tmp_path):
    lonely = ThisHost(tmp_path / "none" / "peers.toml", tmp_path / "none" / "identity", free_port(), free_port(),
                      fixed_name="lonely")

    async def run():
        app = ScreenApp(PeersScreen(lonely))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert "pairing needs a data store" in text(screen, "#me").replace("\n", " ")
            await pilot.press("o")
            await pilot.pause()
            assert screen.offer is None and "No code offered" in text(screen, "#status")
    asyncio.run(run())


def test_key_p_on_the_overview_opens_the_peers_screen(monkeypatch, tmp_path):
    import tui.app as console_app
    import tui.screens.peers as peers_screen
    from hypervisor.host.console_password import ConsoleAccess
    from test_tui_appliances import FakeXl, domains
    from tui.screens.overview import OverviewScreen
    monkeypatch.setattr(console_app, "read_access", lambda: ConsoleAccess(None))
    here = host(tmp_path, "alpha", free_port(), free_port())
    monkeypatch.setattr(peers_screen, "ThisHost", lambda: here)

    async def go():
        app = console_app.XenBoxApp(xl=FakeXl(domains()))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, OverviewScreen)
            await pilot.press("p")
            await settle(pilot)
            assert isinstance(app.screen, PeersScreen)
            assert "This host: alpha" in str(app.screen.query_one("#me", Static).border_title)
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, OverviewScreen)
    asyncio.run(go())
