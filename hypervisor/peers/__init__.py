"""Paired XenBox hosts: how two hosts come to trust each other, and the one channel they talk over.

- `code`       the one-time pairing code, and the proofs that bind it to both hosts' certificates
- `tls`        the TLS settings every peer connection uses (TLS 1.2, ECDHE, ChaCha20-Poly1305: fast without AES-NI)
- `messages`   one JSON object per line, of bounded size, over a socket
- `trusted`    this host's identity (certificate) and the peers it trusts, kept on the data store
- `pairing`    the two sides of a pairing: offering a code (listening only while the offer is open) and joining
- `listener`   the mutual-TLS service for paired peers only, on the management address; `ask` is its client
- `stream`     a one-shot byte stream between paired hosts over mutual TLS (socat), for `xl migrate`
- `this_host`  ThisHost: this host's name, certificate, kept peers and ports, for the command line and the console

A paired peer is trusted like root. What it sends still passes the same checks as anything else
that reaches a guest configuration: nothing here acts on a request, the layers above do.
"""
