"""Where an answer file may be, in the order to look: pure, so the boot code does the fetching and mounting.

1. `xenbox.answer=` on the kernel command line: an absolute path or an http(s) URL (`off` looks nowhere);
2. a volume labelled XENBOX (a USB stick, a CD), at /answer.toml on it;
3. the boot medium, at /xenbox/answer.toml.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

PARAMETER = "xenbox.answer"
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


def _parameter(cmdline: str) -> str | None:
    try:
        words = shlex.split(cmdline)
    except ValueError:           # an unbalanced quote: the kernel splits on spaces too
        words = cmdline.split()
    values = [word.split("=", 1)[1] for word in words if word.startswith(PARAMETER + "=")]
    return values[-1] if values else None        # the kernel's way: the last one wins


def answer_sources(cmdline: str, mounts: Iterable[Volume]) -> list[AnswerSource]:
    value = _parameter(cmdline)
    if value == "off":
        return []
    sources = []
    if value is not None:
        origin = f"the kernel command line ({PARAMETER}={value})"
        url = urlsplit(value)
        if url.scheme in ("http", "https") and url.netloc:
            sources.append(AnswerSource(origin, value, required=True))
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


def _on(volume: Volume, path: str, origin: str) -> AnswerSource:
    if volume.mountpoint:
        return AnswerSource(origin, volume.mountpoint.rstrip("/") + path)
    return AnswerSource(origin, path, device=volume.device)
