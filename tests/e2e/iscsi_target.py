"""A real iSCSI target for the test VM: tgt's userspace daemon on this test host, with one LUN backed
by a file and CHAP required. The VM reaches it at 10.0.2.2 (QEMU's user network forwards that to the
host's loopback), as a XenBox host reaches a SAN across the network.

tgtd runs with its own control socket number and port, so a tgtd already on the host is not touched.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from free_port import free_port

IQN = "iqn.2026-11.org.xenbox.test:san"
CHAP_USER, CHAP_SECRET = "xenbox", "xenbox-chap-secret"
# tgt names its LUNs' WWNs after target and LUN: NAA 6, ...e0000 + tid (4 hex) + lun (4 hex)
LUN_ID = "wwn-0x60000000000000000e00000000010001"
# tgtd -C: its control socket is /var/run/tgtd/socket.N; one per test run, so that a tgtd left
# over by a run that was killed does not answer for this one.
CONTROL_PORT = 1000 + os.getpid() % 30000


@dataclass(frozen=True)
class Target:
    port: int
    backing: Path

    @property
    def portal(self) -> str:
        return f"10.0.2.2:{self.port}"          # as the VM sees it


def _tgtadm(*args: str) -> None:
    subprocess.run(["tgtadm", "-C", str(CONTROL_PORT), "--lld", "iscsi", *args], check=True, capture_output=True)


@contextlib.contextmanager
def iscsi_target(folder: Path, size_mib: int = 32):
    backing = folder / "san-lun1.img"
    with open(backing, "wb") as image:
        image.truncate(size_mib * 1024 * 1024)
    port = free_port()
    Path("/var/run/tgtd").mkdir(parents=True, exist_ok=True)      # its control socket's folder
    log = open(folder / "tgtd.log", "wb")
    daemon = subprocess.Popen(["tgtd", "-f", "-C", str(CONTROL_PORT), "--iscsi", f"portal=127.0.0.1:{port}"],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(50):                      # until its control socket answers
            if subprocess.run(["tgtadm", "-C", str(CONTROL_PORT), "--lld", "iscsi", "--op", "show", "--mode",
                               "target"], capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        _tgtadm("--op", "new", "--mode", "target", "--tid", "1", "-T", IQN)
        _tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", str(backing))
        _tgtadm("--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL")
        _tgtadm("--op", "new", "--mode", "account", "--user", CHAP_USER, "--password", CHAP_SECRET)
        _tgtadm("--op", "bind", "--mode", "account", "--tid", "1", "--user", CHAP_USER)
        yield Target(port, backing)
    finally:
        daemon.kill()          # tgtd ignores SIGTERM while an initiator is logged in
        daemon.wait(10)
        log.close()
