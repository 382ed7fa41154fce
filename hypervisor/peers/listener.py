"""The service paired hosts talk to: mutual TLS on the management address, for trusted peers only.

Every connection carries one request and its answer ({"op": ..., ...} -> {"ok": true, ...} or
{"ok": false, "why": ...}). The client's certificate must be one a peer was paired with, compared by
its exact fingerprint; anyone else fails the handshake. What an operation does is not decided here:
the caller hands in the handlers, one per operation, and each is given the asking peer.
"""
from __future__ import annotations

import socket
import ssl
import threading
from typing import Callable

from hypervisor.network.certificate import Certificate, fingerprint_of_der
from hypervisor.peers import tls
from hypervisor.peers.messages import Channel, ProtocolError
from hypervisor.peers.trusted import Peer

PEER_PORT = 8474
REQUEST_SECONDS = 60
Handler = Callable[[Peer, dict], dict]
Say = Callable[[str], None]


class PeerUnreachable(Exception):
    """The peer did not answer, or not as itself; the message says which and what to check."""


class PeerRefused(Exception):
    """The peer answered and said no; the message is its reason."""


class Listener:
    def __init__(self, identity: Certificate, peers: list[Peer], address: str, handlers: dict[str, Handler], *,
                 port: int = PEER_PORT, say: Say = lambda line: None) -> None:
        if not peers:
            raise ValueError("no host is paired: there is no one to listen for")
        self.peers = {peer.fingerprint: peer for peer in peers}
        self.handlers, self.say = handlers, say
        self._context = tls.mutual_server(identity, [peer.certificate for peer in peers])
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self._listening = socket.create_server((address, port), family=family)
        self._listening.settimeout(0.5)
        self.port = self._listening.getsockname()[1]
        self.stopped = threading.Event()

    def serve(self) -> None:
        """Until `stopped` is set; each connection in its own thread, so a slow one holds up no other."""
        try:
            while not self.stopped.is_set():
                try:
                    raw, _ = self._listening.accept()
                except socket.timeout:
                    continue
                threading.Thread(target=self._serve_one, args=(raw,), daemon=True).start()
        finally:
            self._listening.close()

    def _serve_one(self, raw: socket.socket) -> None:
        raw.settimeout(REQUEST_SECONDS)
        seen = raw.getpeername()[0]
        try:
            with self._context.wrap_socket(raw, server_side=True) as sock:
                peer = self.peers.get(fingerprint_of_der(sock.getpeercert(binary_form=True)))
                channel = Channel(sock)
                if peer is None:        # signed by a peer's key, yet not its certificate: not who was paired
                    channel.send({"ok": False, "why": "this certificate was not paired here"})
                    return
                channel.send(self._answer(peer, channel.receive()))
        except (OSError, ssl.SSLError, ProtocolError) as error:
            self.say(f"peers: a connection from {seen} was refused or failed: {error}")

    def _answer(self, peer: Peer, request: dict) -> dict:
        handler = self.handlers.get(request.get("op"))
        if handler is None:
            return {"ok": False, "why": f"this host does not know the request {request.get('op')!r}: "
                                        "are both hosts running the same XenBox version?"}
        try:
            return {"ok": True, **handler(peer, request)}
        except Exception as error:          # noqa: BLE001 - the peer hears why; the listener keeps serving
            return {"ok": False, "why": str(error) or type(error).__name__}


def ask(peer: Peer, identity: Certificate, op: str, *, port: int = PEER_PORT, timeout: float = REQUEST_SECONDS,
        **arguments) -> dict:
    """The peer's answer to one request; PeerUnreachable or PeerRefused otherwise."""
    try:
        raw = socket.create_connection((peer.address, port), timeout=timeout)
    except OSError as error:
        raise PeerUnreachable(f"{peer.name} ({peer.address}) does not answer on port {port} "
                              f"({error.strerror or error}): is it up, and on the network?") from error
    try:
        with tls.mutual_client(identity, peer.certificate).wrap_socket(raw) as sock:
            if fingerprint_of_der(sock.getpeercert(binary_form=True)) != peer.fingerprint:
                raise PeerUnreachable(f"{peer.address} is not {peer.name}: its certificate changed")
            channel = Channel(sock)
            channel.send({"op": op, **arguments})
            reply = channel.receive()
    except ssl.SSLError as error:
        raise PeerUnreachable(f"{peer.name} ({peer.address}) refused this host's certificate or showed another "
                              f"({error.reason or error}): pair the two hosts again") from error
    except (OSError, ProtocolError) as error:
        raise PeerUnreachable(f"{peer.name} ({peer.address}) failed to answer: {error}") from error
    if reply.get("ok") is not True:
        raise PeerRefused(f"{peer.name}: {reply.get('why', 'refused, no reason given')}")
    return reply
