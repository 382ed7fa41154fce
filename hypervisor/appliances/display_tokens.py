"""websockify's token plugin: a WebSocket reaches a guest's VNC server only with a token that has not expired.

websockify (`--token-plugin hypervisor.appliances.display_tokens.GuestTokens --token-source TOKENS`) calls
`lookup(token)` for each new WebSocket and closes it when the answer is None. A token names a guest, not
a port: the port is asked at each connection, so a guest started again (on another VNC display) keeps
its tokens. libxl writes the port QEMU took to xenstore (console/vnc-port); QEMU's QMP socket is asked
when it has not.
"""
from __future__ import annotations

import json
import socket
from pathlib import Path

from hypervisor import runner
from hypervisor.appliances.display import TokenStore
from hypervisor.appliances.xlcfg import VNC_LISTEN
from hypervisor.runner import CommandError
from hypervisor.xen.xl import Xl, xl_program

QMP_SOCKET = "/var/run/xen/qmp-libxl-{domid}"


class GuestTokens:
    def __init__(self, src: str):
        self.store = TokenStore(Path(src))

    def lookup(self, token: str) -> tuple[str, str] | None:
        guest = self.store.guest_for(token)
        if guest is None:
            return None
        domain = Xl(runner.run, xl_program()).domain(guest)
        port = vnc_port(domain.domid) if domain is not None else None
        return (VNC_LISTEN, str(port)) if port is not None else None


def vnc_port(domid: int, run: runner.Runner = runner.run) -> int | None:
    try:
        said = run(["xenstore-read", f"/local/domain/{domid}/console/vnc-port"], timeout=10).strip()
        if said.isdigit():
            return int(said)
    except CommandError:
        pass
    return qmp_vnc_port(QMP_SOCKET.format(domid=domid))


def qmp_vnc_port(path: str, timeout: float = 5.0) -> int | None:
    """query-vnc on the device model's QMP socket: the port its VNC server listens on, if any."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            lines = sock.makefile("rwb")
            lines.readline()                                  # the greeting
            for command in ("qmp_capabilities", "query-vnc"):
                lines.write(json.dumps({"execute": command}).encode() + b"\n")
                lines.flush()
                reply = _reply(lines)
            return port_from_query_vnc(reply)
    except (OSError, ValueError):
        return None


def _reply(lines) -> dict:
    while True:                 # events may come first
        message = json.loads(lines.readline() or b"{}")
        if "return" in message or "error" in message or not message:
            return message


def port_from_query_vnc(reply: dict) -> int | None:
    """{"return": {"enabled": true, "host": "127.0.0.1", "service": "5900", ...}} -> 5900."""
    answer = reply.get("return")
    if not isinstance(answer, dict) or not answer.get("enabled"):
        return None
    service = str(answer.get("service", ""))
    return int(service) if service.isdigit() else None
