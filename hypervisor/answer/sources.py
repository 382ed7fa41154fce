"""Where an answer file may be, in the order to look: pure, so the boot code does the fetching and mounting.

1. `xenbox.answer=` on the kernel command line: an absolute path or an http(s) URL (`off` looks nowhere);
   a URL may pin the file's SHA-256 (`https://host/a.toml#sha256=HEX`), and `xenbox.answer_cert_sha256=HEX`
   pins the HTTPS server's certificate (trusted by that fingerprint alone: a self-signed one works);
2. a volume labelled XENBOX (a USB stick, a CD), at /answer.toml on it;
3. the boot medium, at /xenbox/answer.toml.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit, urlunsplit

PARAMETER = "xenbox.answer"
CERT_PARAMETER = "xenbox.answer_cert_sha256"
SHA256 = re.compile(r"[0-9a-f]{64}")
URL_FORM = "https://host[:port]/path/answer.toml, optionally ending in #sha256= and the file's 64 hex digits"
LABEL = "XENBOX"
ON_VOLUME = "/answer.toml"
ON_BOOT_MEDIUM = "/xenbox/answer.toml"


@dataclass(frozen=True)
class Volume:
    device: str                  # /dev/sdb1
    label: str | None
    mountpoint: str | None       # None: not mounted
    boot_medium: bool = False


@dataclass(frozen=True)
class AnswerSource:
    origin: str                  # where the candidate comes from, said to a person
    location: str                # an http(s) URL, or a path: on the host, or inside `device` when that is set
    device: str | None = None    # a volume to mount first
    required: bool = False       # named on the command line: if it cannot be fetched, stop, do not try the next
    problem: str | None = None   # a xenbox.answer= value that cannot be used, and why
    file_sha256: str | None = None   # a URL's pinned hash of the file (#sha256=HEX), lower-case hex
    cert_sha256: str | None = None   # the HTTPS server's pinned certificate fingerprint (SHA-256 of its DER)


def _parameter(cmdline: str, name: str = PARAMETER) -> str | None:
    try:
        words = shlex.split(cmdline)
    except ValueError:           # an unbalanced quote: the kernel splits on spaces too
        words = cmdline.split()
    values = [word.split("=", 1)[1] for word in words if word.startswith(name + "=")]
    return values[-1] if values else None        # the kernel's way: the last one wins


def answer_sources(cmdline: str, mounts: Iterable[Volume]) -> list[AnswerSource]:
    value = _parameter(cmdline)
    if value == "off":
        return []
    sources = []
    if value is not None:
        origin = f"the kernel command line ({PARAMETER}={value})"
        if value.startswith(("http://", "https://")):
            sources.append(_from_url(origin, value, _parameter(cmdline, CERT_PARAMETER)))
        elif value.startswith("/"):
            sources.append(AnswerSource(origin, value, required=True))
        else:
            sources.append(AnswerSource(origin, value, required=True, problem=(
                f"{PARAMETER}= takes an absolute path (/xenbox/edge-01.toml) or an http:// or https:// URL, or off")))
    mounts = list(mounts)
    for volume in mounts:
        if (volume.label or "").upper() == LABEL:
            sources.append(_on(volume, ON_VOLUME, f"the volume labelled {LABEL} ({volume.device})"))
    for volume in mounts:
        if volume.boot_medium:
            sources.append(_on(volume, ON_BOOT_MEDIUM, f"the boot medium ({volume.device})"))
    return sources


def _from_url(origin: str, value: str, cert: str | None) -> AnswerSource:
    """An http(s) URL, its pinned file hash, and the server certificate's pinned fingerprint; or why not."""
    def refused(problem: str) -> AnswerSource:
        return AnswerSource(origin, value, required=True, problem=problem)
    if re.search(r"[\x00-\x20\x7f]", value):
        return refused(f"{value!r} has a space or a control character, which a URL cannot: write it as {URL_FORM}")
    try:
        url = urlsplit(value)
        url.port                # a port that is no number, or out of range, raises here
    except ValueError as error:
        return refused(f"{value!r} is not a URL that can be read ({error}): write it as {URL_FORM}")
    if not url.hostname:
        return refused(f"{value!r} names no host: write it as {URL_FORM}")
    file_sha256 = None
    if url.fragment:
        pin = url.fragment.removeprefix("sha256=").lower()
        if not url.fragment.startswith("sha256=") or not SHA256.fullmatch(pin):
            return refused(f"#{url.fragment} is no file hash XenBox can check: end the URL with #sha256= and the "
                           "file's 64 hex digits (`sha256sum answer.toml`), or leave the # out")
        file_sha256 = pin
    cert_sha256 = None
    if cert is not None:
        cert_sha256 = cert.replace(":", "").lower()
        if not SHA256.fullmatch(cert_sha256):
            return refused(f"{CERT_PARAMETER}={cert} is no SHA-256 fingerprint: give the 64 hex digits (colons "
                           "allowed) that `openssl x509 -in server.pem -noout -fingerprint -sha256` prints")
        if url.scheme != "https":
            return refused(f"{CERT_PARAMETER}= pins an HTTPS server's certificate, and {value} is plain http: "
                           "use an https:// URL, or leave the pin out")
    location = urlunsplit(url._replace(fragment=""))
    return AnswerSource(origin, location, required=True, file_sha256=file_sha256, cert_sha256=cert_sha256)


def _on(volume: Volume, path: str, origin: str) -> AnswerSource:
    if volume.mountpoint:
        return AnswerSource(origin, volume.mountpoint.rstrip("/") + path)
    return AnswerSource(origin, path, device=volume.device)
