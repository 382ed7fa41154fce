"""Pairing two hosts and the mutual-TLS channel between them: real certificates (openssl), real TLS
sockets on this machine's loopback, each "host" a folder of its own. Nothing is mocked; the hosts are
two identities in one process, which is what the protocol sees of them anyway."""
import socket
import ssl
import threading
from pathlib import Path

import pytest

from hypervisor.network.certificate import certificate, fingerprint_of_der
from hypervisor.peers import code, tls
from hypervisor.peers.listener import Listener, PeerRefused, PeerUnreachable, ask
from hypervisor.peers.messages import LIMIT, Channel, ProtocolError
from hypervisor.peers.pairing import Offer, PairingFailed, join
from hypervisor.peers.trusted import PeersError, Peer, add_peer, read_peers, remove_peer
from hypervisor.storage.config_files import KeptFileProblems


class Host:
    def __init__(self, folder: Path, name: str) -> None:
        self.name, self.peers_file = name, folder / "peers.toml"
        self.identity = certificate(folder / "identity", name)

    def accept(self, peer: Peer) -> None:
        add_peer(peer, self.name, self.peers_file)

    def peers(self) -> list[Peer]:
        return read_peers(self.peers_file)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory) -> tuple[Host, Host, Host]:
    folder = tmp_path_factory.mktemp("hosts")
    return tuple(Host(folder / name, name) for name in ("alpha", "beta", "mallory"))


@pytest.fixture
def alpha(hosts, tmp_path) -> Host:
    return fresh(hosts[0], tmp_path)


@pytest.fixture
def beta(hosts, tmp_path) -> Host:
    return fresh(hosts[1], tmp_path)


def fresh(host: Host, tmp_path: Path) -> Host:
    host.peers_file = tmp_path / f"{host.name}-peers.toml"
    return host


class Offering(threading.Thread):
    """Host `host` offering a code in the background, as its pairing screen does."""

    def __init__(self, host: Host, **options) -> None:
        super().__init__(daemon=True)
        self.offer = Offer(host.identity, host.name, port=0, **options)
        self.host, self.said, self.peer, self.failure = host, [], None, None
        self.start()

    def run(self) -> None:
        try:
            self.peer = self.offer.wait(self.host.accept, self.said.append)
        except PairingFailed as error:
            self.failure = str(error)

    def ended(self) -> "Offering":
        self.join(30)
        assert not self.is_alive()
        return self


def test_codes_are_typed_loosely_and_checked_strictly():
    assert code.typed(" k7qm-2xrt ") == "K7QM2XRT"
    assert code.shown("K7QM2XRT") == "K7QM-2XRT"
    for wrong in ("K7QM2XR", "K7QM2XR0", "K7QM-2XRTT", ""):
        with pytest.raises(code.BadCode, match="8 letters and digits"):
            code.typed(wrong)
    made = {code.new_code() for _ in range(50)}
    assert len(made) == 50 and all(code.typed(c) == c for c in made)


def test_a_proof_is_bound_to_the_code_the_side_and_both_fingerprints():
    one = code.proof("K7QM2XRT", code.JOIN, "AA", "BB")
    assert code.proof_matches("K7QM2XRT", code.JOIN, "AA", "BB", one)
    assert not code.proof_matches("K7QM2XRA", code.JOIN, "AA", "BB", one)
    assert not code.proof_matches("K7QM2XRT", code.ACCEPT, "AA", "BB", one)
    assert not code.proof_matches("K7QM2XRT", code.JOIN, "AC", "BB", one)
    assert not code.proof_matches("K7QM2XRT", code.JOIN, "AA", "BC", one)
    assert not code.proof_matches("K7QM2XRT", code.JOIN, "AA", "BB", None)


def test_two_hosts_pair_and_each_trusts_the_others_certificate(alpha, beta):
    offering = Offering(alpha)
    peer = join("127.0.0.1", offering.offer.code, beta.identity, beta.name, beta.accept, port=offering.offer.port)
    offering.ended()
    assert offering.failure is None
    assert (peer.name, peer.address, peer.fingerprint) == ("alpha", "127.0.0.1", alpha.identity.fingerprint)
    assert [(p.name, p.fingerprint, p.address) for p in alpha.peers()] == [
        ("beta", beta.identity.fingerprint, "127.0.0.1")]
    assert [p.name for p in beta.peers()] == ["alpha"]
    assert "paired with beta at 127.0.0.1" in offering.said[-1]
    with pytest.raises(OSError):        # the offer is over: nothing listens any more
        socket.create_connection(("127.0.0.1", offering.offer.port), timeout=5)
    assert oct(alpha.peers_file.stat().st_mode)[-3:] == "600"


def test_three_wrong_codes_void_the_offer(alpha, beta):
    offering = Offering(alpha)
    wrong = "ABCDEFGH" if offering.offer.code != "ABCDEFGH" else "ABCDEFGJ"
    for left in (2, 1, 0):
        with pytest.raises(PairingFailed, match=rf"wrong code \({left} tries left\)"):
            join("127.0.0.1", wrong, beta.identity, beta.name, beta.accept, port=offering.offer.port)
    assert "3 wrong codes: this code is void" in offering.ended().failure
    with pytest.raises(PairingFailed, match="does not answer"):
        join("127.0.0.1", offering.offer.code, beta.identity, beta.name, beta.accept, port=offering.offer.port)
    assert alpha.peers() == [] and beta.peers() == []


def test_an_offer_expires(alpha):
    assert "expired" in Offering(alpha, seconds=1).ended().failure
    assert alpha.peers() == []


class Relay(threading.Thread):
    """Someone between the two hosts: ends the joiner's TLS with its own certificate, opens its own TLS to
    the offering host, and passes every message on unchanged, both ways."""

    def __init__(self, identity, target_port: int) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port, self.identity, self.target_port = self.server.getsockname()[1], identity, target_port
        self.start()

    def run(self) -> None:
        raw, _ = self.server.accept()
        with tls.pairing_server(self.identity).wrap_socket(raw, server_side=True) as joiner:
            outward = socket.create_connection(("127.0.0.1", self.target_port))
            with tls.pairing_client().wrap_socket(outward) as offerer:
                inside, outside = Channel(joiner), Channel(offerer)
                outside.send(inside.receive())
                inside.send(outside.receive())


def test_a_relay_in_the_middle_that_passes_everything_on_fails(hosts, alpha, beta):
    offering = Offering(alpha)
    relay = Relay(hosts[2].identity, offering.offer.port)
    with pytest.raises(PairingFailed, match="wrong code"):
        join("127.0.0.1", offering.offer.code, beta.identity, beta.name, beta.accept, port=relay.port)
    relay.join(30)
    assert offering.offer.tries_left == 2 and alpha.peers() == [] and beta.peers() == []
    offering.offer.cancelled.set()
    assert "cancelled" in offering.ended().failure


class Impostor(threading.Thread):
    """Poses as the offering host without the code: says yes to anything, with a proof it cannot make."""

    def __init__(self, identity) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port, self.identity = self.server.getsockname()[1], identity
        self.start()

    def run(self) -> None:
        raw, _ = self.server.accept()
        with tls.pairing_server(self.identity).wrap_socket(raw, server_side=True) as sock:
            channel = Channel(sock)
            request = channel.receive()
            channel.send({"ok": True, "name": "alpha", "certificate": self.identity.pem(),
                          "proof": code.proof("ZZZZZZZZ", code.ACCEPT, self.identity.fingerprint,
                                              ssl_fingerprint(request["certificate"]))})


def ssl_fingerprint(pem: str) -> str:
    return fingerprint_of_der(ssl.PEM_cert_to_DER_cert(pem))


def test_the_joiner_trusts_no_one_who_cannot_prove_the_code(hosts, beta):
    impostor = Impostor(hosts[2].identity)
    with pytest.raises(PairingFailed, match="did not prove it knows the code"):
        join("127.0.0.1", "K7QM2XRT", beta.identity, beta.name, beta.accept, port=impostor.port)
    assert beta.peers() == []


def test_hosts_of_the_same_name_are_told_to_rename_one(alpha, hosts, tmp_path):
    twin = Host(tmp_path / "twin", "alpha")
    offering = Offering(alpha)
    with pytest.raises(PairingFailed, match="both hosts are named alpha"):
        join("127.0.0.1", offering.offer.code, twin.identity, twin.name, twin.accept, port=offering.offer.port)
    assert "both hosts are named alpha" in offering.ended().failure
    assert alpha.peers() == []


def paired(alpha: Host, beta: Host) -> None:
    offering = Offering(alpha)
    join("127.0.0.1", offering.offer.code, beta.identity, beta.name, beta.accept, port=offering.offer.port)
    offering.ended()


class Serving:
    def __init__(self, host: Host) -> None:
        self.listener = Listener(host.identity, host.peers(), "127.0.0.1", {
            "hello": lambda peer, request: {"name": host.name, "you": peer.name},
            "fail": lambda peer, request: 1 / 0}, port=0)
        self.thread = threading.Thread(target=self.listener.serve, daemon=True)
        self.thread.start()

    def __enter__(self) -> int:
        return self.listener.port

    def __exit__(self, *_) -> None:
        self.listener.stopped.set()
        self.thread.join(10)


def test_paired_hosts_talk_over_mutual_tls_and_no_one_else_does(hosts, alpha, beta, tmp_path):
    paired(alpha, beta)
    to_alpha = beta.peers()[0]
    with Serving(alpha) as port:
        assert ask(to_alpha, beta.identity, "hello", port=port) == {"ok": True, "name": "alpha", "you": "beta"}
        with pytest.raises(PeerRefused, match="alpha: this host does not know the request 'dance'"):
            ask(to_alpha, beta.identity, "dance", port=port)
        with pytest.raises(PeerRefused, match="alpha: division by zero"):
            ask(to_alpha, beta.identity, "fail", port=port)
        with pytest.raises(PeerUnreachable, match="pair the two hosts again"):
            ask(to_alpha, hosts[2].identity, "hello", port=port)       # an unpaired host's certificate
    gamma = Host(tmp_path / "gamma", "gamma")
    paired(alpha, gamma)
    remove_peer("beta", alpha.peers_file)
    assert [peer.name for peer in alpha.peers()] == ["gamma"]
    with Serving(alpha) as port:
        with pytest.raises(PeerUnreachable, match="pair the two hosts again"):
            ask(to_alpha, beta.identity, "hello", port=port)            # unpaired on alpha's side
        assert ask(gamma.peers()[0], gamma.identity, "hello", port=port)["you"] == "gamma"
    remove_peer("gamma", alpha.peers_file)
    with pytest.raises(ValueError, match="no host is paired"):
        Serving(alpha)


def test_a_host_showing_another_certificate_is_not_the_peer(hosts, alpha, beta):
    paired(alpha, beta)
    to_alpha = beta.peers()[0]
    with Serving(alpha) as port:
        other = Peer("alpha", "127.0.0.1", hosts[2].identity.fingerprint, hosts[2].identity.pem(), "")
        with pytest.raises(PeerUnreachable, match="pair the two hosts again"):
            ask(other, beta.identity, "hello", port=port)
    with pytest.raises(PeerUnreachable, match="does not answer"):
        ask(to_alpha, beta.identity, "hello", port=port, timeout=5)


def test_only_chacha20_poly1305_over_tls_1_2_is_spoken(alpha, beta):
    paired(alpha, beta)
    with Serving(alpha) as port:
        raw = socket.create_connection(("127.0.0.1", port))
        with tls.mutual_client(beta.identity, beta.peers()[0].certificate).wrap_socket(raw) as sock:
            assert sock.version() == "TLSv1.2" and sock.cipher()[0] == "ECDHE-ECDSA-CHACHA20-POLY1305"


def test_a_message_too_long_or_not_json_is_refused():
    one, two = socket.socketpair()
    with one, two:
        two.sendall(b"x" * (LIMIT + 10) + b"\n")
        with pytest.raises(ProtocolError, match="longer than"):
            Channel(one).receive()
    for sent, why in ((b"[1]\n", "not a JSON object"), (b"{nope\n", "not JSON"), (b'{"a":1}', "closed before")):
        one, two = socket.socketpair()
        with one, two:
            two.sendall(sent)
            two.shutdown(socket.SHUT_WR)
            with pytest.raises(ProtocolError, match=why):
                Channel(one).receive()


def test_a_bad_peers_file_names_the_key_and_trusts_no_one(tmp_path, alpha):
    bad = tmp_path / "peers.toml"
    bad.write_text('format = 1\n[[peers]]\nname = "../x"\naddress = "nowhere"\ncertificate = "x"\n'
                   'fingerprint = "AB"\nsecret = 1\n')
    with pytest.raises(KeptFileProblems) as raised:
        read_peers(bad)
    text = str(raised.value)
    for key in ("peers[0].name", "peers[0].address", "peers[0].certificate", "peers[0].secret"):
        assert key in text
    assert read_peers(tmp_path / "none.toml") == []


def test_a_different_host_may_not_take_a_paired_name(alpha, beta, hosts, tmp_path):
    paired(alpha, beta)
    imposter = Peer("beta", "127.0.0.2", hosts[2].identity.fingerprint, hosts[2].identity.pem(), "")
    with pytest.raises(PeersError, match="a different host named beta is already paired"):
        alpha.accept(imposter)
    again = Peer("beta", "127.0.0.3", beta.identity.fingerprint, beta.identity.pem(), "")
    alpha.accept(again)                     # the same host, paired again from a new address
    assert [(p.name, p.address) for p in alpha.peers()] == [("beta", "127.0.0.3")]
    with pytest.raises(PeersError, match="no paired host is named gamma"):
        remove_peer("gamma", alpha.peers_file)


def socat_streams(tmp_path, receiver: Host, sender_identity, sender_pem: str, payload: bytes, port: int):
    """Receiver runs socat joining one connection to `sha256sum > out`; sender pipes payload through its socat."""
    import hashlib
    import subprocess
    import time
    from hypervisor.peers.stream import common_name, receiver_argv, sender_command
    peer_pem = tmp_path / "sender.pem"
    peer_pem.write_text(sender_pem)
    receiver_pem = tmp_path / "receiver.pem"
    receiver_pem.write_text(receiver.identity.pem())
    out = tmp_path / "received"
    script = tmp_path / "store.sh"
    script.write_text(f"#!/bin/sh\nsha256sum > {out}\n")
    script.chmod(0o755)
    listening = subprocess.Popen(receiver_argv(receiver.identity, peer_pem, "127.0.0.1", port, [str(script)]),
                                 stderr=subprocess.PIPE)
    try:
        for _ in range(100):            # socat takes one connection: a probe would be it
            if f":{port:04X} 00000000:0000 0A" in Path("/proc/net/tcp").read_text():
                break
            time.sleep(0.05)
        command = sender_command(sender_identity, receiver_pem, common_name(receiver.identity.pem()), "127.0.0.1", port)
        sent = subprocess.run(command + " anything xl appends", shell=True, input=payload, capture_output=True,
                              timeout=60)
        listening.wait(30)
    finally:
        listening.kill()
    received = out.read_text().split()[0] if out.exists() and out.read_text() else None
    return sent, received, hashlib.sha256(payload).hexdigest()


def test_a_paired_peer_streams_through_socat_over_mutual_tls_and_a_stranger_cannot(hosts, alpha, beta, tmp_path):
    import os
    port = free_tcp_port()
    payload = os.urandom(4 << 20)
    sent, received, digest = socat_streams(tmp_path, alpha, beta.identity, beta.identity.pem(), payload, port)
    assert sent.returncode == 0, sent.stderr
    assert received == digest
    stranger = hosts[2].identity            # alpha expects beta's certificate; mallory shows its own
    (tmp_path / "stranger").mkdir()
    sent, received, _ = socat_streams(tmp_path / "stranger", alpha, stranger, beta.identity.pem(), payload,
                                      free_tcp_port())
    assert sent.returncode != 0 and received is None


def test_names_socat_would_split_are_refused():
    from hypervisor.peers.stream import _safe
    for bad in ("a,b", "a:b", "a b", "$(x)"):
        with pytest.raises(ValueError, match="cannot be passed to socat"):
            _safe(bad)


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_peer_is_found_by_name_or_the_known_ones_are_named(alpha, beta):
    from hypervisor.peers.trusted import find_peer
    paired(alpha, beta)
    assert find_peer("beta", alpha.peers_file).fingerprint == beta.identity.fingerprint
    with pytest.raises(PeersError, match=r"no paired host is named gamma \(paired: beta\): pair them first"):
        find_peer("gamma", alpha.peers_file)
