"""The overview's host addresses: /proc/net/if_inet6 read as the kernel writes it."""
from pathlib import Path

from hypervisor.network.addresses import describe_addresses, host_addresses, is_hosts, parse_if_inet6

# A real /proc/net/if_inet6 (this build host's: a link-local, a global ULA, loopback).
CAPTURE = Path(__file__).resolve().parents[1] / "fixtures" / "network" / "if_inet6-sandbox.txt"


def test_only_global_ipv6_addresses_are_the_hosts():
    assert parse_if_inet6(CAPTURE.read_text()) == [("eth0", "fd00::2")]


def test_a_garbled_line_is_skipped_not_fatal():
    assert parse_if_inet6("zz 01 80 00 80 eth0\nshort line\n") == []


def test_guest_ports_and_loopback_are_not_the_hosts():
    assert [n for n in ("lo", "vif3.0", "vif3.0-emu", "tap3.0", "xenbr0", "eth0") if is_hosts(n)] == ["xenbr0", "eth0"]


def test_the_panel_line():
    assert describe_addresses([("xenbr0", "10.0.2.15"), ("xenbr0", "fec0::5054:ff:fe12:3456")]) == \
        "10.0.2.15 (xenbr0), fec0::5054:ff:fe12:3456 (xenbr0)"
    assert describe_addresses([]) == "no network address yet"


def test_this_machines_own_addresses_are_read_without_error():
    # Real kernel, real ioctl: whatever this machine has, each entry is (interface, address).
    for name, address in host_addresses():
        assert is_hosts(name) and address
