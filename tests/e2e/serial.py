"""Drive a XenBox machine through its serial console, as a person at a terminal would.

QEMU's serial line is read by pexpect and fed into pyte, a VT100 emulator: tests
assert on the screen a person would see. pyte answers the console's size query
(cursor position report) through the same line, like a real terminal.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pexpect
import pyte

ROWS, COLS = 24, 80


class Timeout(AssertionError):
    pass


class _Screen(pyte.Screen):
    """A pyte screen whose replies (size report, device attributes) go back down the line."""

    def __init__(self, cols: int, rows: int, reply) -> None:
        super().__init__(cols, rows)
        self._reply = reply

    def write_process_input(self, data: str) -> None:
        self._reply(data)


class SerialConsole:
    def __init__(self, argv: list[str], log_path: Path, rows: int = ROWS, cols: int = COLS) -> None:
        self.started = time.monotonic()
        self.child = pexpect.spawn(argv[0], argv[1:], timeout=None, echo=False)
        # A real terminal answers queries; a test may silence it (see answer_queries).
        self.answers_queries = True
        self.screen = _Screen(cols, rows, self._answer)
        self.stream = pyte.ByteStream(self.screen)
        self.log = log_path.open("wb")
        self.timing = log_path.with_suffix(".timing").open("w")   # when each chunk came: stalls show up
        self.transcript = b""
        self.events: list[tuple[float, bytes]] = []
        self.typed: list[tuple[float, bytes]] = []     # what the test sent, and when

    def _answer(self, data: str) -> None:
        if self.answers_queries:
            self.child.send(data.encode())

    # -- reading ---------------------------------------------------------
    def pump(self, seconds: float = 0.2) -> None:
        """Read what the machine printed in the next moment and put it on the screen."""
        try:
            data = self.child.read_nonblocking(65536, timeout=seconds)
        except pexpect.TIMEOUT:
            return
        except pexpect.EOF:
            raise
        self.log.write(data)
        self.log.flush()
        self.transcript += data
        self.events.append((time.monotonic() - self.started, data))
        self.timing.write(f"{self.events[-1][0]:.2f} {len(data)}\n")
        self.stream.feed(data)

    def resize(self, rows: int, cols: int) -> None:
        """The person at the far end resizes their terminal window: nothing goes down the line."""
        self.screen.resize(rows, cols)

    def display(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for_screen(self, pattern: str, timeout: float) -> re.Match:
        """Until the screen shows `pattern` (a regex)."""
        return self._wait(lambda: re.search(pattern, self.display()), pattern, timeout, "screen")

    def wait_for_screen_without(self, pattern: str, timeout: float) -> None:
        """Until the screen no longer shows `pattern` (a lock that opened, a dialog that closed)."""
        self._wait(lambda: not re.search(pattern, self.display()), f"no more {pattern!r}", timeout, "screen")

    def wait_for_output(self, pattern: bytes, timeout: float, since: int = 0) -> re.Match:
        """Until the raw serial output (boot messages, not only the screen) holds `pattern`."""
        return self._wait(lambda: re.search(pattern, self.transcript[since:]), pattern, timeout, "serial output")

    def _wait(self, found, pattern, timeout: float, where: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = found()
            if match:
                return match
            try:
                self.pump()
            except pexpect.EOF:
                match = found()
                if match:
                    return match
                raise Timeout(f"QEMU exited before the {where} showed {pattern!r}.\n{self._evidence()}")
        raise Timeout(f"the {where} did not show {pattern!r} within {timeout:.0f} s.\n{self._evidence()}")

    def _evidence(self) -> str:
        """The screen, and the last raw bytes with their age: a key press that drew nothing shows there."""
        age = time.monotonic() - self.started - self.events[-1][0] if self.events else 0
        tail = self.transcript[-400:].decode(errors="replace")
        now = time.monotonic() - self.started
        typed = ", ".join(f"{data.decode(errors='replace')!r} {now - at:.0f} s ago" for at, data in self.typed[-3:])
        return (f"Screen:\n{self.display()}\nLast output ({age:.0f} s ago), raw:\n{tail!r}\n"
                f"Last typed: {typed or 'nothing'}\n{self._silences(now - 300)}")

    def _silences(self, since: float) -> str:
        """The machine's longest silences lately: a console that stalled shows as a gap, one that
        drew but not what was waited for does not."""
        times = [at for at, _ in self.events if at >= since]
        gaps = sorted(((later - earlier, earlier) for earlier, later in zip(times, times[1:])), reverse=True)[:3]
        now = time.monotonic() - self.started
        said = ", ".join(f"{gap:.0f} s from {now - at:.0f} s ago" for gap, at in gaps if gap >= 3)
        return f"Silences over 3 s in the last 300 s: {said or 'none'}"

    def wait_for_exit(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            try:
                self.pump(0.5)
            except pexpect.EOF:
                break
        if self.child.isalive():
            raise Timeout(f"QEMU still running after {timeout:.0f} s.\nScreen:\n{self.display()}")
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else -1

    def settle(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.pump()
            except pexpect.EOF:
                return

    # -- typing ----------------------------------------------------------
    def press(self, keys: str, pause: float = 0.3) -> None:
        for key in keys:
            self._send(key.encode())
            self.settle(pause)

    def press_sequence(self, sequence: str, pause: float = 0.3) -> None:
        """One key that is several bytes (an arrow: ESC [ B), sent in one write: sent a byte at a
        time, the console would take the lone ESC for the Escape key."""
        self._send(sequence.encode())
        self.settle(pause)

    def type_line(self, line: str) -> None:
        """Type in short bursts: Xen buffers only 128 bytes of serial input for dom0."""
        data = line.encode() + b"\r"
        for start in range(0, len(data), 32):
            self._send(data[start:start + 32])
            self.settle(0.1)

    def paste(self, data: bytes, baud: int = 115200) -> None:
        """`data` as a terminal pastes it over a serial line of `baud` (8n1: 10 bits a byte): no faster
        than the line carries it. QEMU itself hands its UART bytes as fast as the guest takes them."""
        piece = 16
        for start in range(0, len(data), piece):
            began = time.monotonic()
            self._send(data[start:start + piece])
            time.sleep(max(0.0, piece * 10 / baud - (time.monotonic() - began)))

    def note(self, what: str) -> None:
        """A line in the timing log, beside the chunks and keys: what the test did about a stall."""
        self.timing.write(f"{time.monotonic() - self.started:.2f} note {what}\n")

    def _send(self, data: bytes) -> None:
        self.typed.append((time.monotonic() - self.started, data))
        self.timing.write(f"{self.typed[-1][0]:.2f} typed {data!r}\n")
        self.child.send(data)

    def ask_xen_what_dom0_is_doing(self) -> None:
        """Into the serial log: Xen's view of its domains and dom0's vCPU registers.

        For a boot that never reaches the console: with no output from dom0 there is
        nothing else to go on. Ctrl-A three times hands serial input to Xen, whose
        debug keys print state ('q' domains, '0' dom0's vCPUs); three more hand it back.
        Only on a machine booted with Xen's serial keys kept on (machine.booted's default):
        as shipped, XenBox's GRUB menu turns them off.
        """
        self._ask_xen("q0")

    def ask_xen_where_its_cpus_are(self) -> str:
        """For a host gone silent (no echo, no clock): each physical CPU's place in Xen ('d') and the run
        queues ('r'). Returns the lines that say where; the whole dump goes into the serial log. If Xen
        does not answer either, the emulator below it is what stopped."""
        since = len(self.transcript)
        self._ask_xen("dr")
        said = self.transcript[since:].decode(errors="replace").splitlines()
        where = [line.strip() for line in said if re.search(r"Dumping CPU|RIP:|Xen call trace|\[<[0-9a-f]+>\]", line)]
        if not said:
            return "Xen did not answer its debug keys either: the emulated machine itself stopped."
        return "Xen's CPUs were at:\n" + "\n".join(where[:40])

    def _ask_xen(self, keys: str) -> None:
        if not self.child.isalive():
            return
        self.press("\x01\x01\x01", pause=1)
        for key in keys:
            self.press(key, pause=5)
        self.press("\x01\x01\x01", pause=1)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.log.close()
        self.timing.close()
