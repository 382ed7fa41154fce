"""A real NFS server for the test VM: nfs-ganesha (Debian's userspace server; this test host's kernel
has no nfsd) exporting a folder over NFSv4, reached at 10.0.2.2 the way a XenBox host reaches a NAS.

It listens on 127.0.0.1 on a port of its own (QEMU's user network carries the VM's connections to
the host's loopback), so an NFS server already on the host is not touched; the VM mounts with
`port=`. Graceless: a new server would otherwise refuse opens for its 90 s grace period.
"""
from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from free_port import free_port

PSEUDO = "/xenbox"          # the path the VM mounts: 10.0.2.2:/xenbox

CONFIG = """
NFS_CORE_PARAM {{
    NFS_Port = {port};
    Protocols = 4;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Bind_addr = 127.0.0.1;
}}
NFSV4 {{
    Graceless = true;
    RecoveryBackend = fs;
}}
NFS_KRB5 {{ Active_krb5 = false; }}
EXPORT {{
    Export_Id = 1;
    Path = {folder};
    Pseudo = {pseudo};
    Access_Type = RW;
    Squash = No_Root_Squash;
    Protocols = 4;
    Transports = TCP;
    SecType = sys;
    FSAL {{ Name = VFS; }}
}}
LOG {{ Default_Log_Level = EVENT; }}
"""


@dataclass(frozen=True)
class NfsServer:
    port: int
    folder: Path                # what the export holds, on this host

    @property
    def share(self) -> str:
        return f"10.0.2.2:{PSEUDO}"         # as the VM sees it


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def nfs_server(folder: Path):
    export = folder / "nfs-export"
    export.mkdir()
    port = free_port()
    config = folder / "ganesha.conf"
    config.write_text(CONFIG.format(port=port, folder=export, pseudo=PSEUDO))
    daemon = subprocess.Popen(["ganesha.nfsd", "-F", "-f", str(config), "-L", str(folder / "ganesha.log"),
                               "-p", str(folder / "ganesha.pid")], stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            if daemon.poll() is not None or time.monotonic() > deadline:
                log = (folder / "ganesha.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"nfs-ganesha did not start on port {port}:\n{log}")
            time.sleep(0.2)
        yield NfsServer(port, export)
    finally:
        daemon.terminate()
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(10)
