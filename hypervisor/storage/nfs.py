"""NFS shares: what a server exports (`showmount -e`), what is mounted, and mounting one."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hypervisor import runner
from hypervisor.runner import ParseError
from hypervisor.storage import StorageError, explain
from hypervisor.storage.mounts import MOUNT_TABLE, Mount, read_mounts

VERSIONS = ("3", "4", "4.0", "4.1", "4.2")


@dataclass(frozen=True)
class Export:
    path: str
    clients: tuple[str, ...]       # '*', host names, addresses, networks


def parse_showmount(text: str) -> list[Export]:
    """`showmount -e SERVER`: a header line, then 'path clients' (clients comma-separated)."""
    exports = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("Export list for"):
            continue
        path, _, clients = line.strip().partition(" ")
        if not path.startswith("/"):
            raise ParseError(f"unexpected line in `showmount -e` output: {line!r}")
        exports.append(Export(path, tuple(c for c in re.split(r"[\s,]+", clients.strip()) if c)))
    return exports


def split_share(share: str) -> tuple[str, str]:
    server, sep, path = share.rpartition(":")
    if not sep or not server or not path.startswith("/"):
        raise StorageError(f"{share!r} is not an NFS share: write it as server:/path, e.g. nas.local:/export/isos")
    return server, path


def mount_argv(share: str, mountpoint: str, version: str | None = None, read_only: bool = False,
               port: int | None = None) -> list[str]:
    split_share(share)
    if version is not None and version not in VERSIONS:
        raise StorageError(f"NFS version {version} is not one XenBox mounts: choose one of {', '.join(VERSIONS)}")
    # NFSv3 locks through rpc.statd, which dom0 does not run; one host's guests lock their own images.
    options = [*([f"vers={version}"] if version else []), *(["nolock"] if version == "3" else []),
               *([f"port={port}"] if port else []), *(["ro"] if read_only else [])]
    # nfs-common's mount helper itself: dom0's `mount` is busybox's, which mounts no NFSv4.
    return ["mount.nfs", share, mountpoint, *(["-o", ",".join(options)] if options else [])]


class Nfs:
    def __init__(self, run: runner.Runner = runner.run, *, proc_mounts: Path = MOUNT_TABLE) -> None:
        self._run = run
        self._proc_mounts = proc_mounts

    def exports(self, server: str) -> list[Export]:
        try:
            return parse_showmount(self._run(["showmount", "--exports", server], timeout=30))
        except runner.CommandError as error:
            raise StorageError(explain(error, [
                ("RPC", f"{server} does not answer as an NFS server: check the address, and that its NFS service is "
                        "running and reachable from this host")])) from error

    def mount(self, share: str, mountpoint: str, version: str | None = None, read_only: bool = False,
              port: int | None = None) -> None:
        server, path = split_share(share)
        try:
            self._run(mount_argv(share, mountpoint, version, read_only, port), timeout=120)
        except runner.CommandError as error:
            raise StorageError(explain(error, [
                ("access denied", f"{server} does not export {path} to this host: add this host to the export on the server"),
                ("No such file or directory", f"{server} has no share {path}: check the path against the server's exports"),
                ("Connection refused", f"no NFS server answers at {server}: check the address and its NFS service"),
                ("timed out", f"{server} did not answer: check the address and the network"),
                ("protocol not supported", f"{server} does not offer NFS version {version}: choose another version")])) from error

    def unmount(self, mountpoint: str) -> None:
        try:
            self._run(["umount", mountpoint], timeout=60)
        except runner.CommandError as error:
            raise StorageError(explain(error, [("busy", f"{mountpoint} is in use: stop the guests using it first")])) from error

    def mounts(self) -> list[Mount]:
        """The NFS shares mounted now: `source` is server:/path, `options["vers"]` the version."""
        return [mount for mount in read_mounts(self._proc_mounts) if mount.fstype in ("nfs", "nfs4")]
