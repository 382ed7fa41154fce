"""A one-shot byte stream between two paired hosts, over mutual TLS, carried by socat: what `xl migrate`
and `xl migrate-receive` talk through (xl's own transport is ssh, which XenBox has not).

The receiving host runs `receiver_argv`: socat accepts one connection on its management address, from the
peer's exact certificate only, and joins it to a command's standard input and output. The sending host
gives `sender_command` to `xl migrate -s`, which runs it with a shell and appends the target's name and
its own arguments: the trailing `#` makes those a comment (Ganeti's hv_xen.py does the same).
Both pin the peers' TLS (tls.py): 1.2, ECDHE-ECDSA, ChaCha20-Poly1305.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from hypervisor import runner
from hypervisor.network.certificate import Certificate
from hypervisor.peers.tls import CIPHERS

TLS = f"min-version=TLS1.2,max-version=TLS1.2,cipher={CIPHERS}"


def common_name(pem: str, run: runner.Runner = runner.run) -> str:
    """The CN a certificate was made with (its host's name then): socat checks the server's against it."""
    subject = run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"], input=pem)
    found = re.search(r"(?:^|[=,])CN=([^,\n]+)", subject.removeprefix("subject="))
    if found is None:
        raise ValueError("the certificate names no host (no CN)")
    return found.group(1).strip()


def _safe(value: str) -> str:
    """socat splits its addresses at ':' and ',' and the shell at spaces: paths and names are kept plain."""
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", value):
        raise ValueError(f"{value!r} cannot be passed to socat as it is")
    return value


def receiver_argv(identity: Certificate, peer_pem: Path, address: str, port: int, command: list[str]) -> list[str]:
    listen = (f"OPENSSL-LISTEN:{port},bind={_safe(address)},reuseaddr,cert={_safe(str(identity.cert))},"
              f"key={_safe(str(identity.key))},cafile={_safe(str(peer_pem))},verify=1,{TLS}")
    return ["socat", "-T", "600", listen, "EXEC:" + " ".join(_safe(word) for word in command)]


def sender_command(identity: Certificate, peer_pem: Path, peer_name: str, address: str, port: int) -> str:
    connect = (f"OPENSSL:{_safe(address)}:{port},cert={_safe(str(identity.cert))},key={_safe(str(identity.key))},"
               f"cafile={_safe(str(peer_pem))},verify=1,commonname={_safe(peer_name)},{TLS}")
    return f"socat -T 600 - {shlex.quote(connect)} #"
