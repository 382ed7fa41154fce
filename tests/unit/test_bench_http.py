"""make bench's HTTP probe: what counts as an answer, the guest's own word on its address, the first answer's time."""
import http.server
import threading
import time

from bench import http as probe


def test_an_answer_is_a_status_line():
    assert probe.status(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n") == 200
    assert probe.status(b"HTTP/1.1 404 Not Found\r\n") == 404
    assert probe.status(b"") is None
    assert probe.status(b"SSH-2.0-OpenSSH\r\n") is None
    assert probe.status(b"HTTP/1.0 20") is None     # cut short: not yet an answer


def test_the_guest_says_where_it_serves_and_the_last_word_counts():
    log = ("udhcpc: lease of 10.0.2.16 obtained from 10.0.2.2\r\n"
           "sample-web: serving http://10.0.2.16/\r\n\x1b[6n"
           "sample-web: serving http://10.0.2.17/\r\n")
    assert probe.serving_address(log) == "10.0.2.17"
    assert probe.serving_address("sample-web: serving http://no-address/") == "no-address"
    assert probe.serving_address("grep -h serving /var/log/xen/console/guest-sample-web.log") is None


def test_forward_rule_is_qemus_hostfwd_syntax():
    assert probe.forward(8080, "10.0.2.16") == "tcp:127.0.0.1:8080-10.0.2.16:80"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_first_answer_is_timed_from_start_once_a_server_comes_up(tmp_path):
    port = probe.free_port()
    started = time.monotonic()
    poller = probe.FirstAnswer(port, started, cpu=lambda: 12.5).start()
    time.sleep(0.8)
    assert poller.answer is None                    # nothing listens yet: refused, and tried again
    server = http.server.HTTPServer(("127.0.0.1", port), lambda *a: _Quiet(*a, directory=str(tmp_path)))
    up = time.monotonic() - started
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        deadline = time.monotonic() + 10
        while poller.answer is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        poller.stop()
        server.shutdown()
        server.server_close()
    assert poller.answer is not None and (poller.answer.status, poller.answer.cpu) == (200, 12.5)
    assert up <= poller.answer.at <= up + probe.PAUSE + probe.ATTEMPT_TIMEOUT + 1
    assert poller.answer.attempts > 1
