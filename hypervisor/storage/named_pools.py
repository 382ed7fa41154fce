"""Pools the operator adds by name, for appliance disks as image files (raw or qcow2):
- `nfs`: a share on an NFS server, mounted at /run/xenbox/pools/NAME (again at every boot);
- `file`: a folder on a filesystem this host mounts (never one in dom0's memory, gone at reboot).

They are kept in config/pools.toml on the data store. A manifest disk names one (`pool = "nas"`) as it
names the built-in `local` and `files`. A pool that is not there (a server down, a folder unmounted)
only keeps the appliances with disks on it from starting, each saying why.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from hypervisor import runner
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.fields import TableReader
from hypervisor.settings.names import NAME, NAME_VALID, OutsideFolder, inside
from hypervisor.settings.problems import Problem, repeated_names
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import StorageError
from hypervisor.storage.config_files import KeptFileProblems, read_toml
from hypervisor.storage.datastore import MOUNTPOINT, DataStore
from hypervisor.storage.mounts import MOUNT_TABLE, mount_holding, mounted_at, read_mounts
from hypervisor.storage.nfs import VERSIONS, Nfs, split_share
from hypervisor.storage.retry import attach_with_retries

CONFIG = MOUNTPOINT / "config" / "pools.toml"
MOUNT_ROOT = Path("/run/xenbox/pools")
BUILT_IN = ("local", "files")       # the data store's own: hypervisor.storage.pools
TYPES = ("nfs", "file")
TYPE_KEYS = {"nfs": ("share", "version", "port"), "file": ("path",)}
# Filesystems that live in dom0's memory or on the read-only boot medium: images there vanish at reboot.
NOT_KEPT = ("tmpfs", "ramfs", "overlay", "squashfs", "iso9660", "devtmpfs", "proc", "sysfs", "rootfs")
PROBE = ".xenbox-write-probe"
Say = Callable[[str], None]


@dataclass(frozen=True)
class NamedPool:
    name: str
    type: str                       # nfs | file
    share: str | None = None        # nfs: server:/export
    version: str | None = None      # nfs: None lets mount negotiate
    port: int | None = None         # nfs: None is the standard 2049
    path: str | None = None         # file: the folder

    @property
    def where(self) -> str:
        if self.type == "file":
            return self.path or ""
        return self.share + (f" (port {self.port})" if self.port else "") + \
            (f", NFS {self.version}" if self.version else "")


def read_pools(path: Path = CONFIG) -> list[NamedPool]:
    """The pools kept in `path` ([] when there is none); KeptFileProblems, every one, if any is wrong."""
    problems: list[Problem] = []
    doc = TableReader(read_toml(path), "", problems)
    pools = [_pool(table) for table in doc.tables("pools")]
    doc.finish()
    problems += repeated_names("pools", [pool.name if pool else None for pool in pools])
    if problems:
        raise KeptFileProblems(path, problems)
    return [pool for pool in pools if pool is not None]


def _pool(table: TableReader) -> NamedPool | None:
    name = table.string("name", 'add name = "nas"', pattern=NAME, valid=NAME_VALID)
    if name in BUILT_IN:
        table.problem("name", name, "is the data store's own pool: choose another name")
    kind = table.string("type", 'add type = "nfs" or type = "file"', choices=TYPES)
    if kind is None:
        return None         # which keys belong here depends on the type
    for other, keys in TYPE_KEYS.items():
        for key in keys if other != kind else ():
            table.refuse(key, f'is for type = "{other}" pools; this pool is type = "{kind}"')
    if kind == "nfs":
        share = table.string("share", 'add share = "server:/export"')
        if share is not None and not _is_share(share):
            table.problem("share", share, "must be server:/path, such as nas.local:/export/xen")
        version = table.string("version", choices=VERSIONS)
        port = table.integer("port", minimum=1)
        if port is not None and port > 65535:
            table.problem("port", port, "must be a port, 1-65535 (leave it out for NFS's 2049)")
        pool = NamedPool(name or "", kind, share, version, port)
    else:
        folder = table.string("path", 'add path = "/var/lib/xenbox/more"')
        if folder is not None and (not folder.startswith("/") or ".." in PurePosixPath(folder).parts):
            table.problem("path", folder, "must be a folder's full path without '..', such as /var/lib/xenbox/more")
        pool = NamedPool(name or "", kind, path=folder)
    table.finish()
    return pool


def _is_share(text: str) -> bool:
    try:
        split_share(text)
    except StorageError:
        return False
    return True


def _entry(pool: NamedPool) -> dict:
    return {key: value for key, value in (("name", pool.name), ("type", pool.type), ("share", pool.share),
                                          ("version", pool.version), ("port", pool.port), ("path", pool.path))
            if value is not None}


def write_pools(pools: list[NamedPool], path: Path = CONFIG) -> None:
    entries = [_entry(p) for p in pools]
    write_atomically(path, "# Storage pools for appliance disks. Change with `xenbox storage pool add|remove`.\n\n"
                           + (dumps({"pools": entries}) if entries else ""))


class NamedPools:
    def __init__(self, run: runner.Runner = runner.run, config: Path = CONFIG, mount_root: Path = MOUNT_ROOT,
                 proc_mounts: Path = MOUNT_TABLE, sleep: Callable[[float], None] | None = None,
                 stored: Callable[[], bool] | None = None) -> None:
        self._nfs = Nfs(run, proc_mounts=proc_mounts)
        self.config = config
        self._mount_root = mount_root
        self._proc_mounts = proc_mounts
        self._sleep = sleep
        self._stored = stored or DataStore(run).is_mounted      # is there a data store to keep pools on

    def list(self) -> list[NamedPool]:
        return read_pools(self.config)

    def find(self, name: str) -> NamedPool:
        pools = self.list()
        found = [pool for pool in pools if pool.name == name]
        if not found:
            known = ", ".join([*BUILT_IN, *(p.name for p in pools)])
            raise StorageError(f"this host has no pool {name} (it has: {known}): add it with `xenbox storage pool "
                               "add`, or name another pool in appliance.toml")
        return found[0]

    def folder(self, pool: NamedPool) -> Path:
        if pool.type == "file":
            return Path(pool.path)
        try:
            return inside(self._mount_root, pool.name)
        except OutsideFolder as error:
            raise StorageError(f"pool {pool.name!r}: {error}") from None

    # -- adding and removing ---------------------------------------------------------
    def add_nfs(self, name: str, share: str, version: str | None, port: int | None, say: Say) -> NamedPool:
        """Mount the share now and keep the pool only if that worked and this host can write there."""
        pool = self._new(NamedPool(name, "nfs", share, version, port))
        self.attach(pool, say)
        try:
            self._check_writable(pool)
        except StorageError:
            self._nfs.unmount(str(self.folder(pool)))
            raise
        write_pools([*self.list(), pool], self.config)
        return pool

    def add_folder(self, name: str, path: str) -> NamedPool:
        pool = self._new(NamedPool(name, "file", path=path))
        problem = self.problem(pool)
        if problem:
            raise StorageError(problem)
        self._check_writable(pool)
        write_pools([*self.list(), pool], self.config)
        return pool

    def keep(self, pool: NamedPool) -> None:
        """Keep a pool without attaching it now (an answer file: the boot attaches it next, with retries)."""
        write_pools([*self.list(), self._new(pool)], self.config)

    def _new(self, pool: NamedPool) -> NamedPool:
        if not NAME.fullmatch(pool.name):
            raise StorageError(f"{pool.name!r} is not a usable pool name: use {NAME_VALID}")
        if pool.name in BUILT_IN:
            raise StorageError(f"{pool.name} is the data store's own pool: choose another name")
        if pool.type == "nfs":
            split_share(pool.share or "")
            if pool.version is not None and pool.version not in VERSIONS:
                raise StorageError(f"NFS version {pool.version} is not one XenBox mounts: choose one of "
                                   f"{', '.join(VERSIONS)}, or leave it out to let the server choose")
            if pool.port is not None and not 1 <= pool.port <= 65535:
                raise StorageError(f"{pool.port} is not a port: give 1-65535, or leave it out for NFS's 2049")
        elif not pool.path or not pool.path.startswith("/") or ".." in PurePosixPath(pool.path).parts:
            raise StorageError(f"{pool.path!r} is not a folder: give its full path, e.g. /mnt/disk2/images")
        problems: list[Problem] = []
        _pool(TableReader(_entry(pool), "", problems))      # kept only if the boot will read it back
        if problems:
            raise StorageError(f"pool {pool.name!r}: {problems[0]}")
        if not self._stored():
            raise StorageError("this host has no data store to keep the pool on: set one up first (Storage screen, "
                               "key t)")
        if any(p.name == pool.name for p in self.list()):
            raise StorageError(f"there is already a pool named {pool.name}: remove it first, or choose another name")
        return pool

    def remove(self, name: str, used_by: list[str], say: Say) -> None:
        """Forget a pool no appliance names (its images stay where they are); an NFS one is unmounted."""
        pool = self.find(name)
        if used_by:
            raise StorageError(f"pool {name} holds disks of appliance{'s' * (len(used_by) > 1)} {', '.join(used_by)}: "
                               "remove those appliances, or move their disks to another pool, first")
        if pool.type == "nfs" and self._mounted(pool):
            self._nfs.unmount(str(self.folder(pool)))      # refused while a guest has an image open there
        write_pools([p for p in self.list() if p.name != name], self.config)
        say(f"pool {name}: forgotten; the images in it were left where they are")

    # -- attaching -------------------------------------------------------------------
    def attach(self, pool: NamedPool, say: Say) -> None:
        """Mount an NFS pool (mounted already is fine); for a folder, only check it is there."""
        if pool.type == "nfs" and not self._mounted(pool):
            mountpoint = self.folder(pool)
            mountpoint.mkdir(parents=True, exist_ok=True)
            self._nfs.mount(pool.share, str(mountpoint), pool.version, port=pool.port)
        problem = self.problem(pool)
        if problem:
            raise StorageError(problem)
        say(f"pool {pool.name}: ready, {pool.where}" + (f", mounted at {self.folder(pool)}"
                                                        if pool.type == "nfs" else ""))

    def attach_all(self, say: Say) -> list[str]:
        """At boot: every kept pool; returns the names of those not there (each said with its reason).
        A pools.toml that cannot be used raises KeptFileProblems before any is attached."""
        pools = self.list()
        sleep = {"sleep": self._sleep} if self._sleep else {}
        failed = attach_with_retries(pools, lambda pool: self.attach(pool, say), lambda pool: pool.name,
                                     "pool", say, **sleep)
        return list(failed)

    def problem(self, pool: NamedPool) -> str | None:
        """Why the pool cannot take images now; None when it can."""
        folder = self.folder(pool)
        if pool.type == "nfs":
            return None if self._mounted(pool) else \
                f"pool {pool.name} ({pool.share}) is not mounted: check the NFS server and the network"
        if not folder.is_dir():
            return f"pool {pool.name}: the folder {folder} is not there: mount its disk, or create the folder"
        on = mount_holding(folder.resolve(), read_mounts(self._proc_mounts))
        if on.fstype in NOT_KEPT:
            return (f"pool {pool.name}: {folder} is on {on.mountpoint} ({on.fstype}), which is in this host's memory or on "
                    "the boot medium and gone at reboot: choose a folder on the data store "
                    f"({MOUNTPOINT}/...) or on a disk mounted there")
        return None

    def _mounted(self, pool: NamedPool) -> bool:
        return mounted_at(self.folder(pool), self._nfs.mounts())

    def _check_writable(self, pool: NamedPool) -> None:
        probe = self.folder(pool) / PROBE
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            squash = " (on an NFS share: export it rw, with no_root_squash for this host)" if pool.type == "nfs" else ""
            raise StorageError(f"pool {pool.name}: this host cannot write in {self.folder(pool)} "
                               f"({os.strerror(error.errno) if error.errno else error}){squash}") from error
