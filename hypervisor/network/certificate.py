"""The host's self-signed TLS certificates, each made once and kept on the data store: the guest display's
(HTTPS to a browser) and the host's own for its paired peers (mutual TLS). Its SHA-256 fingerprint is what
an operator compares, in a browser or on another host's console.
"""
from __future__ import annotations

import hashlib
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from hypervisor import runner

DAYS = 3650


class CertificateError(Exception):
    """No certificate could be made or read; the message names the folder and the fix."""


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    fingerprint: str        # SHA-256 of the DER, as `openssl x509 -fingerprint -sha256` prints it

    def pem(self) -> str:
        return self.cert.read_text()


def fingerprint(pem: str) -> str:
    """AB:CD:... — what a browser shows as the certificate's SHA-256 fingerprint."""
    der = ssl.PEM_cert_to_DER_cert(pem)
    return fingerprint_of_der(der)


def fingerprint_of_der(der: bytes) -> str:
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def certificate(folder: Path, hostname: str = "xenbox", run: runner.Runner = runner.run) -> Certificate:
    """The certificate and key in `folder`, made there first if missing (ECDSA P-256, ten years, by openssl)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if not (cert.is_file() and key.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        new_cert, new_key = folder / ".cert.pem.new", folder / ".key.pem.new"
        subject = re.sub(r"[^A-Za-z0-9.-]", "-", hostname) or "xenbox"
        try:
            run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-days", str(DAYS), "-subj", f"/CN={subject}",
                 "-keyout", str(new_key), "-out", str(new_cert)])
        except runner.CommandError as error:
            raise CertificateError(f"a certificate could not be made in {folder}: {error.sentence}") from error
        os.chmod(new_key, 0o600)
        os.replace(new_key, key)        # the key first: a certificate is never there without its key
        os.replace(new_cert, cert)
    try:
        return Certificate(cert, key, fingerprint(cert.read_text()))
    except (OSError, ValueError) as error:
        raise CertificateError(f"{cert} cannot be read ({error}): remove {folder} and a new one is made") from error
