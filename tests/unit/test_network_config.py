"""Host network settings: every validation rule and its message, and the exact argv that applies them."""
import pytest

from hypervisor.network.config import (UDHCPC, Addressing, Bridge, NetworkConfig, change, hostname_problem,
                                       management_uplink, resolv_conf, to_commands, validate)

BRIDGE0 = ["ip", "link", "add", "name", "xenbr0", "type", "bridge", "stp_state", "0", "forward_delay", "0"]
UP0 = ["ip", "link", "set", "dev", "xenbr0", "up"]
JOIN_ETH0 = [["ip", "link", "set", "dev", "eth0", "master", "xenbr0"], ["ip", "link", "set", "dev", "eth0", "up"]]


def static(address="192.168.1.20/24", gateway="192.168.1.1", **other) -> NetworkConfig:
    return NetworkConfig(ipv4=Addressing("static", address, gateway), **other)


def only(config: NetworkConfig) -> tuple[str, object, str]:
    problems = validate(config)
    assert len(problems) == 1, problems
    return problems[0].field, problems[0].value, problems[0].message


def test_defaults_and_a_full_static_config_are_valid():
    assert validate(NetworkConfig()) == []
    assert validate(static(hostname="edge-01.example.com", dns=("192.168.1.1", "2001:db8::53"),
                           ipv6=Addressing("static", "2001:db8::20/64", "fe80::1"),
                           bridges=(Bridge("xenbr1", vlan=20), Bridge("xenbr2", nic="eth1"),
                                    Bridge("guests", host_only=True)))) == []


@pytest.mark.parametrize("address, message", [
    ("192.168.1.300/24", "is not an IPv4 address with its prefix length, such as 192.168.1.20/24"),
    ("192.168.1.20", "has no prefix length: write it as 192.168.1.20/24"),
    ("192.168.1.20/33", "has the prefix length /33; it must be 1-32"),
    ("192.168.1.20/0", "has the prefix length /0; it must be 1-32"),
    ("192.168.1.20/abc", "has the prefix length /abc"),
    ("2001:db8::1/64", "is an IPv6 address; write an IPv4 one here"),
    ("192.168.1.0/24", "is the network address of 192.168.1.0/24, which no host may take: use one of "
                       "192.168.1.1-192.168.1.254"),
    ("192.168.1.255/24", "is the broadcast address of 192.168.1.0/24"),
    ("127.0.0.1/8", "is not an address a host may take (loopback)"),
    ("224.0.0.5/24", "is not an address a host may take (multicast)"),
])
def test_bad_ipv4_addresses_are_named_with_the_fix(address, message):
    name, value, text = only(static(address, gateway=None))
    assert (name, value) == ("network.address", address)
    assert message in text


def test_point_to_point_prefixes_have_no_network_or_broadcast_address():
    assert validate(static("10.0.0.0/31", gateway="10.0.0.1")) == []
    assert validate(static("10.0.0.7/32", gateway=None)) == []


@pytest.mark.parametrize("gateway, message", [
    ("10.0.0.1", "is outside this host's subnet 192.168.1.0/24 (network.address = \"192.168.1.20/24\")"),
    ("192.168.1.20", "is this host's own address"),
    ("192.168.1.255", "is the broadcast address of 192.168.1.0/24, not a router's"),
    ("router", "is not an IPv4 address, such as 192.168.1.1"),
    ("2001:db8::1", "is an IPv6 address; write an IPv4 one here"),
])
def test_bad_ipv4_gateways(gateway, message):
    name, value, text = only(static(gateway=gateway))
    assert (name, value) == ("network.gateway", gateway)
    assert message in text


def test_the_gateway_is_checked_against_a_subnet_even_when_the_address_in_it_is_wrong():
    problems = validate(static("192.168.1.0/24", "10.0.0.1"))
    assert [p.field for p in problems] == ["network.address", "network.gateway"]


def test_static_needs_an_address_and_dhcp_takes_none():
    assert only(NetworkConfig(ipv4=Addressing("static"))) == (
        "network.address", None, 'missing: ipv4 = "static" needs address = "192.168.1.20/24"')
    name, value, text = only(NetworkConfig(ipv4=Addressing("dhcp", "192.168.1.20/24")))
    assert (name, value) == ("network.address", "192.168.1.20/24")
    assert text == 'is only used with ipv4 = "static" (here ipv4 = "dhcp"): remove it, or write ipv4 = "static"'
    assert only(NetworkConfig(ipv4=Addressing("bootp")))[2] == 'must be one of "dhcp", "static"'


def test_ipv6_rules():
    def v6(address, gateway=None):
        return NetworkConfig(ipv6=Addressing("static", address, gateway))
    assert validate(v6("2001:db8::20/64", "2001:db8::1")) == []
    assert "is the subnet-router anycast address of 2001:db8::/64" in only(v6("2001:db8::/64"))[2]
    assert "has the prefix length /129; it must be 1-128" in only(v6("2001:db8::20/129"))[2]
    assert "(link-local)" in only(v6("fe80::20/64"))[2]
    assert only(v6("2001:db8::20/64", "2001:db9::1"))[0] == "network.gateway6"
    assert only(NetworkConfig(ipv6=Addressing("off", None, "fe80::1")))[0] == "network.gateway6"
    assert only(NetworkConfig(ipv6=Addressing("static")))[2] == 'missing: ipv6 = "static" needs address6 = "2001:db8::20/64"'


@pytest.mark.parametrize("hostname, message", [
    ("edge_01", 'has the part "edge_01": use only letters, digits and "-"'),
    ("-edge", 'has the part "-edge"'),
    ("edge-", 'has the part "edge-"'),
    ("edge..example", "has an empty part"),
    ("edge.", "has an empty part"),
    ("a" * 64, "has a part of 64 characters"),
    (".".join(["a" * 60] * 5), "is 304 characters long; a hostname has at most 253"),
    ("10.0.0.1", "ends in a number, so it reads as an IP address"),
    ("", "must not be empty"),
])
def test_hostnames_follow_rfc_1123(hostname, message):
    assert only(NetworkConfig(hostname=hostname))[:2] == ("host.hostname", hostname)
    assert message in hostname_problem(hostname)


def test_good_hostnames():
    for name in ("edge-01", "EDGE01", "1host", "a", "edge-01.example.com", "a" * 63):
        assert hostname_problem(name) is None


def test_dns_servers():
    assert only(NetworkConfig(dns=("dns.example.com",)))[:2] == ("network.dns[0]", "dns.example.com")
    assert only(NetworkConfig(dns=("1.1.1.1", "1.1.1.1")))[:2] == ("network.dns[1]", "1.1.1.1")
    assert "the resolver reads only the first 3" in only(NetworkConfig(dns=("1.1.1.1", "1.0.0.1", "8.8.8.8", "9.9.9.9")))[2]


@pytest.mark.parametrize("bridges, field, message", [
    ((Bridge("xenbr0", host_only=True),), "network.bridges[0].name", "is already the name of the management bridge"),
    ((Bridge("br", vlan=2), Bridge("br", vlan=3)), "network.bridges[1].name", "is already the name of network.bridges[0]"),
    ((Bridge("a-very-long-bridge", vlan=2),), "network.bridges[0].name", "1-15 letters, digits"),
    ((Bridge("br 1", vlan=2),), "network.bridges[0].name", "a Linux interface name"),
    ((Bridge("br1", vlan=0),), "network.bridges[0].vlan", "must be a VLAN id of 1-4094"),
    ((Bridge("br1", vlan=4095),), "network.bridges[0].vlan", "must be a VLAN id of 1-4094"),
    ((Bridge("br1", nic="eth/1"),), "network.bridges[0].nic", "a Linux interface name"),
    ((Bridge("br1"),), "network.bridges[0].nic", "missing: say what the bridge carries"),
    ((Bridge("br1", nic="eth1", host_only=True),), "network.bridges[0].host_only", "a host-only bridge has no uplink"),
    ((Bridge("br1", vlan=20), Bridge("br2", vlan=20)), "network.bridges[1].vlan",
     "VLAN 20 on auto already carries network.bridges[0]"),
    ((Bridge("br1", nic="eth1"), Bridge("br2", nic="eth1")), "network.bridges[1].nic",
     "eth1 already carries network.bridges[0]"),
])
def test_bridge_rules(bridges, field, message):
    name, _, text = only(NetworkConfig(bridges=bridges))
    assert name == field and message in text


def test_a_bridge_may_not_take_the_management_nic_but_a_vlan_on_it():
    config = NetworkConfig(interface="eth0", bridges=(Bridge("br1", nic="eth0"),))
    assert "eth0 already carries xenbr0, the management bridge" in only(config)[2]
    assert validate(NetworkConfig(interface="eth0", bridges=(Bridge("br1", nic="eth0", vlan=5),))) == []
    assert only(NetworkConfig(interface="eth 0"))[:2] == ("network.interface", "eth 0")


def test_dhcp_commands_are_rc_boots():
    assert to_commands(NetworkConfig(), "eth0") == [BRIDGE0, UP0, *JOIN_ETH0, UDHCPC]
    assert UDHCPC == ["udhcpc", "-i", "xenbr0", "-s", "/usr/lib/xenbox/udhcpc.script", "-t", "5", "-T", "2", "-b"]
    assert to_commands(NetworkConfig(), None) == [BRIDGE0, UP0, UDHCPC]


def test_static_commands():
    config = static(hostname="edge-01", ipv6=Addressing("static", "2001:db8::20/64", "2001:db8::1"))
    assert to_commands(config, "eth0") == [
        BRIDGE0,
        ["sysctl", "-q", "-w", "net.ipv6.conf.xenbr0.autoconf=0"],
        UP0, *JOIN_ETH0,
        ["ip", "-6", "address", "add", "2001:db8::20/64", "dev", "xenbr0"],
        ["ip", "-6", "route", "add", "default", "via", "2001:db8::1", "dev", "xenbr0"],
        ["ip", "-4", "address", "add", "192.168.1.20/24", "dev", "xenbr0"],
        ["ip", "-4", "route", "add", "default", "via", "192.168.1.1", "dev", "xenbr0"],
        ["hostname", "edge-01"]]
    assert to_commands(static(gateway=None, ipv6=Addressing("off")), "eth0") == [
        BRIDGE0, ["sysctl", "-q", "-w", "net.ipv6.conf.xenbr0.disable_ipv6=1"], UP0, *JOIN_ETH0,
        ["ip", "-4", "address", "add", "192.168.1.20/24", "dev", "xenbr0"]]


def test_extra_bridge_commands():
    config = NetworkConfig(bridges=(Bridge("xenbr1", vlan=20), Bridge("xenbr2", nic="eth1"),
                                    Bridge("guests", host_only=True), Bridge("xenbr3", nic="enx001122334455", vlan=7)))
    assert to_commands(config, "eth0")[5:] == [
        ["ip", "link", "add", "name", "xenbr1", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
        ["ip", "link", "add", "link", "eth0", "name", "eth0.20", "type", "vlan", "id", "20"],
        ["ip", "link", "set", "dev", "eth0.20", "master", "xenbr1"],
        ["ip", "link", "set", "dev", "eth0.20", "up"],
        ["ip", "link", "set", "dev", "xenbr1", "up"],
        ["ip", "link", "add", "name", "xenbr2", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
        ["ip", "link", "set", "dev", "eth1", "master", "xenbr2"],
        ["ip", "link", "set", "dev", "eth1", "up"],
        ["ip", "link", "set", "dev", "xenbr2", "up"],
        ["ip", "link", "add", "name", "guests", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
        ["ip", "link", "set", "dev", "guests", "up"],
        ["ip", "link", "add", "name", "xenbr3", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
        ["ip", "link", "add", "link", "enx001122334455", "name", "vlan7b3", "type", "vlan", "id", "7"],
        ["ip", "link", "set", "dev", "vlan7b3", "master", "xenbr3"],
        ["ip", "link", "set", "dev", "vlan7b3", "up"],
        ["ip", "link", "set", "dev", "xenbr3", "up"]]


def test_change_and_its_rollback():
    previous, new = NetworkConfig(), static(bridges=(Bridge("xenbr1", vlan=20),))
    teardown = [["ip", "-4", "route", "flush", "dev", "xenbr0", "proto", "boot"],
                ["ip", "-6", "route", "flush", "dev", "xenbr0", "proto", "boot"],
                ["ip", "-4", "address", "flush", "dev", "xenbr0"],
                ["ip", "-6", "address", "flush", "dev", "xenbr0", "scope", "global"],
                ["sysctl", "-q", "-w", "net.ipv6.conf.xenbr0.disable_ipv6=0"],
                ["sysctl", "-q", "-w", "net.ipv6.conf.xenbr0.autoconf=1"]]
    moved = change(previous, new, "eth0")
    assert moved.apply[:6] == teardown
    assert moved.apply[6:8] == [["ip", "-4", "address", "add", "192.168.1.20/24", "dev", "xenbr0"],
                                ["ip", "-4", "route", "add", "default", "via", "192.168.1.1", "dev", "xenbr0"]]
    assert moved.rollback == teardown + [["ip", "link", "del", "dev", "xenbr1"], ["ip", "link", "del", "dev", "eth0.20"],
                                         UDHCPC]
    assert not any(command[:3] == ["ip", "link", "del"] and "xenbr0" in command for command in moved.apply)


def test_resolv_conf():
    assert resolv_conf(NetworkConfig()) is None
    assert resolv_conf(NetworkConfig(dns=("192.168.1.1", "2001:db8::53"))) == "nameserver 192.168.1.1\nnameserver 2001:db8::53\n"


def test_a_change_leaves_a_bridge_in_both_settings_up_with_its_guests():
    lab, vlan = Bridge("lab", host_only=True), Bridge("xenbr1", vlan=20)
    moved = change(NetworkConfig(bridges=(lab,)), NetworkConfig(bridges=(lab, vlan)), "eth0")
    touched = [c for c in moved.apply if c[:3] in (["ip", "link", "del"], ["ip", "link", "add"])]
    assert touched == [["ip", "link", "add", "name", "xenbr1", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
                       ["ip", "link", "add", "link", "eth0", "name", "eth0.20", "type", "vlan", "id", "20"]]
    assert [c for c in moved.rollback if c[:3] == ["ip", "link", "del"]] == [["ip", "link", "del", "dev", "xenbr1"],
                                                                             ["ip", "link", "del", "dev", "eth0.20"]]


# ---- network.interface: the NIC under xenbr0 --------------------------------------------------------------------

TEARDOWN = [["ip", "-4", "route", "flush", "dev", "xenbr0", "proto", "boot"],
            ["ip", "-6", "route", "flush", "dev", "xenbr0", "proto", "boot"],
            ["ip", "-4", "address", "flush", "dev", "xenbr0"],
            ["ip", "-6", "address", "flush", "dev", "xenbr0", "scope", "global"],
            ["sysctl", "-q", "-w", "net.ipv6.conf.xenbr0.disable_ipv6=0"],
            ["sysctl", "-q", "-w", "net.ipv6.conf.xenbr0.autoconf=1"]]


def test_the_chosen_interface_is_the_one_found_else_the_first_wired_nic_with_a_message():
    assert management_uplink(NetworkConfig(), ["eth0", "eth1"]) == ("eth0", None)
    assert management_uplink(NetworkConfig(interface="eth1"), ["eth0", "eth1"]) == ("eth1", None)
    assert management_uplink(NetworkConfig(interface="eth2"), ["eth0", "eth1"]) == ("eth0", (
        "network.interface = eth2 is not a wired NIC of this host (it has eth0, eth1): xenbr0 stays on eth0, the "
        "first wired NIC; plug it in, or change network.interface"))
    assert management_uplink(NetworkConfig(interface="eth2"), []) == (None, (
        "network.interface = eth2 is not a wired NIC of this host (it has none): xenbr0 has no NIC to bridge; "
        "plug it in, or change network.interface"))
    assert management_uplink(NetworkConfig(), []) == (None, None)


def test_moving_xenbr0_onto_the_chosen_nic_and_back():
    """Before, `change` kept whatever NIC rc.services had bridged: network.interface was never applied."""
    moved = change(NetworkConfig(), NetworkConfig(interface="eth1"), "eth0", "eth1")
    assert moved.apply == TEARDOWN + [["ip", "link", "set", "dev", "eth0", "nomaster"],
                                      ["ip", "link", "set", "dev", "eth0", "down"],
                                      ["ip", "link", "set", "dev", "eth1", "master", "xenbr0"],
                                      ["ip", "link", "set", "dev", "eth1", "up"], UDHCPC]
    assert moved.rollback == TEARDOWN + [["ip", "link", "set", "dev", "eth1", "nomaster"],
                                         ["ip", "link", "set", "dev", "eth1", "down"], *JOIN_ETH0, UDHCPC]
    assert change(NetworkConfig(), NetworkConfig(interface="eth0"), "eth0", "eth0").apply == TEARDOWN + [UDHCPC]
    assert change(NetworkConfig(), NetworkConfig(interface="eth1"), None, "eth1").apply == TEARDOWN + [
        ["ip", "link", "set", "dev", "eth1", "master", "xenbr0"], ["ip", "link", "set", "dev", "eth1", "up"], UDHCPC]


def test_a_vlan_on_the_management_nic_moves_with_it_and_the_nic_left_may_carry_a_bridge():
    vlan, lab = Bridge("xenbr1", vlan=20), Bridge("lab", host_only=True)
    previous = NetworkConfig(bridges=(vlan, lab))
    new = NetworkConfig(interface="eth1", bridges=(vlan, lab, Bridge("xenbr2", nic="eth0")))
    assert validate(new) == []
    links = [c for c in change(previous, new, "eth0", "eth1").apply if c[:2] == ["ip", "link"]]
    assert links == [["ip", "link", "del", "dev", "xenbr1"], ["ip", "link", "del", "dev", "eth0.20"],
                     ["ip", "link", "set", "dev", "eth0", "nomaster"], ["ip", "link", "set", "dev", "eth0", "down"],
                     ["ip", "link", "set", "dev", "eth1", "master", "xenbr0"], ["ip", "link", "set", "dev", "eth1", "up"],
                     ["ip", "link", "add", "name", "xenbr1", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
                     ["ip", "link", "add", "link", "eth1", "name", "eth1.20", "type", "vlan", "id", "20"],
                     ["ip", "link", "set", "dev", "eth1.20", "master", "xenbr1"],
                     ["ip", "link", "set", "dev", "eth1.20", "up"], ["ip", "link", "set", "dev", "xenbr1", "up"],
                     ["ip", "link", "add", "name", "xenbr2", "type", "bridge", "stp_state", "0", "forward_delay", "0"],
                     ["ip", "link", "set", "dev", "eth0", "master", "xenbr2"], ["ip", "link", "set", "dev", "eth0", "up"],
                     ["ip", "link", "set", "dev", "xenbr2", "up"]]        # lab, host-only, stays up with its guests


def sysfs_tree(root, bridged="eth0"):
    """/sys/class/net as dom0 has it: two wired NICs, a wireless one, a guest's vif, loopback, xenbr0."""
    for name in ("eth0", "eth1", "wlan0", "vif3.0"):
        (root / name / "device").mkdir(parents=True)
    (root / "wlan0" / "wireless").mkdir()
    (root / "lo").mkdir()
    for port in (bridged, "vif3.0"):
        (root / "xenbr0" / "brif" / port).mkdir(parents=True)
    return root


def test_applying_settings_bridges_the_chosen_nic_at_every_boot_and_says_so(tmp_path, monkeypatch):
    """The runner records the argv (`ip` cannot change this build host's network); the DHCP client, a
    process of dom0's, is neither stopped nor started here."""
    from hypervisor.network import apply
    monkeypatch.setattr(apply, "stop_dhcp_client", lambda: None)
    monkeypatch.setattr(apply.runner, "spawn", lambda argv: ran.append(argv))
    sysfs, ran, said = sysfs_tree(tmp_path / "net"), [], []
    assert apply.wired_nics(sysfs) == ["eth0", "eth1"]

    def run(argv, *, input=None, timeout=60):
        ran.append(list(argv))
        return ""
    assert apply.move(NetworkConfig(), NetworkConfig(interface="eth1"), said.append, run, tmp_path, sysfs) == []
    assert said == ["network: xenbr0 moves from eth0 to eth1 (network.interface = eth1)"]
    assert ran[6:] == [["ip", "link", "set", "dev", "eth0", "nomaster"], ["ip", "link", "set", "dev", "eth0", "down"],
                       ["ip", "link", "set", "dev", "eth1", "master", "xenbr0"],
                       ["ip", "link", "set", "dev", "eth1", "up"], UDHCPC]
    ran.clear(), said.clear()
    apply.move(NetworkConfig(), NetworkConfig(interface="eth7"), said.append, run, tmp_path, sysfs)
    assert said == ["network: network.interface = eth7 is not a wired NIC of this host (it has eth0, eth1): xenbr0 "
                    "stays on eth0, the first wired NIC; plug it in, or change network.interface"]
    assert not any("master" in argv or "nomaster" in argv for argv in ran)
