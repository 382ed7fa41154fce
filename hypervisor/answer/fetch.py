"""Finding the answer file at boot and reading it: volumes by their label, mounting, http(s).

dom0 runs no udev, so volumes are found by `blkid`, which reads each device's label itself.
A volume is mounted read-only, and stays mounted while its bundles are installed (`release` after).
A URL is fetched with the CA certificates the image carries, or a pinned server certificate; while
the host or its network is not up yet it is tried again, each try said, for about two minutes.
"""
from __future__ import annotations

import functools
import hashlib
import http.client
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor import runner
from hypervisor.answer.sources import LABEL, AnswerSource, Volume, answer_sources
from hypervisor.storage.mounts import mounted_at, read_mounts

MOUNT_AT = Path("/run/xenbox/answer-volume")
BOOT_MEDIUM = Path("/run/xenbox/medium")
LARGEST = 1024 * 1024          # an answer file is a page of TOML; anything bigger is not one
TRY_FOR = 120.0                # seconds of retries: DHCP, a switch port's spanning tree, the server's own boot
FIRST_WAIT, LONGEST_WAIT = 2.0, 30.0
TRY_TIMEOUT = 20.0             # one try's connect and read


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


def find_answer(cmdline: str, volumes: list[Volume], run: runner.Runner = runner.run,
                say: Callable[[str], None] = lambda line: None) -> Found | None:
    """The first answer file found, in the order of `answer_sources`; None when there is none."""
    for source in answer_sources(cmdline, volumes):
        if source.problem:
            raise FetchError(f"{source.origin}: {source.problem}")
        if source.location.startswith(("http://", "https://")):
            return Found(source.origin, source.location, download(source, say), None)
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


class CertificateMismatch(OSError):
    """The HTTPS server's certificate is not the one xenbox.answer_cert_sha256= pins."""

    def __init__(self, seen: str, pinned: str) -> None:
        super().__init__(f"the server's certificate has the SHA-256 fingerprint {seen}, and "
                         f"xenbox.answer_cert_sha256= pins {pinned}")


class _TryAgain(Exception):
    """This try failed in a way a later one may not: the host, its network or the server not up yet."""


def download(source: AnswerSource, say: Callable[[str], None] = lambda line: None,
             sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
             cafile: str | None = None) -> bytes:
    """The file at `source`'s URL, its pinned hash checked. An unreachable host is tried again with
    growing waits for about TRY_FOR seconds, each try said; an answer such as 404, a certificate that
    does not verify or a wrong hash is final. `cafile`: trusted CAs (None: the image's own)."""
    url, wait, tries = source.location, FIRST_WAIT, 1
    deadline = clock() + TRY_FOR
    while True:
        say(f"fetching {url} (try {tries})")
        try:
            data = _get(url, source.cert_sha256, cafile)
            break
        except _TryAgain as error:
            if clock() + wait > deadline:
                raise FetchError(f"{url} could not be fetched in {tries} tries over {TRY_FOR:.0f} s (last: {error}): "
                                 "check the address and that this host's network reaches it") from None
            say(f"{url}: {error}; trying again in {wait:.0f} s")
            sleep(wait)
            wait, tries = min(wait * 2, LONGEST_WAIT), tries + 1
    if len(data) > LARGEST:
        raise FetchError(f"{url} is over 1 MiB, too big for an answer file")
    seen = hashlib.sha256(data).hexdigest()
    if source.file_sha256 and seen != source.file_sha256:
        raise FetchError(f"{url}: the file's SHA-256 is {seen}, and the URL pins {source.file_sha256} (#sha256=): "
                         "it is not the file meant, so nothing is set up from it; fix the file or the pin")
    return data


def _get(url: str, cert_sha256: str | None, cafile: str | None) -> bytes:
    https = _PinnedHTTPSHandler(cert_sha256) if cert_sha256 else \
        urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile))
    try:
        with urllib.request.build_opener(https).open(url, timeout=TRY_TIMEOUT) as response:
            return response.read(LARGEST + 1)
    except urllib.error.HTTPError as error:
        if error.code >= 500 or error.code == 429:      # the server is there but not ready
            raise _TryAgain(f"the server answered {error.code} {error.reason}") from None
        raise FetchError(f"{url}: the server answered {error.code} {error.reason}: check the address") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, CertificateMismatch):
            raise FetchError(f"{url}: {reason}: the server is not the one meant, so nothing is set up from it; "
                             "fix the pin if its certificate was renewed") from None
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise FetchError(f"{url}: the server's certificate could not be verified ({reason.verify_message}): "
                             "use a certificate from a CA the image trusts, or pin this one with "
                             "xenbox.answer_cert_sha256= and its SHA-256 fingerprint") from None
        if isinstance(reason, ssl.SSLError):        # the server's TLS itself: no later try fixes it
            raise FetchError(f"{url}: no secure connection could be made ({reason}): check that the server "
                             "speaks HTTPS on that port") from None
        raise _TryAgain(str(getattr(reason, "strerror", None) or reason)) from None
    except (OSError, http.client.HTTPException) as error:     # a timeout or a dropped connection while reading
        raise _TryAgain(str(error) or type(error).__name__) from None
    except ValueError as error:         # a URL urllib cannot use after all (a host name that is no IDNA)
        raise FetchError(f"{url} cannot be fetched: {error}") from None


class _PinnedConnection(http.client.HTTPSConnection):
    """Trusts the server by its certificate's fingerprint alone: checked before a byte is sent."""

    def __init__(self, *args, fingerprint: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fingerprint = fingerprint

    def connect(self) -> None:
        super().connect()
        seen = hashlib.sha256(self.sock.getpeercert(binary_form=True)).hexdigest()
        if seen != self.fingerprint:
            self.close()
            raise CertificateMismatch(seen, self.fingerprint)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, fingerprint: str) -> None:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE     # the pin is the check
        super().__init__(context=context)
        self.fingerprint = fingerprint

    def https_open(self, request):
        return self.do_open(functools.partial(_PinnedConnection, fingerprint=self.fingerprint), request,
                            context=self._context)


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
