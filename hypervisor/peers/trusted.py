"""This host's identity for its peers, and the peers it trusts, on the data store.

- config/peer-identity/{cert,key}.pem: this host's certificate, made on first use; its fingerprint is
  how the other host's operator knows it;
- config/peers.toml: one [[peers]] table per paired host: its name (its hostname when paired), the
  address it was paired from, its certificate and that certificate's fingerprint, and when.

The file is read as strictly as every settings file: one with any problem is not used (no peer is
trusted, the listener does not start) and the problem names the key path and the fix.
"""
from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from pathlib import Path

from hypervisor.network.certificate import Certificate, certificate, fingerprint
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.fields import TableReader
from hypervisor.settings.names import NAME, NAME_VALID
from hypervisor.settings.problems import Problem, repeated_names
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage.config_files import KeptFileProblems, read_toml
from hypervisor.storage.datastore import MOUNTPOINT

CONFIG = MOUNTPOINT / "config" / "peers.toml"
IDENTITY = MOUNTPOINT / "config" / "peer-identity"
FORMAT = 1


class PeersError(Exception):
    """Nothing was changed; the message says why and what to do."""


@dataclass(frozen=True)
class Peer:
    name: str
    address: str
    fingerprint: str
    certificate: str        # PEM
    paired: str             # when, ISO 8601 UTC


def identity(hostname: str, folder: Path = IDENTITY) -> Certificate:
    if not folder.parent.is_dir():
        raise PeersError(f"{folder.parent} is missing: pairing needs a data store to keep this host's certificate "
                         "and its peers; make one on the Storage screen first")
    return certificate(folder, hostname)


def read_peers(path: Path = CONFIG) -> list[Peer]:
    """The peers kept in `path` ([] when there is none); KeptFileProblems, every one, if any is wrong."""
    problems: list[Problem] = []
    doc = TableReader(read_toml(path), "", problems)
    doc.integer("format", minimum=1)
    peers = [_peer(table) for table in doc.tables("peers")]
    doc.finish()
    problems += repeated_names("peers", [peer.name if peer else None for peer in peers])
    if problems:
        raise KeptFileProblems(path, problems)
    return [peer for peer in peers if peer is not None]


def _peer(table: TableReader) -> Peer | None:
    name = table.string("name", 'add name = "other-host"', pattern=NAME, valid=NAME_VALID)
    address = table.string("address", 'add address = "192.0.2.10"')
    if address is not None and not _is_address(address):
        table.problem("address", address, "must be an IPv4 or IPv6 address")
        address = None
    pem = table.string("certificate", "pair with the host again", multiline=True)
    stated = table.string("fingerprint", "pair with the host again")
    paired = table.string("paired") or ""
    table.finish()
    if pem is not None:
        try:
            actual = fingerprint(pem)
        except ValueError:
            table.problem("certificate", None, "is not a PEM certificate: pair with the host again")
            return None
        if stated is not None and actual != stated:
            table.problem("fingerprint", stated, "is not the certificate's: pair with the host again")
            return None
    if None in (name, address, pem, stated):
        return None
    return Peer(name, address, stated, pem, paired)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def write_peers(peers: list[Peer], path: Path = CONFIG) -> None:
    write_atomically(path, dumps({"format": FORMAT, "peers": [asdict(peer) for peer in peers]}))


def add_peer(peer: Peer, own_name: str, path: Path = CONFIG) -> None:
    """Trust `peer`. The same host pairing again (same certificate) replaces its entry: a new address."""
    if peer.name == own_name:
        raise PeersError(f"both hosts are named {own_name}: give one of them its own hostname (Network screen) "
                         "and pair again")
    peers = read_peers(path)
    for known in peers:
        if known.name == peer.name and known.fingerprint != peer.fingerprint:
            raise PeersError(f"a different host named {peer.name} is already paired (fingerprint "
                             f"{known.fingerprint[:23]}...): remove it first (`xenbox host unpair {peer.name}`) "
                             "if it is gone, or give this one another hostname")
    write_peers([known for known in peers if known.fingerprint != peer.fingerprint] + [peer], path)


def remove_peer(name: str, path: Path = CONFIG) -> Peer:
    peers = read_peers(path)
    gone = [peer for peer in peers if peer.name == name]
    if not gone:
        known = ", ".join(peer.name for peer in peers) or "none"
        raise PeersError(f"no paired host is named {name} (paired: {known})")
    write_peers([peer for peer in peers if peer.name != name], path)
    return gone[0]


def find_peer(name: str, path: Path = CONFIG) -> Peer:
    peers = read_peers(path)
    for peer in peers:
        if peer.name == name:
            return peer
    known = ", ".join(peer.name for peer in peers) or "none"
    raise PeersError(f"no paired host is named {name} (paired: {known}): pair them first (Peers screen, or "
                     "`xenbox host pair`)")
