"""The console lock, driven by Textual's pilot with a real console.toml in a temporary folder, the boot's
real word on the data store (hypervisor/host/data_store_word.py) and real yescrypt checks. Xen is not
needed: the overview behind the lock talks to a stand-in Xl. Textual's test driver cannot hand its
terminal to a program (suspend), so where a shell is started that one call is a no-op here; the shell is
real, on a pty of its own."""
import asyncio
import contextlib
import dataclasses
import os
import pty
import time

import pytest

import tui.app as console_app
import tui.handover as handover
from hypervisor import hangup, runner
from hypervisor.host import data_store_word, wrong_tries
from hypervisor.host.console_password import read_access, store_hash
from hypervisor.host.data_store_word import NONE, READ, UNREADABLE, WAITING, Word
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
    monkeypatch.setattr(handover, "read_access", lambda: read_access(path))
    monkeypatch.setattr(wrong_tries, "STEP_SECONDS", 0.01)
    return path


def drive(test, app=None):
    async def run():
        nonlocal app
        app = app or XenBoxApp(xl=FakeXl(domains()))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await test(pilot, app)
    asyncio.run(run())
    return app


async def type_password(pilot, app, text):
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause(0.1)
    await app.workers.wait_for_complete()       # the check runs in a thread
    await pilot.pause()


def said(screen, selector):
    return str(screen.query_one(selector, Static).render())


@pytest.fixture
def shell_probe(tmp_path, monkeypatch):
    """The shell key runs `touch` instead of a shell, and the terminal is not really handed over: the file
    exists when a shell would have started."""
    started = tmp_path / "shell-started"
    monkeypatch.setattr(console_app, "SHELL", ["touch", str(started)])
    monkeypatch.setattr(XenBoxApp, "suspend", lambda app: contextlib.nullcontext())
    return started


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


def test_the_lock_looking_while_the_new_password_is_written_does_not_lock_this_console(console_toml, monkeypatch):
    """Seen in `make torture` under load: the console's two-second look at console.toml came between the
    new hash's write and the console hearing it was written, and locked the console that had just set it.
    Here the look is made to come exactly then."""
    monkeypatch.setattr(console_app, "data_store_mounted", lambda: True)
    looked = []

    async def test(pilot, app):
        def store_then_look(hashed):
            store_hash(hashed, console_toml)
            app.call_from_thread(app.check_lock)        # the timer's look, in the window
            looked.append(read_access(console_toml).password_hash == hashed)
        monkeypatch.setattr(console_app, "store_hash", store_then_look)
        await pilot.press("w")
        await type_password(pilot, app, "long-enough-1")
        await type_password(pilot, app, "long-enough-1")
        await pilot.pause(0.2)
        assert looked == [True]
        assert not isinstance(app.screen, LockScreen)
        app.check_lock()                                # and every look after it
        await pilot.pause()
        assert not isinstance(app.screen, LockScreen)
    drive(test)


def test_a_password_that_could_not_be_kept_locks_nobody_out(console_toml, monkeypatch):
    monkeypatch.setattr(console_app, "data_store_mounted", lambda: True)

    def full(hashed):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(console_app, "store_hash", full)

    async def test(pilot, app):
        notes = []
        monkeypatch.setattr(app, "notify", lambda message, **options: notes.append(message))
        await pilot.press("w")
        await type_password(pilot, app, "long-enough-1")
        await type_password(pilot, app, "long-enough-1")
        await pilot.pause(0.2)
        app.check_lock()
        await pilot.pause()
        assert any("The password was not changed: [Errno 28] No space left on device" in note for note in notes)
        assert not isinstance(app.screen, LockScreen) and read_access(console_toml).password_hash is None
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


def test_locked_from_the_first_frame_until_the_boot_has_read_the_data_store(console_toml, shell_probe):
    """The console starts before the boot mounts the data store: until then no key gets past the lock,
    `s` starts no shell, and there is no password to type. Once read, the password kept there is asked."""
    data_store_word.tell(Word(WAITING))

    async def test(pilot, app):
        assert isinstance(app.screen, LockScreen)
        assert "The boot has not read the data store yet" in said(app.screen, "#why")
        assert not app.screen.query_one(Input).display
        await pilot.press("s")
        await pilot.pause()
        assert not shell_probe.exists() and isinstance(app.screen, LockScreen)
        console_toml.write_text(f'password_hash = "{HASH}"\n')      # the data store is mounted
        data_store_word.tell(Word(READ))
        app.check_lock()
        await pilot.pause()
        assert isinstance(app.screen, LockScreen) and app.screen.query_one(Input).display
        await pilot.press("s")
        await type_password(pilot, app, "change-me")
        assert not isinstance(app.screen, LockScreen)
        assert not shell_probe.exists()
        await pilot.press("s")
        assert shell_probe.exists()                 # the same key, once the password was typed
    drive(test)


def test_a_host_with_no_data_store_opens_once_the_boot_says_so(console_toml):
    data_store_word.tell(Word(WAITING))

    async def test(pilot, app):
        assert isinstance(app.screen, LockScreen)
        data_store_word.tell(Word(NONE))
        app.check_lock()
        await pilot.pause()
        assert not isinstance(app.screen, LockScreen)
    drive(test)


def test_a_data_store_that_cannot_be_read_keeps_the_console_locked_and_says_why(console_toml, shell_probe):
    data_store_word.tell(Word(UNREADABLE, "/dev/xenbox/data could not be mounted at /var/lib/xenbox: "
                                          "mount: wrong fs type"))

    async def test(pilot, app):
        assert isinstance(app.screen, LockScreen)
        why = said(app.screen, "#why")
        assert "The data store cannot be read: /dev/xenbox/data could not be mounted" in why
        assert "A console password may be kept on it" in why and "safe-mode entry" in why
        assert not app.screen.query_one(Input).display
        await pilot.press("s")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not shell_probe.exists() and isinstance(app.screen, LockScreen) and app.is_running
    drive(test)


def test_safe_mode_opens_a_console_whose_data_store_cannot_be_read_and_says_so(console_toml, monkeypatch):
    data_store_word.tell(Word(UNREADABLE, "VG xenbox is MISSING 1 of its 2 disks", safe=True))
    notes = []

    async def test(pilot, app):
        assert not isinstance(app.screen, LockScreen)
        assert any("This console is open because this is safe mode" in note for note in notes)
    app = XenBoxApp(xl=FakeXl(domains()))
    monkeypatch.setattr(app, "notify", lambda message, **options: notes.append(message))
    drive(test, app)


def test_ctrl_q_is_refused_on_the_lock_screen(console_toml):
    console_toml.write_text(f'password_hash = "{HASH}"\n')

    async def test(pilot, app):
        assert isinstance(app.screen, LockScreen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, LockScreen)
        await type_password(pilot, app, "change-me")
        assert not isinstance(app.screen, LockScreen)
    drive(test)


def test_the_wrong_password_delay_survives_a_console_restart(console_toml, monkeypatch):
    console_toml.write_text(f'password_hash = "{HASH}"\n')
    # Long enough that the restarted console is up and typed into before the wait is over, even on a CI
    # machine under load (1.5 s was once not); the test then waits only what is left of it.
    monkeypatch.setattr(wrong_tries, "STEP_SECONDS", 8.0)

    async def first(pilot, app):
        await type_password(pilot, app, "guess")
        assert "Wrong password (1 wrong so far)" in said(app.screen, "#problem")
    drive(first)                # ... and the console is gone: a restart, Ctrl-Q or a crash
    assert oct(wrong_tries.WRONG_TRIES.stat().st_mode & 0o777) == "0o600"

    async def restarted(pilot, app):
        assert "Wrong password (1 wrong so far)" in said(app.screen, "#problem")
        await type_password(pilot, app, "guess-again")
        assert "This try is checked in" in said(app.screen, "#problem")    # not at once: the wait goes on
        await pilot.pause(wrong_tries.read().wait_left() + 0.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Wrong password (2 wrong so far)" in said(app.screen, "#problem")
    drive(restarted)


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_shell_left_idle_is_hung_up_the_command_in_it_dies_and_the_console_locks(console_toml, tmp_path,
                                                                                 monkeypatch):
    """A real shell on a pty, left idle with a command running in it: at the idle limit the shell and the
    command get SIGHUP and die, and the console shows its lock."""
    console_toml.write_text(f'password_hash = "{HASH}"\n')
    # 3 s, not 1: on a loaded machine the shell was hung up before it had run the command (no pid file).
    limited = lambda: dataclasses.replace(read_access(console_toml), idle_lock_seconds=3)  # noqa: E731
    monkeypatch.setattr(console_app, "read_access", limited)
    monkeypatch.setattr(handover, "read_access", limited)
    monkeypatch.setattr(hangup, "STAMP_STEP_SECONDS", 0)   # the pty's access time: nobody types here
    monkeypatch.setattr(XenBoxApp, "suspend", lambda app: contextlib.nullcontext())
    terminal, shells_side = pty.openpty()
    pid_file, finished = tmp_path / "command.pid", tmp_path / "command.finished"
    # Typed ahead: the shell reads the command as it starts; then nothing more is read until it ends.
    os.write(terminal, f"sh -c 'echo $$ > {pid_file}; sleep 60; touch {finished}'\nexit\n".encode())

    async def test(pilot, app):
        await type_password(pilot, app, "change-me")
        app.terminal = shells_side
        await pilot.press("s")          # returns once the shell has ended
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        command = int(pid_file.read_text())
        for _ in range(50):             # SIGHUP was sent; the kernel ends it a moment later
            if not running(command):
                break
            await asyncio.sleep(0.1)
        assert not running(command) and not finished.exists()     # died in the middle
    try:
        drive(test)
    finally:
        os.close(terminal)
        os.close(shells_side)


def test_a_guest_console_left_idle_is_detached_but_not_while_keys_come(monkeypatch):
    """`xl console` here is a program that never reads, on a pty: keys waiting unread count as input too.
    Hung up only after the last key, at the limit."""
    monkeypatch.setattr(hangup, "STAMP_STEP_SECONDS", 0)
    terminal, console_side = pty.openpty()
    keys = []

    def type_keys():
        for _ in range(6):
            time.sleep(0.5)
            os.write(terminal, b"x\n")
            keys.append(time.monotonic())
    import threading
    typist = threading.Thread(target=type_keys)
    typist.start()
    try:
        with pytest.raises(runner.LeftIdle, match="no input for 1 s"):
            runner.attach(["sleep", "60"], idle_limit=1, terminal=console_side)
        hung_up = time.monotonic()
        typist.join()
        assert len(keys) == 6 and hung_up > keys[-1]
    finally:
        typist.join()
        os.close(terminal)
        os.close(console_side)


def test_a_question_asked_under_the_lock_waits_until_it_opens(console_toml):
    """A worker finishing under the lock (the Network screen's "keep them?") asks its question: the lock
    stays on top, and the question is there once the password has been typed."""
    from tui.widgets.confirm import Confirm
    console_toml.write_text(f'password_hash = "{HASH}"\n')
    answers = []

    async def test(pilot, app):
        app.push_screen(Confirm("Keep them?"), answers.append)
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        await pilot.press("y")
        await type_password(pilot, app, "change-me")
        assert isinstance(app.screen, Confirm) and answers == []
        await pilot.press("y")
        await pilot.pause()
        assert answers == [True]
    drive(test)
