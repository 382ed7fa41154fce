"""Fetching an answer file over HTTP(S) from a real server on 127.0.0.1: Python's http.server behind
ssl, with certificates made by openssl (through XenBox's runner) for each test session. Only the
waits between tries are not real: `sleep` moves a clock instead, so two minutes of retries take none.
"""
import hashlib
import http.server
import socket
import ssl
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from hypervisor.answer import fetch
from hypervisor.answer.fetch import FetchError, download, find_answer
from hypervisor.answer.sources import answer_sources
from hypervisor.runner import run

ANSWER = b'[host]\nhostname = "edge-01"\n'
ANSWER_SHA256 = hashlib.sha256(ANSWER).hexdigest()
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> Path:
    """A self-signed server certificate, and a CA with a server certificate it signed: all for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("certificates")
    host = ["-addext", "subjectAltName=IP:127.0.0.1"]
    run(["openssl", "req", "-x509", *EC, "-keyout", f"{folder}/self.key", "-out", f"{folder}/self.pem", "-days", "2",
         "-subj", "/CN=127.0.0.1", *host])
    run(["openssl", "req", "-x509", *EC, "-keyout", f"{folder}/ca.key", "-out", f"{folder}/ca.pem", "-days", "2",
         "-subj", "/CN=XenBox test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["openssl", "req", *EC, "-keyout", f"{folder}/signed.key", "-out", f"{folder}/signed.csr",
         "-subj", "/CN=127.0.0.1"])
    (folder / "extensions").write_text("subjectAltName=IP:127.0.0.1\n")
    run(["openssl", "x509", "-req", "-in", f"{folder}/signed.csr", "-CA", f"{folder}/ca.pem", "-CAkey",
         f"{folder}/ca.key", "-CAcreateserial", "-out", f"{folder}/signed.pem", "-days", "2",
         "-extfile", f"{folder}/extensions"])
    return folder


def fingerprint(pem: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.read_text())).hexdigest()


class Files(http.server.BaseHTTPRequestHandler):
    files = {"/answer.toml": ANSWER}
    asked: list[str] = []

    def do_GET(self):
        self.asked.append(self.path)
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@contextmanager
def server(certificate: Path | None = None, port: int = 0):
    """An HTTP server on 127.0.0.1 (HTTPS with `certificate` and its key beside it); yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Files)
    if certificate is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, certificate.with_suffix(".key"))
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    Files.asked = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if certificate else 'http'}://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Clock:
    """The waits between tries: `sleep` moves this clock, and may do something at a given wait."""
    def __init__(self, at_wait=None):
        self.now, self.waits, self.at_wait = 0.0, [], at_wait or {}

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds
        self.at_wait.get(len(self.waits), lambda: None)()

    def __call__(self):
        return self.now


def source(cmdline: str):
    (found,) = answer_sources(cmdline, [])
    assert found.problem is None, found.problem
    return found


def fetched(cmdline: str, clock: Clock | None = None, cafile: Path | None = None, said: list | None = None):
    clock = clock or Clock()
    return download(source(cmdline), (said if said is not None else []).append, clock.sleep, clock,
                    str(cafile) if cafile else None)


def test_a_server_pinned_by_its_certificate_and_a_file_by_its_hash_is_fetched(certificates):
    pem = certificates / "self.pem"
    with server(pem) as url:
        pins = f"xenbox.answer={url}/answer.toml#sha256={ANSWER_SHA256.upper()} " \
               f"xenbox.answer_cert_sha256={':'.join(fingerprint(pem)[i:i + 2] for i in range(0, 64, 2))}"
        assert fetched(pins) == ANSWER
        assert Files.asked == ["/answer.toml"]       # the fragment stays here: it is no part of the request


def test_a_file_that_is_not_the_one_pinned_is_refused_with_both_hashes_and_not_tried_again(certificates):
    pem = certificates / "self.pem"
    wrong = "0" * 64
    with server(pem) as url:
        clock = Clock()
        with pytest.raises(FetchError) as refused:
            fetched(f"xenbox.answer={url}/answer.toml#sha256={wrong} xenbox.answer_cert_sha256={fingerprint(pem)}",
                    clock)
    assert str(refused.value) == (f"{url}/answer.toml: the file's SHA-256 is {ANSWER_SHA256}, and the URL pins "
                                  f"{wrong} (#sha256=): it is not the file meant, so nothing is set up from it; "
                                  "fix the file or the pin")
    assert clock.waits == [] and Files.asked == ["/answer.toml"]


def test_a_server_whose_certificate_is_not_the_pinned_one_is_refused_with_both_fingerprints(certificates):
    pinned = fingerprint(certificates / "signed.pem")
    with server(certificates / "self.pem") as url:
        clock = Clock()
        with pytest.raises(FetchError) as refused:
            fetched(f"xenbox.answer={url}/answer.toml xenbox.answer_cert_sha256={pinned}", clock)
    assert (f"the server's certificate has the SHA-256 fingerprint {fingerprint(certificates / 'self.pem')}, and "
            f"xenbox.answer_cert_sha256= pins {pinned}: the server is not the one meant") in str(refused.value)
    assert clock.waits == [] and Files.asked == []          # refused before the request was sent


def test_without_a_pin_the_certificate_must_verify_against_the_trusted_cas(certificates):
    with server(certificates / "signed.pem") as url:
        assert fetched(f"xenbox.answer={url}/answer.toml", cafile=certificates / "ca.pem") == ANSWER
    with server(certificates / "self.pem") as url:
        clock = Clock()
        with pytest.raises(FetchError, match=r"the server's certificate could not be verified \(self.signed "
                                             r"certificate\): use a certificate from a CA the image trusts, or pin"):
            fetched(f"xenbox.answer={url}/answer.toml", clock, cafile=certificates / "ca.pem")
        assert clock.waits == []


def test_a_missing_file_is_final_not_tried_again():
    with server() as url:
        clock = Clock()
        with pytest.raises(FetchError, match=r"/nope.toml: the server answered 404 Not Found: check the address"):
            fetched(f"xenbox.answer={url}/nope.toml", clock)
    assert clock.waits == [] and Files.asked == ["/nope.toml"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_host_not_up_yet_is_tried_again_with_growing_waits_each_try_said(certificates):
    port, started = free_port(), []

    def start_server():          # the server comes up during the third wait
        started.append(server(certificates / "self.pem", port))
        started[0].__enter__()
    clock, said = Clock(at_wait={3: start_server}), []
    try:
        data = fetched(f"xenbox.answer=https://127.0.0.1:{port}/answer.toml "
                       f"xenbox.answer_cert_sha256={fingerprint(certificates / 'self.pem')}", clock, said=said)
    finally:
        if started:
            started[0].__exit__(None, None, None)
    assert data == ANSWER and clock.waits == [2, 4, 8]
    url = f"https://127.0.0.1:{port}/answer.toml"
    assert said == [f"fetching {url} (try 1)", f"{url}: Connection refused; trying again in 2 s",
                    f"fetching {url} (try 2)", f"{url}: Connection refused; trying again in 4 s",
                    f"fetching {url} (try 3)", f"{url}: Connection refused; trying again in 8 s",
                    f"fetching {url} (try 4)"]


def test_a_host_that_never_answers_is_given_up_after_about_two_minutes():
    port, clock, said = free_port(), Clock(), []
    with pytest.raises(FetchError) as gave_up:
        fetched(f"xenbox.answer=http://127.0.0.1:{port}/answer.toml", clock, said=said)
    assert clock.waits == [2, 4, 8, 16, 30, 30, 30] and sum(clock.waits) <= fetch.TRY_FOR
    assert str(gave_up.value) == (f"http://127.0.0.1:{port}/answer.toml could not be fetched in 8 tries over 120 s "
                                  "(last: Connection refused): check the address and that this host's network "
                                  "reaches it")
    assert said[-1] == f"fetching http://127.0.0.1:{port}/answer.toml (try 8)"


@pytest.mark.parametrize("value, problem", [
    ("http://[", "'http://[' is not a URL that can be read (Invalid IPv6 URL): write it as https://host[:port]/"),
    ("http://[::1/a.toml", "is not a URL that can be read (Invalid IPv6 URL)"),
    ("http://deploy:web/a.toml", "is not a URL that can be read (Port could not be cast to integer value"),
    ("https://deploy:70000/a.toml", "is not a URL that can be read (Port out of range 0-65535)"),
    ("http://", "'http://' names no host"),
    ("http:///a.toml", "'http:///a.toml' names no host"),
    ('"http://deploy/a b.toml"', "'http://deploy/a b.toml' has a space or a control character"),
    ("https://deploy/a.toml#md5=abc", "#md5=abc is no file hash XenBox can check: end the URL with #sha256="),
    ("https://deploy/a.toml#sha256=abc", "#sha256=abc is no file hash XenBox can check"),
    ("https://deploy/a.toml xenbox.answer_cert_sha256=xyz", "xenbox.answer_cert_sha256=xyz is no SHA-256 fingerprint"),
    (f"http://deploy/a.toml xenbox.answer_cert_sha256={'a' * 64}", "pins an HTTPS server's certificate, and "
                                                                   "http://deploy/a.toml is plain http"),
])
def test_a_malformed_answer_url_is_a_bad_source_with_the_value_and_the_fix(value, problem):
    """`http://[` raised ValueError out of the boot's host setup."""
    with pytest.raises(FetchError) as refused:
        find_answer(f"quiet xenbox.answer={value}", [])
    assert str(refused.value).startswith("the kernel command line (xenbox.answer=")
    assert problem in str(refused.value)
