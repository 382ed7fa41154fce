"""The one-time pairing code, and the proofs that bind it to the two hosts' certificates.

Host A shows the code; host B, connected to A over TLS, proves it knows the code by a MAC over both
certificate fingerprints as B saw them; A answers with its own proof. Someone relaying in the middle
presents their own certificate to each side, so the fingerprints the two hosts see differ and
neither proof checks out. The key is stretched with scrypt, so that a relay that records one proof
cannot try every code offline before the code expires (40 bits, scrypt at 16 MiB each).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"     # no 0/O, 1/I/L, U: read off a screen and typed without doubt
LENGTH = 8
JOIN, ACCEPT = "join", "accept"                 # which side a proof comes from: one cannot be replayed as the other


class BadCode(ValueError):
    pass


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    """ABCD-EFGH: how the code is shown, in two halves."""
    return f"{code[:LENGTH // 2]}-{code[LENGTH // 2:]}"


def typed(text: str) -> str:
    """The code an operator typed: any case, with or without the dash or spaces."""
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != LENGTH or any(letter not in ALPHABET for letter in code):
        raise BadCode(f"a pairing code is {LENGTH} letters and digits, such as {shown('K7QM2XRT')}, "
                      "as the other host's pairing screen shows it")
    return code


def proof(code: str, side: str, offering: str, joining: str) -> str:
    """The MAC a side sends: over the offering host's and the joining host's certificate fingerprints."""
    key = hashlib.scrypt(code.encode(), salt=f"xenbox-pairing|{offering}|{joining}".encode(),
                         n=2 ** 14, r=8, p=1, dklen=32)
    return hmac.new(key, f"{side}|{offering}|{joining}".encode(), hashlib.sha256).hexdigest()


def proof_matches(code: str, side: str, offering: str, joining: str, received: object) -> bool:
    return isinstance(received, str) and hmac.compare_digest(proof(code, side, offering, joining), received)
