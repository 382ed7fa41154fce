"""Console passwords as strong crypt(3) hashes: made here as yescrypt, checked in constant time.

Python 3.11's `crypt` module is deprecated (PEP 594; gone in 3.13) but it is the standard library's only
door to libcrypt, and bookworm's Python is 3.11: its DeprecationWarning is silenced around the import,
nowhere else, and it is imported at the first hash. `crypt.mksalt` knows no yescrypt (3.11 offers
SHA-512, SHA-256, Blowfish, MD5 and DES), so the `$y$` setting comes from libxcrypt's own
crypt_gensalt_rn (bookworm's libcrypt.so.1 is libxcrypt), fed 16 bytes from os.urandom.
"""
from __future__ import annotations

import os
import re
import warnings

ACCEPTED = "yescrypt ($y$), gost-yescrypt ($gy$), scrypt ($7$) or SHA-512 crypt ($6$) with rounds of 5000 or more"
HOW_TO = "make one with `mkpasswd --method=yescrypt` (Debian package whois) or `openssl passwd -6`"
MIN_SHA512_ROUNDS = 5000      # glibc's default when a $6$ hash names no rounds
_B64 = "[./0-9A-Za-z]"
STRONG = [re.compile(rf"\$g?y\${_B64}+\${_B64}+\${_B64}{{43}}"),          # $y$<params>$<salt>$<hash>
          re.compile(rf"\$7\${_B64}{{11}}[^$:\s]*\${_B64}{{43}}")]         # $7$<N r p><salt>$<hash>
SHA512 = re.compile(rf"\$6\$(?:rounds=([0-9]{{1,9}})\$)?[^$:\s]{{0,16}}\${_B64}{{86}}")
WEAK = {"$1$": "MD5 crypt", "$2": "bcrypt", "$5$": "SHA-256 crypt", "$md5": "Sun MD5 crypt", "$sha1$": "SHA-1 crypt",
        "$3$": "NT hash", "_": "BSDi DES crypt"}


class PasswordError(ValueError):
    """A password that cannot be hashed, or libcrypt without yescrypt; one sentence."""


def weakness(text: str) -> str | None:
    """Why `text` may not be stored as a console password hash; None for a strong one. Never quotes it:
    what was meant as a hash may be a password."""
    if any(pattern.fullmatch(text) for pattern in STRONG):
        return None
    sha512 = SHA512.fullmatch(text)
    if sha512:
        rounds = int(sha512[1] or MIN_SHA512_ROUNDS)
        if rounds >= MIN_SHA512_ROUNDS:
            return None
        return f"is SHA-512 crypt with only {rounds} rounds, too quick to guess against: accepted are {ACCEPTED}"
    kind = next((words for prefix, words in WEAK.items() if text.startswith(prefix)), None)
    if kind:
        return f"is a {kind} hash, which XenBox does not accept: accepted are {ACCEPTED}; {HOW_TO}"
    if text.startswith("$"):
        return f"is not a complete hash XenBox accepts: accepted are {ACCEPTED}; {HOW_TO}"
    return f"is no password hash (a plain password is never stored): {HOW_TO}"


def _crypt(password: str, setting: str) -> str | None:
    """crypt(3). The module is loaded at the first hash, not with the console's first frame: importing
    it hashes once with each method it knows, to list them (4 ms on the build host, some 20 times
    that under emulation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, setting)


def _yescrypt_setting() -> str:
    import ctypes
    try:
        gensalt = ctypes.CDLL("libcrypt.so.1").crypt_gensalt_rn
    except (OSError, AttributeError) as error:
        raise PasswordError(f"this system's libcrypt cannot make yescrypt hashes ({error}); libxcrypt is needed") from None
    gensalt.restype = ctypes.c_char_p
    gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    random, output = os.urandom(16), ctypes.create_string_buffer(128)
    setting = gensalt(b"$y$", 0, random, len(random), output, len(output))     # cost 0: libxcrypt's default
    if not setting:
        raise PasswordError("libcrypt made no yescrypt setting; libxcrypt 4.3 or later is needed")
    return setting.decode("ascii")


def hash_password(password: str) -> str:
    """A yescrypt hash of `password` with a fresh random salt."""
    if not password:
        raise PasswordError("the password is empty: choose one")
    if "\0" in password:
        raise PasswordError("the password holds a NUL character, which crypt(3) cannot take")
    hashed = _crypt(password, _yescrypt_setting())
    if not hashed or weakness(hashed):
        raise PasswordError("libcrypt could not hash the password with yescrypt")
    return hashed


def verify(password: str, hashed: str) -> bool:
    """Whether `password` matches `hashed`; a weak or malformed hash matches nothing."""
    if weakness(hashed):
        return False
    import hmac
    try:
        computed = _crypt(password, hashed)
        return computed is not None and hmac.compare_digest(computed.encode(), hashed.encode())
    except (OSError, ValueError):        # NUL in the password, text that is no UTF-8, libcrypt failing
        return False
