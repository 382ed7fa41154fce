"""The TLS every connection between XenBox hosts uses.

TLS 1.2 with ECDHE and ChaCha20-Poly1305 only: the certificates are ECDSA P-256, and ChaCha20 is fast
in software, where AES without AES-NI (qemu64, many small boards) is not. Python's ssl cannot choose
TLS 1.3's cipher suites, so 1.2 is pinned; with ECDHE it keeps forward secrecy.

Pairing has no certificate to check yet: the joining side takes whatever the offering side shows and
the pairing code's proofs (code.py) bind it. After pairing, both sides check the other's certificate
against the peers they trust (mutual TLS), and the exact fingerprint is compared again.
"""
from __future__ import annotations

import ssl
from typing import Iterable

from hypervisor.network.certificate import Certificate

CIPHERS = "ECDHE-ECDSA-CHACHA20-POLY1305"


def _pinned(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)
    return context


def pairing_server(identity: Certificate) -> ssl.SSLContext:
    context = _pinned(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    context.load_cert_chain(identity.cert, identity.key)
    return context


def pairing_client() -> ssl.SSLContext:
    """No check of the server's certificate here: the pairing proofs bind it (see the module's text)."""
    context = _pinned(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def mutual_server(identity: Certificate, trusted_pems: Iterable[str]) -> ssl.SSLContext:
    context = _pinned(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    context.load_cert_chain(identity.cert, identity.key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata="".join(trusted_pems))
    return context


def mutual_client(identity: Certificate, peer_pem: str) -> ssl.SSLContext:
    context = _pinned(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    context.load_cert_chain(identity.cert, identity.key)
    context.check_hostname = False          # peers are known by their certificate, not by a name in DNS
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=peer_pem)
    return context
