"""One JSON object per line over a socket, each at most LIMIT bytes: a peer (or anyone before the
handshake is done) can neither send something unparseable past us nor make us read without end."""
from __future__ import annotations

import json
import socket

LIMIT = 64 * 1024


class ProtocolError(Exception):
    """The other side sent something that is not one of these messages, or nothing in time."""


class Channel:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._reader = sock.makefile("rb")

    def send(self, message: dict) -> None:
        self.sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def receive(self) -> dict:
        try:
            line = self._reader.readline(LIMIT + 1)
        except (TimeoutError, socket.timeout) as error:
            raise ProtocolError("no answer in time") from error
        except OSError as error:
            raise ProtocolError(f"the connection failed ({error})") from error
        if len(line) > LIMIT:
            raise ProtocolError(f"a message longer than {LIMIT} bytes")
        if not line.endswith(b"\n"):
            raise ProtocolError("the connection was closed before a whole message came")
        try:
            message = json.loads(line)
        except (UnicodeDecodeError, ValueError) as error:
            raise ProtocolError("a message that is not JSON") from error
        if not isinstance(message, dict):
            raise ProtocolError("a message that is not a JSON object")
        return message

    def close(self) -> None:
        self._reader.close()
        self.sock.close()
