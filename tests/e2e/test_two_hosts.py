"""Two XenBox hosts on one wire pair, as two operators would pair them: no password crosses, nothing listens
before or after but what should. Two machines from answer files (hostnames alpha and beta, static addresses
on a second NIC wired only to the other machine, a data store each, the sample appliance on each), booted at
once; every test here uses the same two, in order.
"""
import contextlib
import re
import socket

import pytest

from answer_volume import answer_volume, blank_disk
from machine import BOOT_TIMEOUT, ReadInTheBackground, Shell, booted, run_ok, wait_for_console

SETUP = 900
ADDRESS = {"alpha": "192.168.76.1", "beta": "192.168.76.2"}
MAC = {"alpha": "52:54:00:4c:00:01", "beta": "52:54:00:4c:00:02"}
ANSWER = """
[host]
hostname = "{name}"

[network]
interface = "eth1"
ipv4 = "static"
address = "{address}/24"
ipv6 = "off"

[storage]
data_disks = ["/dev/disk/by-id/virtio-XB-DISK-0"]

[[appliances]]
source = "sample-web"
"""
PAIRING, PEERS = 8473, 8474


def udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def hosts(iso, tmp_path_factory):
    ports = {"alpha": udp_port(), "beta": udp_port()}
    with contextlib.ExitStack() as stack:
        consoles = {}
        for name, other in (("alpha", "beta"), ("beta", "alpha")):
            folder = tmp_path_factory.mktemp(name)
            disks = [blank_disk(folder, "data.img", 2048),
                     answer_volume(folder, ANSWER.format(name=name, address=ADDRESS[name]))]
            consoles[name] = stack.enter_context(booted(iso, f"two-hosts-{name}", disks=disks,
                                                        lan=(ports[name], ports[other]), lan_mac=MAC[name]))
        both = ReadInTheBackground(consoles)
        stack.callback(both.close)
        for name in consoles:
            with both.using(name) as (console,):
                wait_for_console(console, BOOT_TIMEOUT)
                console.wait_for_output(rb"xenbox: answer file: applied\r*\n", SETUP)
        yield both


def listening(shell: Shell) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening in dom0, from /proc/net/tcp and tcp6 (no netstat here)."""
    found = set()
    for line in run_ok(shell, "cat /proc/net/tcp /proc/net/tcp6").splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:
            address, port = fields[1].rsplit(":", 1)
            if len(address) == 8:
                address = ".".join(str(b) for b in reversed(bytes.fromhex(address)))
            found.add((address, int(port, 16)))
    return found


def ports(found: set[tuple[str, int]]) -> set[int]:
    return {port for _, port in found}


def test_the_two_hosts_see_each_other_and_nothing_listens_for_peers(hosts):
    with hosts.using("alpha") as (console,), Shell(console) as shell:
        assert "0% packet loss" in run_ok(shell, f"ping -c 3 -W 5 {ADDRESS['beta']}", 120)
        assert not ports(listening(shell)) & {PAIRING, PEERS}


def test_pairing_at_the_command_line_and_each_peer_answers_over_mutual_tls(hosts):
    with hosts.using("alpha", "beta") as (one, two), Shell(one) as alpha, Shell(two) as beta:
        run_ok(alpha, "(xenbox host pair >/tmp/pair.log 2>&1 &)")      # in the background: it waits for beta
        said = ""
        for _ in range(60):
            said = run_ok(alpha, "cat /tmp/pair.log")
            if "on the other host" in said:
                break
        code = re.search(r"pairing code (\w{4}-\w{4})", said).group(1)
        fingerprint = re.search(r"this host's fingerprint ([0-9A-F:]{95})", said).group(1)
        assert PAIRING in ports(listening(alpha))           # while the code is offered, and only then
        joined = run_ok(beta, f"xenbox host pair {ADDRESS['alpha']} --code {code}", 300)
        assert f"paired with alpha at {ADDRESS['alpha']}" in joined
        assert fingerprint in joined.replace("\r\n", "")
        for _ in range(30):
            if "paired with beta" in run_ok(alpha, "cat /tmp/pair.log"):
                break
        assert f"paired with beta at {ADDRESS['beta']}" in run_ok(alpha, "cat /tmp/pair.log")
        # init's loop starts the peer service within seconds, on the management address only
        for _ in range(30):
            if (ADDRESS["alpha"], PEERS) in listening(alpha):
                break
            alpha.run("sleep 2")
        assert (ADDRESS["alpha"], PEERS) in listening(alpha) and PAIRING not in ports(listening(alpha))
        for _ in range(30):
            said = beta.run("xenbox host peers", 120)
            if "answers:" in said:
                break
            beta.run("sleep 2")
        assert re.search(r"alpha\s+192\.168\.76\.1\s+paired", said), said
        assert re.search(r"answers: XenBox [\w-]+, Xen 4\.17\.\d+, \d+ MiB free, HVM guests: yes", said), said
        assert "600" == run_ok(alpha, "stat -c %a /var/lib/xenbox/config/peers.toml").strip()


def test_a_guest_that_cannot_move_is_told_every_reason_from_the_peers_own_facts(hosts):
    with hosts.using("beta") as (console,), Shell(console) as beta:
        for _ in range(30):         # beta's own service, for alpha's questions, comes up as alpha's did
            if (ADDRESS["beta"], PEERS) in listening(beta):
                break
            beta.run("sleep 2")
    with hosts.using("alpha") as (console,), Shell(console) as alpha:
        said = alpha.run("xenbox appliance movable sample-web beta", 120)
        assert alpha.status == 1, said
        assert "sample-web cannot move to beta:" in said
        assert "beta already has an appliance named sample-web" in said
        assert "a PV guest cannot move while it runs" in said


def test_a_forgotten_peer_is_refused_by_the_host_that_forgot_it(hosts):
    with hosts.using("alpha") as (console,), Shell(console) as alpha:
        run_ok(alpha, "xenbox host unpair beta")
    with hosts.using("beta") as (console,), Shell(console) as beta:
        said = ""
        for _ in range(20):         # alpha's service starts again without beta, or ends with no peer left
            said = beta.run("xenbox host peers", 120)
            if "does NOT answer" in said:
                break
            beta.run("sleep 3")
        assert "does NOT answer" in said, said
