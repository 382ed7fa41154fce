"""The console lock, driven by Textual's pilot with a real console.toml in a temporary folder and
real yescrypt checks. Xen is not needed: the overview behind the lock talks to a stand-in Xl."""
import asyncio

import pytest

import tui.app as console_app
from hypervisor.host.console_password import read_access, store_hash
from textual.widgets import Input, Static
from tui.app import XenBoxApp
from tui.screens.lock import LockScreen
from test_tui_appliances import FakeXl, domains

# "change-me", as in tests/fixtures/answer/example.toml
HASH = "$y$j9T$iuMyB.FwXnYCR9Rg.E215.$64ELharyTbQiYuV/t0D1x5ngpwHDthbxHr.4jyWg3AB"


@pytest.fixture
def console_toml(tmp_path, monkeypatch):
    path = tmp_path / "console.toml"
    monkeypatch.setattr(console_app, "read_access", lambda: read_access(path))
    monkeypatch.setattr("tui.screens.lock.WRONG_DELAY_SECONDS", 0.01)
    return path


def drive(test):
    async def run():
        app = XenBoxApp(xl=FakeXl(domains()))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await test(pilot, app)
    asyncio.run(run())


async def type_password(pilot, app, text):
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause(0.1)
    await app.workers.wait_for_complete()       # the check runs in a thread
    await pilot.pause()


def test_no_password_no_lock(console_toml):
    async def test(pilot, app):
        assert not isinstance(app.screen, LockScreen)
    drive(test)


def test_locked_at_start_wrong_password_refused_right_one_lets_in(console_toml):
    console_toml.write_text(f'password_hash = "{HASH}"\n')

    async def test(pilot, app):
        assert isinstance(app.screen, LockScreen)
        await type_password(pilot, app, "guess")
        assert isinstance(app.screen, LockScreen)
        assert "Wrong password (1 wrong so far)" in str(app.screen.query_one("#problem", Static).render())
        await type_password(pilot, app, "change-me")
        assert not isinstance(app.screen, LockScreen)
    drive(test)


def test_a_password_set_while_running_locks_and_idle_time_locks_again(console_toml):
    async def test(pilot, app):
        assert not isinstance(app.screen, LockScreen)
        console_toml.write_text(f'password_hash = "{HASH}"\nidle_lock_seconds = 10\n')
        app.check_lock()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await type_password(pilot, app, "change-me")
        assert not isinstance(app.screen, LockScreen)
        app.check_lock()
        assert not isinstance(app.screen, LockScreen)        # just typed: not idle
        app._last_activity -= 11
        app.check_lock()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
    drive(test)


def test_a_weak_or_unreadable_hash_locks_nobody_out_and_says_why(tmp_path):
    path = tmp_path / "console.toml"
    path.write_text('password_hash = "$1$abc$def"\n')
    access = read_access(path)
    assert access.password_hash is None and "holds no usable password_hash" in access.problem
    path.write_text("password_hash = \n")
    assert "cannot be read" in read_access(path).problem


def test_w_sets_the_password_twice_typed_hashed_off_the_ui_thread_and_kept(console_toml, monkeypatch):
    import crypt
    monkeypatch.setattr(console_app, "data_store_mounted", lambda: True)
    monkeypatch.setattr(console_app, "store_hash", lambda hashed: store_hash(hashed, console_toml))

    async def test(pilot, app):
        await pilot.press("w")
        await type_password(pilot, app, "short")
        assert "at least 8 characters" in str(app.screen.query_one("#problem", Static).render())
        await type_password(pilot, app, "long-enough-1")
        await type_password(pilot, app, "long-enough-2")
        assert "the two passwords differ" in str(app.screen.query_one("#problem", Static).render())
        await type_password(pilot, app, "long-enough-1")
        await pilot.pause(0.2)
        hashed = read_access(console_toml).password_hash
        assert hashed.startswith("$y$") and crypt.crypt("long-enough-1", hashed) == hashed
        assert not isinstance(app.screen, LockScreen)      # set here: this console stays open
    drive(test)


def test_w_without_a_data_store_says_where_the_password_would_live(console_toml, monkeypatch):
    monkeypatch.setattr(console_app, "data_store_mounted", lambda: False)
    notes = []

    async def test(pilot, app):
        monkeypatch.setattr(app, "notify", lambda message, **options: notes.append(message))
        await pilot.press("w")
        assert notes == ["The console password is kept on the data store: make one first (key t)."]
        assert not console_toml.exists()
    drive(test)
