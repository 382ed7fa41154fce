"""Finding the answer file at boot and reading it: volumes by their label, mounting, http(s).

dom0 runs no udev, so volumes are found by `blkid`, which reads each device's label itself.
A volume is mounted read-only, and stays mounted while its bundles are installed (`release` after).
"""
from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path

from hypervisor import runner
from hypervisor.answer.sources import LABEL, Volume, answer_sources
from hypervisor.storage.mounts import mounted_at, read_mounts

MOUNT_AT = Path("/run/xenbox/answer-volume")
BOOT_MEDIUM = Path("/run/xenbox/medium")
LARGEST = 1024 * 1024          # an answer file is a page of TOML; anything bigger is not one


class FetchError(Exception):
    """The answer file named on the command line cannot be read: the boot says so and sets nothing up."""


@dataclass(frozen=True)
class Found:
    origin: str                # said to a person: "the volume labelled XENBOX (/dev/vdc)"
    location: str
    data: bytes
    folder: Path | None        # where the bundles it names are; None for a URL


def labelled_volumes(run: runner.Runner = runner.run) -> list[Volume]:
    try:
        devices = run(["blkid", "-o", "device", "-t", f"LABEL={LABEL}"], timeout=60).split()
    except runner.CommandError:
        devices = []           # blkid exits 2 when no volume has the label
    return [Volume(device, LABEL, None) for device in devices]


def boot_medium(boot_device: str | None) -> list[Volume]:
    return [Volume(boot_device, None, str(BOOT_MEDIUM), boot_medium=True)] if boot_device else []


def find_answer(cmdline: str, volumes: list[Volume], run: runner.Runner = runner.run) -> Found | None:
    """The first answer file found, in the order of `answer_sources`; None when there is none."""
    for source in answer_sources(cmdline, volumes):
        if source.problem:
            raise FetchError(f"{source.origin}: {source.problem}")
        if source.location.startswith(("http://", "https://")):
            return Found(source.origin, source.location, _download(source.location), None)
        path = Path(source.location)
        if source.device:
            if not _mount(source.device, run):
                continue
            path = MOUNT_AT / source.location.lstrip("/")
        try:
            data = path.read_bytes()[:LARGEST + 1]
        except OSError as error:
            if source.device:
                release(run)
            if source.required:
                raise FetchError(f"{source.origin}: {path} cannot be read ({error.strerror})") from None
            continue
        if len(data) > LARGEST:
            raise FetchError(f"{source.origin}: {path} is over 1 MiB, too big for an answer file")
        return Found(source.origin, str(path), data, path.parent)
    return None


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            data = response.read(LARGEST + 1)
    except OSError as error:       # URLError, HTTPError and timeouts are all OSErrors
        raise FetchError(f"{url} could not be fetched ({getattr(error, 'reason', error)}): check the address "
                         "and that the host's network reaches it") from None
    if len(data) > LARGEST:
        raise FetchError(f"{url} is over 1 MiB, too big for an answer file")
    return data


def _mount(device: str, run: runner.Runner) -> bool:
    """Read-only, with the type blkid reads: mount loads a filesystem's module only when named
    (a stick is vfat or ext4, and neither may be loaded yet)."""
    MOUNT_AT.mkdir(parents=True, exist_ok=True)
    try:
        kind = run(["blkid", "-o", "value", "-s", "TYPE", device], timeout=60).strip()
        run(["mount", "-o", "ro", *(["-t", kind] if kind else []), device, str(MOUNT_AT)], timeout=60)
        return True
    except runner.CommandError:
        return False


def release(run: runner.Runner = runner.run) -> None:
    """Unmount the answer file's volume, if one is mounted."""
    if mounted_at(MOUNT_AT, read_mounts()):
        try:
            run(["umount", str(MOUNT_AT)], timeout=60)
        except runner.CommandError:
            pass
