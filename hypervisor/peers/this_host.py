"""This host as its peers know it: its name, its certificate, the peers it keeps and the ports it uses,
in one place, so the command line and the console pair and ask the same way."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from hypervisor.network.certificate import Certificate
from hypervisor.peers import listener, pairing, trusted
from hypervisor.peers.trusted import Peer


@dataclass(frozen=True)
class ThisHost:
    config: Path = trusted.CONFIG
    identity_dir: Path = trusted.IDENTITY
    pairing_port: int = pairing.PAIRING_PORT
    peer_port: int = listener.PEER_PORT
    fixed_name: str | None = None           # tests; a host's name is its hostname
    bridge: str = "xenbr0"                  # the management bridge: where peers reach this host

    def address(self) -> str | None:
        """The management address another host pairs with and talks to, or None while it has none."""
        from hypervisor.network.addresses import ipv4_of
        return ipv4_of(self.bridge)

    @property
    def name(self) -> str:
        return self.fixed_name or socket.gethostname()

    def identity(self) -> Certificate:
        return trusted.identity(self.name, self.identity_dir)

    def peers(self) -> list[Peer]:
        return trusted.read_peers(self.config)

    def peer(self, name: str) -> Peer:
        return trusted.find_peer(name, self.config)

    def trust(self, peer: Peer) -> None:
        trusted.add_peer(peer, self.name, self.config)

    def forget(self, name: str) -> Peer:
        return trusted.remove_peer(name, self.config)

    def offer(self) -> pairing.Offer:
        return pairing.Offer(self.identity(), self.name, port=self.pairing_port)

    def join(self, address: str, code: str) -> Peer:
        return pairing.join(address, code, self.identity(), self.name, self.trust, port=self.pairing_port)

    def ask(self, peer: Peer, op: str, *, timeout: float = listener.REQUEST_SECONDS, **arguments) -> dict:
        return listener.ask(peer, self.identity(), op, port=self.peer_port, timeout=timeout, **arguments)
