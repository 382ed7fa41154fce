"""`xenbox host pair | peers | unpair`: two hosts (two folders, real certificates and TLS on the loopback)
paired through the command line's own handlers, as an operator at each host would type them."""
import argparse
import re
import socket
import threading
import time

from hypervisor.cli import peers as cli
from hypervisor.peers.this_host import ThisHost


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hosts(tmp_path):
    port = free_port()
    return tuple(ThisHost(tmp_path / name / "peers.toml", tmp_path / name / "identity", port, fixed_name=name)
                 for name in ("alpha", "beta"))


def wait_for_code(capsys, said: list[str]) -> str:
    for _ in range(200):
        said.append(capsys.readouterr().out)
        found = re.search(r"pairing code (\w{4}-\w{4})", "".join(said))
        if found:
            return found.group(1)
        time.sleep(0.05)
    raise AssertionError("".join(said))


def test_pairing_from_the_command_line_then_listing_and_unpairing(tmp_path, capsys):
    alpha, beta = hosts(tmp_path)
    for host in (alpha, beta):
        host.config.parent.mkdir()
    outcome = []
    offering = threading.Thread(target=lambda: outcome.append(cli.host_pair(argparse.Namespace(address=None), None, alpha)))
    offering.start()
    said: list[str] = []
    code = wait_for_code(capsys, said)
    assert f"this host's fingerprint {alpha.identity().fingerprint}" in said[-1]
    assert cli.host_pair(argparse.Namespace(address="127.0.0.1", code=code.lower()), None, beta) == 0
    offering.join(30)
    assert outcome == [0]
    out = capsys.readouterr().out
    assert "paired with alpha at 127.0.0.1" in out and alpha.identity().fingerprint in out
    assert "paired with beta at 127.0.0.1" in out
    assert cli.host_peers(argparse.Namespace(json=False, offline=True), None, beta) == 0
    assert capsys.readouterr().out.startswith("alpha                127.0.0.1        paired 20")
    assert cli.host_unpair(argparse.Namespace(name="alpha"), None, beta) == 0
    assert "no longer trusted here; remove this host on it too (`xenbox host unpair beta` there)" in \
        capsys.readouterr().out
    assert cli.host_unpair(argparse.Namespace(name="alpha"), None, beta) == 3
    assert "no paired host is named alpha (paired: none)" in capsys.readouterr().err


def test_a_mistyped_code_is_usage_and_a_host_not_offering_is_said(tmp_path, capsys):
    alpha, beta = hosts(tmp_path)
    beta.config.parent.mkdir()
    assert cli.host_pair(argparse.Namespace(address="127.0.0.1", code="12"), None, beta) == 2
    assert "a pairing code is 8 letters and digits" in capsys.readouterr().err
    assert cli.host_pair(argparse.Namespace(address="127.0.0.1", code="K7QM-2XRT"), None, beta) == 1
    assert "does not answer" in capsys.readouterr().err


def test_without_a_data_store_pairing_says_to_make_one(tmp_path, capsys):
    alpha, _ = hosts(tmp_path)
    assert cli.host_pair(argparse.Namespace(address=None), None, alpha) == 1
    assert "pairing needs a data store" in capsys.readouterr().err
