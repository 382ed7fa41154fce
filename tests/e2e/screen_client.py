"""What a browser running noVNC does, in ~100 lines: TLS, a WebSocket (RFC 6455) with the token, then RFB 3.8
(RFC 6143) to read the guest's whole screen once. No library: the test venv has no WebSocket client.

The server's certificate is self-signed: it is checked the way an operator is told to, by its SHA-256
fingerprint against the one `xenbox appliance display NAME show` printed.
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct

from screen_hash import Screen, from_rgb


class Refused(Exception):
    """The server closed the connection before the guest's VNC server spoke."""


class WebSocket:
    def __init__(self, host: str, port: int, path: str, fingerprint: str, timeout: float = 30):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE     # pinned by fingerprint below
        self.sock = context.wrap_socket(socket.create_connection((host, port), timeout=timeout))
        der = self.sock.getpeercert(binary_form=True)
        seen = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        if seen != fingerprint:
            raise AssertionError(f"the server's certificate is {seen}, not the {fingerprint} shown")
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Protocol: binary\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise Refused(f"the server closed the connection during the handshake: {head!r}")
            head += chunk
        status = head.split(b"\r\n")[0]
        if b" 101 " not in status:
            raise Refused(f"no WebSocket: {status.decode(errors='replace')}")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        assert b"Sec-WebSocket-Accept: " + accept in head, head
        self.buffer = b""

    def _exactly(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise Refused("the connection was closed")
            data += chunk
        return data

    def send(self, payload: bytes) -> None:
        mask = os.urandom(4)                # a client masks every frame (RFC 6455 5.3)
        length = len(payload)
        header = bytes([0x82]) + (bytes([0x80 | length]) if length < 126 else
                                  bytes([0x80 | 126]) + struct.pack(">H", length) if length < 65536 else
                                  bytes([0x80 | 127]) + struct.pack(">Q", length))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _frame(self) -> bytes:
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", self._exactly(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self._exactly(8))[0]
        mask = self._exactly(4) if second & 0x80 else b""
        payload = self._exactly(length)
        if mask:
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        opcode = first & 0x0F
        if opcode == 0x8:
            raise Refused(f"the server closed the WebSocket: {payload[2:].decode(errors='replace')!r}")
        if opcode == 0x9:
            self.sock.sendall(bytes([0x8A, 0x80]) + b"\0\0\0\0")       # pong, masked with zeros
            return b""
        return payload

    def read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self.buffer += self._frame()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def close(self) -> None:
        self.sock.close()


def read_screen(host: str, port: int, token: str, fingerprint: str) -> Screen:
    """One whole framebuffer of the guest the token opens, through websockify."""
    ws = WebSocket(host, port, f"/websockify?token={token}", fingerprint)
    try:
        version = ws.read(12)
        if not version.startswith(b"RFB 003."):
            raise AssertionError(f"no RFB server behind the WebSocket: {version!r}")
        ws.send(b"RFB 003.008\n")
        types = ws.read(ws.read(1)[0])
        if 1 not in types:
            raise AssertionError(f"the VNC server wants authentication: security types {list(types)}")
        ws.send(b"\x01")
        if struct.unpack(">I", ws.read(4))[0] != 0:
            raise AssertionError("the VNC server refused security type None")
        ws.send(b"\x01")                                            # ClientInit: shared
        width, height = struct.unpack(">HH", ws.read(4))
        ws.read(16)                                                  # its pixel format: ours is set below
        ws.read(struct.unpack(">I", ws.read(4))[0])                  # the desktop's name
        # 32 bits a pixel, little-endian, true colour, red at bit 16, green 8, blue 0.
        ws.send(struct.pack(">BxxxBBBBHHHBBBxxx", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
        ws.send(struct.pack(">BxHi", 2, 1, 0))                       # SetEncodings: Raw only
        ws.send(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))   # the whole screen, not incremental
        pixels = bytearray(3 * width * height)
        while True:
            kind = ws.read(1)[0]
            if kind == 0:
                break
            if kind == 2:                                            # bell
                continue
            if kind == 3:                                            # cut text
                ws.read(3)
                ws.read(struct.unpack(">I", ws.read(4))[0])
                continue
            raise AssertionError(f"unexpected RFB message {kind}")
        ws.read(1)
        for _ in range(struct.unpack(">H", ws.read(2))[0]):
            x, y, w, h, encoding = struct.unpack(">HHHHi", ws.read(12))
            if encoding != 0:
                raise AssertionError(f"a rectangle in encoding {encoding}, not Raw")
            raw = ws.read(4 * w * h)
            for row in range(h):
                for column in range(w):
                    b, g, r = raw[4 * (row * w + column):4 * (row * w + column) + 3]
                    at = 3 * ((y + row) * width + x + column)
                    pixels[at:at + 3] = bytes((r, g, b))
        return from_rgb(width, height, bytes(pixels))
    finally:
        ws.close()


def refused(host: str, port: int, token: str, fingerprint: str) -> str | None:
    """Why the server turned this token away, or None if the guest's VNC server spoke."""
    try:
        ws = WebSocket(host, port, f"/websockify?token={token}", fingerprint, timeout=20)
    except Refused as error:
        return str(error)
    try:
        ws.read(12)
    except (Refused, ConnectionError, ssl.SSLError) as error:
        return str(error) or type(error).__name__
    finally:
        ws.close()
    return None
