"""The ISO library: installer and rescue images that HVM guests get as read-only CD-ROMs.

ISOs live in an `isos/` folder of a pool: the data store's `files` pool (/var/lib/xenbox/images/isos)
or a pool added by name (its folder's `isos/`). The guest path gate (hypervisor/appliances/guest_paths.py)
gives a file there to a guest only as a read-only CD-ROM, since guests share them.

An ISO is added from a file (a USB stick or disk mounted on the host, an NFS share) or from an http(s)
URL, copied with a progress line a second, its sha256 checked when one is given, and put in place by
one rename: a copy cut short leaves a hidden `.NAME.partial`, never a half ISO under its name. Which
appliances have an ISO is the caller's to say (storage never reads the appliances).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from hypervisor.settings.atomic import sync_directory
from hypervisor.settings.names import NAME, NAME_VALID, OutsideFolder, inside
from hypervisor.storage import MOUNTPOINT, StorageError, human_size

FOLDER = "isos"                 # guest_paths.ISO_FOLDER names the same folder
FILES_POOL = MOUNTPOINT / "images"
CHUNK = 4 * 1024 * 1024
REPORT_SECONDS = 1.0
# Where a CD or DVD image says what it is: sector 16 (at 32 KiB) starts with a volume descriptor whose
# identifier is CD001 (ISO 9660, ECMA-119, which every bootable disc has for El Torito) or BEA01 (UDF).
DESCRIPTOR_AT, DESCRIPTORS = 0x8001, (b"CD001", b"BEA01")
SHA256_HEX = frozenset("0123456789abcdef")
Say = Callable[[str], None]
Opener = Callable[[str], BinaryIO]      # urllib.request.urlopen, unless a test serves its own


@dataclass(frozen=True)
class Iso:
    name: str           # its file name, e.g. debian-12.8.0-amd64-netinst.iso
    pool: str
    path: Path
    size: int


@dataclass(frozen=True)
class Place:
    pool: str
    folder: Path        # the pool's isos/ folder
    problem: str | None  # why it cannot hold ISOs now


def _data_store_problem() -> str | None:
    from hypervisor.storage.datastore import DataStore
    return None if DataStore().is_mounted() else \
        "the data store is not mounted: set one up on the Storage screen (key t), or reattach its disks and reboot"


class IsoLibrary:
    def __init__(self, pools=None, files_folder: Path = FILES_POOL,
                 files_problem: Callable[[], str | None] = _data_store_problem,
                 opener: Opener | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """`pools`: a NamedPools (hypervisor.storage.named_pools), read when first needed."""
        self._pools = pools
        self._files_folder = files_folder
        self._files_problem = files_problem
        self._open = opener or (lambda url: urllib.request.urlopen(url, timeout=60))
        self._clock = clock

    def _named_pools(self):
        if self._pools is None:
            from hypervisor.storage.named_pools import NamedPools
            self._pools = NamedPools()
        return self._pools

    def places(self) -> list[Place]:
        places = [Place("files", self._files_folder / FOLDER, self._files_problem())]
        pools = self._named_pools()
        try:
            named = pools.list()
        except StorageError:
            named = []      # pools.toml unreadable: the pools screen says why; the files pool still serves
        for pool in named:
            places.append(Place(pool.name, pools.folder(pool) / FOLDER, pools.problem(pool)))
        return places

    def place(self, pool: str) -> Place:
        found = [place for place in self.places() if place.pool == pool]
        if not found:
            known = ", ".join(place.pool for place in self.places())
            raise StorageError(f"this host has no pool {pool} (it has: {known}): add it with `xenbox storage pool "
                               "add`, or leave --pool out for the data store's files pool")
        if found[0].problem:
            raise StorageError(f"pool {pool} cannot hold ISOs now: {found[0].problem}")
        return found[0]

    def list(self) -> list[Iso]:
        """Every ISO in every pool that can be read now, by name."""
        isos = []
        for place in self.places():
            if place.problem:
                continue
            try:
                entries = sorted(place.folder.iterdir())
            except OSError:
                continue        # no isos/ folder yet: no ISOs there
            isos += [Iso(entry.name, place.pool, entry, entry.stat().st_size) for entry in entries
                     if not entry.name.startswith(".") and entry.is_file() and not entry.is_symlink()]
        return sorted(isos, key=lambda iso: (iso.name, iso.pool))

    def find(self, name: str) -> Iso:
        """An ISO by its name (or its full path in the library); a name in two pools must be given by path."""
        isos = self.list()
        found = [iso for iso in isos if str(iso.path) == name] if name.startswith("/") else \
            [iso for iso in isos if iso.name == name]
        if not found:
            have = ", ".join(iso.name for iso in isos) or "none yet"
            raise StorageError(f"the ISO library has no {name} (it has: {have}): add it with `xenbox iso add`")
        if len(found) > 1:
            raise StorageError(f"{name} is in more than one pool ({', '.join(iso.pool for iso in found)}): give its "
                               f"full path, e.g. {found[0].path}")
        return found[0]

    # -- adding and deleting ----------------------------------------------------------------
    def add(self, source: str, sha256: str | None = None, pool: str = "files", say: Say = lambda line: None) -> Iso:
        """Copy `source` (a file, or an http(s) URL) into `pool`'s ISO folder."""
        url = urllib.parse.urlsplit(source).scheme in ("http", "https")
        name = Path(urllib.parse.unquote(urllib.parse.urlsplit(source).path) if url else source).name
        expected = _digest(sha256)
        if not NAME.fullmatch(name) or not name.lower().endswith(".iso"):
            raise StorageError(f"{name!r} cannot name an ISO in the library: a name is {NAME_VALID}, ending in .iso; "
                               "rename the file (or save it under such a name) and add it again")
        place = self.place(pool)
        try:
            target = inside(place.folder, name) if place.folder.is_dir() else place.folder / name
        except OutsideFolder as error:
            raise StorageError(str(error)) from None
        if any(iso.name == name for iso in self.list()):
            raise StorageError(f"the ISO library already has {name}: delete it first (`xenbox iso delete {name}`), "
                               "or add this one under another name")
        with self._opened(source, url) as (stream, size):
            place.folder.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(place.folder).free
            if size is not None and size > free:
                raise StorageError(f"{name} is {human_size(size)} and pool {pool} has {human_size(free)} free: "
                                   "free some space there, or add it to another pool (--pool)")
            partial = place.folder / f".{name}.partial"
            try:
                digest = self._copy(stream, partial, name, size, say)
                if expected and digest != expected:
                    raise StorageError(f"{source} is not the ISO asked for: its sha256 is {digest}, not {expected}; "
                                       "nothing was added. Check the checksum and where the file came from")
                _check_iso9660(partial, name)
                os.replace(partial, target)
                sync_directory(place.folder)
            finally:
                partial.unlink(missing_ok=True)
        say(f"added {name} to the ISO library (pool {pool}, {human_size(target.stat().st_size)}), sha256 {digest}")
        return Iso(name, pool, target, target.stat().st_size)

    def delete(self, name: str, used_by: list[str], say: Say = lambda line: None) -> None:
        """Remove an ISO no appliance has as its CD."""
        iso = self.find(name)
        if used_by:
            raise StorageError(f"{iso.name} is the CD of appliance{'s' * (len(used_by) > 1)} {', '.join(used_by)}: "
                               f"eject it first (`xenbox appliance cd-eject NAME`), then delete it")
        iso.path.unlink()
        sync_directory(iso.path.parent)
        say(f"deleted {iso.name} from the ISO library (pool {iso.pool})")

    @contextmanager
    def _opened(self, source: str, url: bool) -> Iterator[tuple[BinaryIO, int | None]]:
        """The source's bytes and its size when known."""
        if url:
            try:
                response = self._open(source)
            except OSError as error:        # URLError, HTTPError, timeouts
                code = f"HTTP {error.code} " if isinstance(error, urllib.error.HTTPError) else ""
                raise StorageError(f"{source} could not be fetched: {code}{getattr(error, 'reason', None) or error}; "
                                   "check the address and this host's network") from None
            with response:
                length = getattr(response, "headers", {}).get("Content-Length")
                yield response, int(length) if length and length.isdigit() else None
            return
        path = Path(source)
        if not path.is_file():
            raise StorageError(f"{source} is not a file: give an ISO file's path (on a mounted stick, disk or "
                               "NFS share) or an http(s) URL")
        try:
            stream = open(path, "rb")
        except OSError as error:
            raise StorageError(f"{source} cannot be read: {error.strerror}") from None
        with stream:
            yield stream, os.fstat(stream.fileno()).st_size

    def _copy(self, stream: BinaryIO, partial: Path, name: str, size: int | None, say: Say) -> str:
        digest = hashlib.sha256()
        started = last_said = self._clock()
        done = 0
        with open(partial, "wb") as out:
            while chunk := stream.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                now = self._clock()
                if now - last_said >= REPORT_SECONDS:
                    last_said = now
                    of = f" of {human_size(size)} ({done * 100 // size}%)" if size else ""
                    say(f"copying {name}: {human_size(done)}{of}, {_rate(done, now - started)}")
            out.flush()
            os.fsync(out.fileno())
        if size is not None and done != size:
            raise StorageError(f"{name}: {human_size(done)} arrived of {human_size(size)}: the source was cut short; "
                               "nothing was added, add it again")
        return digest.hexdigest()


def _digest(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    text = sha256.strip().lower()
    if len(text) != 64 or not set(text) <= SHA256_HEX:
        raise StorageError(f"{sha256!r} is not a sha256: give its 64 hex digits, as `sha256sum` prints them")
    return text


def is_disc_image(path: Path) -> bool:
    """Whether the image says it is a CD or DVD where one does; OSError when it cannot be read. The ISO
    library checks it when an ISO is added, a guest's start before Xen is asked (appliances/launch.py)."""
    with open(path, "rb") as image:
        image.seek(DESCRIPTOR_AT)
        return image.read(len(DESCRIPTORS[0])) in DESCRIPTORS


def _check_iso9660(path: Path, name: str) -> None:
    if not is_disc_image(path):
        raise StorageError(f"{name} is not a CD or DVD image (no ISO 9660 or UDF descriptor): nothing was added. "
                           "A disk image (.img, .qcow2) is imported as a disk, not added as a CD")


def _rate(done: int, seconds: float) -> str:
    return f"{human_size(int(done / seconds))}/s" if seconds > 0 else "-"
