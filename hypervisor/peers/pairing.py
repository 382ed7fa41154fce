"""Pairing two hosts: one offers a code (and listens only while the offer is open), the other joins.

The offering host (A) shows its code and its certificate's fingerprint. The joining host (B) connects
to A over TLS, sends its name, its certificate and its proof of the code (code.py); A checks the proof
against the fingerprints it sees and answers with its own. Each then trusts the other's certificate
(trusted.py). The offer ends at the first pairing, after three wrong codes, or when it expires; the
listening socket closes with it. Each host records the other's address as it saw it on the wire.
"""
from __future__ import annotations

import socket
import ssl
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from hypervisor.network.certificate import Certificate, fingerprint, fingerprint_of_der
from hypervisor.peers import tls
from hypervisor.peers.code import ACCEPT, JOIN, new_code, proof, proof_matches, shown
from hypervisor.peers.messages import Channel, ProtocolError
from hypervisor.peers.trusted import Peer, PeersError
from hypervisor.settings.names import NAME, NAME_VALID

PAIRING_PORT = 8473
OFFER_SECONDS = 5 * 60
TRIES = 3
CONNECTION_SECONDS = 120        # scrypt, twice, under an emulator takes its time
Accept = Callable[[Peer], None]
Say = Callable[[str], None]


class PairingFailed(Exception):
    """No pairing was made (or the offer ended); the message says why and what to do."""


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seen_address(sock: socket.socket) -> str:
    address = sock.getpeername()[0]
    return address.removeprefix("::ffff:")         # an IPv4 client on a dual-stack socket


def _listen_everywhere(port: int) -> socket.socket:
    """IPv4 and IPv6 where the kernel has IPv6, else IPv4 alone."""
    if socket.has_dualstack_ipv6():
        try:
            return socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
        except OSError:
            pass                    # IPv6 switched off in this kernel
    return socket.create_server(("0.0.0.0", port))


class Offer:
    """An open pairing offer. Listening starts here; `wait` serves joiners until the offer ends."""

    def __init__(self, identity: Certificate, own_name: str, *, port: int = PAIRING_PORT,
                 seconds: float = OFFER_SECONDS, code: str | None = None) -> None:
        self.identity, self.own_name = identity, own_name
        self.code = code or new_code()
        self.deadline = time.monotonic() + seconds
        self.tries_left = TRIES
        self.cancelled = threading.Event()
        self._context = tls.pairing_server(identity)
        self._listening = _listen_everywhere(port)
        self._listening.settimeout(0.5)
        self.port = self._listening.getsockname()[1]

    @property
    def shown_code(self) -> str:
        return shown(self.code)

    def seconds_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def wait(self, accept: Accept, say: Say = lambda line: None) -> Peer:
        """The peer that joined with the right code (already accepted); PairingFailed when the offer ends without."""
        try:
            while True:
                if self.cancelled.is_set():
                    raise PairingFailed("pairing was cancelled; no host was paired")
                if self.seconds_left() <= 0:
                    raise PairingFailed("the code expired and no host joined: offer a new code")
                try:
                    raw, _ = self._listening.accept()
                except socket.timeout:
                    continue
                peer = self._serve_one(raw, accept, say)
                if peer is not None:
                    return peer
                if self.tries_left == 0:
                    raise PairingFailed(f"{TRIES} wrong codes: this code is void and no host was paired; "
                                        "offer a new code")
        finally:
            self.close()

    def close(self) -> None:
        self._listening.close()

    def _serve_one(self, raw: socket.socket, accept: Accept, say: Say) -> Peer | None:
        raw.settimeout(CONNECTION_SECONDS)
        seen = _seen_address(raw)
        try:
            with self._context.wrap_socket(raw, server_side=True) as sock:
                channel = Channel(sock)
                try:
                    return self._answer(channel, seen, accept, say)
                finally:
                    channel.close()
        except (OSError, ssl.SSLError, ProtocolError) as error:
            say(f"pairing: a connection from {seen} failed ({error}); still waiting")
            return None

    def _answer(self, channel: Channel, seen: str, accept: Accept, say: Say) -> Peer | None:
        request = channel.receive()
        name, pem = request.get("name"), request.get("certificate")
        if not (isinstance(name, str) and NAME.fullmatch(name) and isinstance(pem, str)):
            channel.send({"ok": False, "why": f"the joining host's name must be {NAME_VALID}"})
            return None
        try:
            joining = fingerprint(pem)
        except ValueError:
            channel.send({"ok": False, "why": "the joining host sent no certificate"})
            return None
        offering = self.identity.fingerprint
        if not proof_matches(self.code, JOIN, offering, joining, request.get("proof")):
            self.tries_left -= 1
            say(f"pairing: {seen} ({name}) gave a wrong code; {self.tries_left} tries left")
            channel.send({"ok": False, "why": f"wrong code ({self.tries_left} tries left), or something between "
                          "the two hosts: check the code and that the fingerprint matches the other host's screen"})
            return None
        peer = Peer(name, seen, joining, pem, now())
        try:
            accept(peer)
        except PeersError as error:
            channel.send({"ok": False, "why": f"{self.own_name} refused: {error}"})
            raise PairingFailed(str(error)) from error
        channel.send({"ok": True, "name": self.own_name, "certificate": self.identity.pem(),
                      "proof": proof(self.code, ACCEPT, offering, joining)})
        say(f"pairing: paired with {name} at {seen}, fingerprint {joining}")
        return peer


def join(address: str, code: str, identity: Certificate, own_name: str, accept: Accept, *,
         port: int = PAIRING_PORT) -> Peer:
    """Pair with the host offering `code` at `address`; the new peer, already accepted. PairingFailed otherwise."""
    try:
        raw = socket.create_connection((address, port), timeout=CONNECTION_SECONDS)
    except OSError as error:
        raise PairingFailed(f"{address} port {port} does not answer ({error.strerror or error}): open pairing "
                            "on that host first (its console's Peers screen, or `xenbox host pair`)") from error
    try:
        with tls.pairing_client().wrap_socket(raw) as sock:
            offering = fingerprint_of_der(sock.getpeercert(binary_form=True))
            channel = Channel(sock)
            try:
                channel.send({"name": own_name, "certificate": identity.pem(),
                              "proof": proof(code, JOIN, offering, identity.fingerprint)})
                reply = channel.receive()
            finally:
                channel.close()
    except (OSError, ssl.SSLError, ProtocolError) as error:
        raise PairingFailed(f"pairing with {address} failed: {error}") from error
    if reply.get("ok") is not True:
        raise PairingFailed(f"{address} refused: {reply.get('why', 'no reason given')}")
    pem, name = reply.get("certificate"), reply.get("name")
    if not (isinstance(pem, str) and isinstance(name, str) and NAME.fullmatch(name)):
        raise PairingFailed(f"{address} answered without its name or certificate: not paired")
    try:
        same = fingerprint(pem) == offering
    except ValueError:
        same = False
    if not same or not proof_matches(code, ACCEPT, offering, identity.fingerprint, reply.get("proof")):
        raise PairingFailed(f"{address} did not prove it knows the code: something is between the two hosts. "
                            f"Not paired here; remove {own_name} on the other host if it lists it")
    peer = Peer(name, address, offering, pem, now())
    accept(peer)
    return peer
