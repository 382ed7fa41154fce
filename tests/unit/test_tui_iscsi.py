"""The iSCSI targets screen, driven by Textual's pilot at 80x24: the real IscsiTargets, its kept list
a real file in a temporary folder, iscsiadm's answers replayed from a VM with a real target (the
boundary; the e2e storage test attaches a real target over the network from the CLI)."""
import asyncio

from textual.widgets import DataTable, Input, Static

from hypervisor.storage.iscsi_targets import read_targets
from test_storage_iscsi_targets import SECURE, STORE1, Iscsiadm, targets
from test_storage_support import failure
from tui.screens.iscsi import IscsiScreen
from tui_pilot import ScreenApp, answer, settle


def drive(test, run, tmp_path):
    async def go():
        app = ScreenApp(IscsiScreen(targets(tmp_path, run)))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await test(pilot, app, app.screen_under_test)
    asyncio.run(go())


def status(screen):
    return str(screen.query_one("#status", Static).render())


def test_a_target_is_added_from_what_the_portal_offers_with_chap_and_listed(tmp_path):
    run = Iscsiadm({("iscsiadm", "-m", "node"): "vm/iscsiadm-login-chap.txt",
                    ("iscsiadm", "-m", "session", "-P", "3"): "vm/iscsiadm-session-P3.txt"})

    async def test(pilot, app, screen):
        assert status(screen) == "No iSCSI targets yet. Press a to add one."
        await pilot.press("a")
        await answer(pilot, "127.0.0.1")
        question = str(app.screen.query_one(Static).render())
        assert f"1. {STORE1}" in question and f"2. {SECURE}" in question
        await answer(pilot, "2")
        await answer(pilot, "vault")
        await answer(pilot, "xenbox")                  # CHAP user
        assert app.screen.query_one(Input).password    # the secret is not shown
        await answer(pilot, "s3cret-chap")
        assert app.screen is screen
        assert status(screen) == "iSCSI vault is attached, and will be at every boot. Disks: sdf."
        table = screen.query_one(DataTable)
        assert [str(c) for c in table.get_row_at(0)] == ["vault", "127.0.0.1:3260", "yes", SECURE]
    drive(test, run, tmp_path)
    kept = read_targets(tmp_path / "config" / "iscsi.toml")
    assert [(t.name, t.iqn, t.chap.password) for t in kept] == [("vault", SECURE, "s3cret-chap")]


def test_a_refused_login_is_said_and_nothing_is_kept(tmp_path):
    run = Iscsiadm({("iscsiadm", "-m", "node", "-T", SECURE, "-p", "127.0.0.1:3260", "--login"):
                    failure(["iscsiadm"], "vm/iscsiadm-login-no-chap.txt")})

    async def test(pilot, app, screen):
        await pilot.press("a")
        await answer(pilot, "127.0.0.1")
        await answer(pilot, "2")
        await answer(pilot, "vault")
        await answer(pilot, "")                        # no CHAP
        assert status(screen).startswith(f"{SECURE} was not added: {SECURE} at 127.0.0.1:3260 refused the login: "
                                         "it needs a CHAP user name and password")
        assert app.notified[-1][1] == "error"
        assert screen.query_one(DataTable).row_count == 0
    drive(test, run, tmp_path)
    assert not (tmp_path / "config" / "iscsi.toml").exists()


def test_a_portal_that_does_not_answer_is_said(tmp_path):
    run = Iscsiadm({("iscsiadm", "-m", "discovery"): failure(["iscsiadm"], "vm/iscsiadm-discovery-refused.txt")})

    async def test(pilot, app, screen):
        await pilot.press("a")
        await answer(pilot, "127.0.0.1:3261")
        assert app.screen is screen
        assert status(screen).startswith("no iSCSI target answers at 127.0.0.1:3261")
    drive(test, run, tmp_path)
