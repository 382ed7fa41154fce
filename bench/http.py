"""When a guest first answers HTTP, seen from the host through QEMU's user-net port forward.

A thread asks `GET /` over and over with short timeouts from the moment QEMU starts,
and keeps the first answer's time on the serial console's clock (seconds since QEMU
started), so it sits on the same timeline as the boot's milestones. Before the guest
serves, QEMU accepts the host's connection and then gets nothing from the guest: the
attempt times out or is closed, and the next one follows. The time is therefore
known to within one attempt's timeout.
"""
from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

ATTEMPT_TIMEOUT = 0.5       # seconds an attempt may take before the next
PAUSE = 0.25                # between attempts that ended at once (refused, reset)
REQUEST = b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n"
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] (\d{3})[ \r]")
SERVING = re.compile(r"sample-web: serving http://([0-9.]+|no-address)/")


def status(answer: bytes) -> int | None:
    """The status code if `answer` begins with an HTTP status line, else None."""
    match = STATUS_LINE.match(answer)
    return int(match.group(1)) if match else None


def serving_address(text: str) -> str | None:
    """The address the sample guest says it serves on ("sample-web: serving http://IP/"), last one said."""
    found = SERVING.findall(text)
    return found[-1] if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (QEMU binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forward(port: int, guest: str, guest_port: int = 80) -> str:
    """A QEMU user-net hostfwd rule: 127.0.0.1:port on the host to guest:guest_port."""
    return f"tcp:127.0.0.1:{port}-{guest}:{guest_port}"


def ask(port: int, timeout: float = ATTEMPT_TIMEOUT) -> int | None:
    """One GET /: the status code, or None when nothing answered in time."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(REQUEST)
            answer = b""
            while len(answer) < 16 and (chunk := s.recv(64)):
                answer += chunk
            return status(answer)
    except OSError:
        return None


@dataclass
class Answer:
    at: float                   # seconds since `started` (the serial console's clock)
    status: int
    attempts: int
    cpu: float | None = None    # QEMU's CPU seconds by then, when known


class FirstAnswer:
    """Polls 127.0.0.1:port in a thread until the first HTTP answer, or until stopped."""

    def __init__(self, port: int, started: float, cpu: Callable[[], float | None] = lambda: None) -> None:
        self.port = port
        self.started = started      # a time.monotonic() value: QEMU's start
        self.cpu = cpu              # QEMU's CPU seconds so far (bench.boot.cpu_seconds of its pid)
        self.answer: Answer | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name=f"http-{port}", daemon=True)

    def start(self) -> FirstAnswer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=ATTEMPT_TIMEOUT + 1)

    def _poll(self) -> None:
        attempts = 0
        while not self._stop.is_set():
            attempts += 1
            began = time.monotonic()
            code = ask(self.port)
            if code is not None:
                self.answer = Answer(time.monotonic() - self.started, code, attempts, self.cpu())
                return
            self._stop.wait(max(0.0, PAUSE - (time.monotonic() - began)))
