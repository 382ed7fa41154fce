"""The real websockify the image ships (the pinned .deb, as firmware/display.py takes it), started as
display.Websockify starts it: TLS only, noVNC's page without folder listings, a token for a guest or nothing.

No Xen here, so the guest's VNC server is a stand-in speaking the first bytes of RFB on a loopback port,
and GuestTokens' port lookup (xl, xenstore) is replaced by that port: the one boundary that cannot run
here. tests/e2e/test_guest_screen.py does the same against a real guest.
"""
import os
import socket
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from firmware.board import REPO
from firmware.display import NOVNC, NOVNC_DEB, WEBSOCKIFY, fetch
from hypervisor.appliances import display

sys.path.insert(0, str(REPO / "tests" / "e2e"))
from screen_client import WebSocket, refused    # noqa: E402

PLUGIN = """
from hypervisor.appliances.display_tokens import GuestTokens
class StandIn(GuestTokens):
    def lookup(self, token):
        return ("127.0.0.1", "{port}") if self.store.guest_for(token) == "guest" else None
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("debs")
    for pinned in (WEBSOCKIFY, NOVNC_DEB):
        subprocess.run(["dpkg-deb", "-x", str(fetch(pinned, REPO / "images" / "cache")), str(root)], check=True)
    return root


@pytest.fixture
def vnc():
    """Says RFB's greeting to whoever connects, as QEMU's VNC server does first."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def serve():
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            client.sendall(b"RFB 003.008\n")
            client.close()
    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def websockify(unpacked, vnc, tmp_path, monkeypatch):
    (tmp_path / "standin.py").write_text(PLUGIN.format(port=vnc))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(REPO), str(tmp_path), str(unpacked / "usr/lib/python3/dist-packages")]))
    cert, port = display.certificate(tmp_path / "cert", "unit"), free_port()
    argv = display.websockify_argv(cert, port, tmp_path / "tokens.json", unpacked / NOVNC, tmp_path, sys.executable)
    argv[argv.index("hypervisor.appliances.display_tokens.GuestTokens")] = "standin.StandIn"
    server = display.Websockify(tmp_path)
    server.start(argv, port)
    yield port, cert, display.TokenStore(tmp_path / "tokens.json"), server
    server.stop()


def test_a_token_reaches_its_guests_vnc_server_over_tls(websockify):
    port, cert, tokens, _ = websockify
    token = tokens.mint("guest")
    ws = WebSocket("127.0.0.1", port, f"/websockify?token={token.value}", cert.fingerprint)
    try:
        assert ws.read(12) == b"RFB 003.008\n"
    finally:
        ws.close()


def test_wrong_missing_and_other_guests_tokens_are_turned_away(websockify):
    port, cert, tokens, _ = websockify
    other = tokens.mint("other-guest")
    for token in ("wrong", "", other.value):
        assert refused("127.0.0.1", port, token, cert.fingerprint)


def test_the_page_is_served_over_tls_only_and_lists_no_folder(websockify):
    port, _, _, _ = websockify
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/vnc.html", context=context, timeout=30) as page:
        assert b"noVNC" in page.read()
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(f"https://127.0.0.1:{port}/core/", context=context, timeout=30)
    with pytest.raises((ConnectionError, urllib.error.URLError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/vnc.html", timeout=30)


def test_a_certificate_other_than_the_hosts_is_noticed(websockify):
    port, _, tokens, _ = websockify
    with pytest.raises(AssertionError, match="not the"):
        WebSocket("127.0.0.1", port, f"/websockify?token={tokens.mint('guest').value}", "00:11")


def test_stop_ends_it(websockify):
    port, _, _, server = websockify
    assert server.stop()
    assert server.pid() is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
