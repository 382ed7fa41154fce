"""Console password hashes: yescrypt made here, verified in constant time, weak hashes refused."""
import warnings

import pytest

from hypervisor.host.password import PasswordError, hash_password, verify, weakness

SHA512_5000 = "$6$saltsalt$" + "a" * 86
EXAMPLE = "$y$j9T$iuMyB.FwXnYCR9Rg.E215.$64ELharyTbQiYuV/t0D1x5ngpwHDthbxHr.4jyWg3AB"     # "change-me"


def test_hash_and_verify_round_trip():
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # the crypt module's DeprecationWarning stays inside password.py
        hashed = hash_password("correct horse")
    assert hashed.startswith("$y$j9T$") and weakness(hashed) is None
    assert verify("correct horse", hashed)
    assert not verify("correct horsf", hashed)
    assert hash_password("correct horse") != hashed            # a fresh salt each time
    assert verify("change-me", EXAMPLE)


def test_verifying_never_raises():
    hashed = hash_password("x")
    assert not verify("a\0b", hashed)
    assert not verify("\udcff", hashed)
    assert not verify("x", "x")


@pytest.mark.parametrize("bad", ["", "\0"])
def test_unhashable_passwords(bad):
    with pytest.raises(PasswordError):
        hash_password(bad)


@pytest.mark.parametrize("good", [
    EXAMPLE, "$gy$j9T$abcdefghijklmnop$FsKX1p0E7/YAeYYYk8JwEoSmY2j55FT86HbjrAKDjV9",
    "$7$CU..../....abcdefgh$T0sduvKxu8wrIjSE2QDlEIQ24zoUNt7XmCAyI.79rw6",
    SHA512_5000, "$6$rounds=5000$salt$" + "b" * 86, "$6$rounds=656000$salt$" + "b" * 86])
def test_strong_hashes_are_accepted(good):
    assert weakness(good) is None


@pytest.mark.parametrize("weak, words", [
    ("$1$abc$Kb85XxsXB.VXinPhbS4431", "is a MD5 crypt hash, which XenBox does not accept"),
    ("$5$salt$" + "c" * 43, "is a SHA-256 crypt hash"),
    ("$6$rounds=1000$abc$" + "d" * 86, "is SHA-512 crypt with only 1000 rounds"),
    ("$y$j9T$short", "is not a complete hash XenBox accepts"),
    ("hunter2", "is no password hash (a plain password is never stored)"),
    ("gaxDyoamrjlO6", "is no password hash"),
])
def test_weak_hashes_are_refused_and_never_quoted(weak, words):
    message = weakness(weak)
    assert message.startswith(words)
    assert "yescrypt ($y$), gost-yescrypt ($gy$), scrypt ($7$) or SHA-512 crypt ($6$)" in message or "mkpasswd" in message
    assert weak not in message
    assert not verify("pw", weak)


def test_a_weak_hash_matches_nothing_even_its_own_password():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        md5 = crypt.crypt("pw", "$1$abcdefgh")
    assert md5.startswith("$1$") and not verify("pw", md5)
