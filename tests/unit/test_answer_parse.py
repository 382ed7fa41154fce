"""Answer files: the example, every rule and its message, every problem at once, sources, the check command."""
import json
from pathlib import Path

import pytest

from hypervisor.answer import (AnswerError, AnswerSource, Volume, answer_sources, check_answer, disk_problems,
                               parse_answer, parse_answer_bytes)
from hypervisor.cli.answer import add_commands
from hypervisor.network.config import Addressing, Bridge
from hypervisor.storage.disks import Disk

EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "answer" / "example.toml"
HASH = "$y$j9T$iuMyB.FwXnYCR9Rg.E215.$64ELharyTbQiYuV/t0D1x5ngpwHDthbxHr.4jyWg3AB"


def problems(text: str) -> list[str]:
    with pytest.raises(AnswerError) as caught:
        parse_answer(text, "answer.toml")
    assert str(caught.value).startswith("answer.toml: ")
    return [str(problem) for problem in caught.value.problems]


def one(text: str) -> str:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


def test_the_example_documents_every_field_and_is_valid():
    answer = check_answer(EXAMPLE)
    assert answer.hostname == "edge-01" and answer.password_hash.startswith("$y$")
    assert answer.network.ipv4 == Addressing("static", "192.168.1.20/24", "192.168.1.1")
    assert answer.network.bridges == (Bridge("xenbr1", vlan=20), Bridge("guests", host_only=True))
    assert [p.type for p in answer.storage.pools] == ["file", "disk", "lun", "lvm", "iscsi", "nfs"]
    iscsi = answer.storage.pools[4]
    assert (iscsi.chap.username, iscsi.chap.password) == ("xenbox", "s3cret-chap") and "s3cret" not in repr(iscsi)
    assert answer.appliances[0].source == "sample-web" and answer.warnings == ()
    assert HASH not in repr(answer)
    text = EXAMPLE.read_text()
    for key in ("hostname", "interface", "ipv4", "address", "gateway", "dns", "ipv6", "address6", "gateway6", "vlan",
                "nic", "host_only", "data_disks", "wipe_disks_with_data", "path", "device", "id", "vg", "disks",
                "portal", "target", "chap_user", "chap_password", "server", "export", "version", "password_hash",
                "source", "autostart", "order"):
        assert f"{key} = " in text, key


def test_an_empty_file_keeps_every_default():
    answer = parse_answer("", "answer.toml")
    assert (answer.network.interface, answer.network.ipv4.mode, answer.network.ipv6.mode) == ("auto", "dhcp", "auto")
    assert answer.password_hash is None and answer.appliances == () and answer.storage.data_disks == ()


def test_three_mistakes_are_reported_together():
    found = problems('[host]\nhostname = "edge_01"\n[network]\nipv4 = "static"\naddress = "192.168.1.20/24"\n'
                     'gateway = "10.0.0.1"\n[[network.bridges]]\nname = "xenbr1"\nvlan = 5000\n')
    assert found == [
        'host.hostname = \'edge_01\': has the part "edge_01": use only letters, digits and "-", not at the start or '
        'end of a part (RFC 1123), such as edge-01 or edge-01.example.com',
        "network.gateway = '10.0.0.1': is outside this host's subnet 192.168.1.0/24 (network.address = "
        "\"192.168.1.20/24\"): the gateway must be in it, or the prefix length must be larger",
        "network.bridges[0].vlan = 5000: must be a VLAN id of 1-4094 (0 and 4095 are reserved)"]


@pytest.mark.parametrize("text, expected", [
    ('[network]\nipv4 = "bootp"', 'network.ipv4 = \'bootp\': must be one of "dhcp", "static"'),
    ('[network]\nipv6 = "on"', 'network.ipv6 = \'on\': must be one of "off", "auto", "static"'),
    ('[network]\nipv4 = "static"', 'network.address: missing: ipv4 = "static" needs address = "192.168.1.20/24"'),
    ('[network]\naddress = 7', "network.address: must be text in quotes (found a number)"),
    ('[network]\ndns = "1.1.1.1"', "network.dns: must be a list of text, such as [\"192.168.1.1\"] (found text)"),
    ('[network]\ndns = ["1.1.1.1", 2]', 'network.dns[1]: must be text in quotes, such as "192.168.1.1"'),
    ('[network]\ninterfce = "eth0"', 'network.interfce: unknown key; did you mean "interface"?'),
    ('[[network.bridges]]\nvlan = 3', 'network.bridges[0].name: missing: add name = "xenbr1"'),
    ('[[network.bridges]]\nname = "b"\nvlan = "3"', "network.bridges[0].vlan: must be a whole number"),
    ('[hosts]\nhostname = "a"', 'hosts: unknown key; did you mean "host"?'),
    ('host = "a"', "host: must be a table, written [host] (found text)"),
    ('[storage]\ndata_disks = ["sdb"]', "storage.data_disks[0] = 'sdb': must be a disk under /dev, best /dev/disk/by-id/<id>"),
    ('[storage]\ndata_disks = ["/dev/disk/by-id/ata-X-part1"]', "is a partition: give the whole disk"),
    ('[storage]\ndata_disks = ["/dev/disk/by-id/a", "/dev/disk/by-id/a"]',
     "storage.data_disks[1] = '/dev/disk/by-id/a': is already listed at storage.data_disks[0]"),
    ('[storage]\nwipe_disks_with_data = "yes"', "storage.wipe_disks_with_data: must be true or false"),
    ('[[storage.pools]]\nname = "p"', 'storage.pools[0].type: missing: add type = "file" | "disk" | "lun" | "lvm" | '
                                      '"iscsi" | "nfs"'),
    ('[[storage.pools]]\nname = "p"\ntype = "zfs"', "storage.pools[0].type = 'zfs': must be one of \"file\", \"disk\""),
    ('[[storage.pools]]\nname = "-p"\ntype = "file"\npath = "/a"', "storage.pools[0].name = '-p': must be 1-64 letters"),
    ('[[storage.pools]]\nname = "p"\ntype = "file"', 'storage.pools[0].path: missing: add path = "/var/lib/xenbox/pools/images"'),
    ('[[storage.pools]]\nname = "p"\ntype = "file"\npath = "pools"', "must be an absolute path without '..'"),
    ('[[storage.pools]]\nname = "p"\ntype = "file"\npath = "/a/../etc"', "must be an absolute path without '..'"),
    ('[[storage.pools]]\nname = "p"\ntype = "file"\npath = "/a"\nserver = "n"',
     "storage.pools[0].server: is for type = \"nfs\" pools; this pool is type = \"file\""),
    ('[[storage.pools]]\nname = "p"\ntype = "disk"', 'storage.pools[0].device: missing: add device = "/dev/disk/by-id/<id>"'),
    ('[[storage.pools]]\nname = "p"\ntype = "lun"\nid = "a b"', "storage.pools[0].id = 'a b': must be the LUN's WWID"),
    ('[[storage.pools]]\nname = "p"\ntype = "lvm"\nvg = "-vg"', "storage.pools[0].vg = '-vg': must be a volume group name"),
    ('[[storage.pools]]\nname = "p"\ntype = "lvm"\nvg = "vg"\ndisks = ["/tmp/x"]', "storage.pools[0].disks[0] = '/tmp/x'"),
    ('[[storage.pools]]\nname = "p"\ntype = "iscsi"\nportal = "nas:99999"\ntarget = "iqn.2004-01.com.example:s"',
     "storage.pools[0].portal = 'nas:99999': must be host or host:port (port 1-65535)"),
    ('[[storage.pools]]\nname = "p"\ntype = "iscsi"\nportal = "-nas"\ntarget = "iqn.2004-01.com.example:s"',
     "storage.pools[0].portal = '-nas': must be a server's name or IP address"),
    ('[[storage.pools]]\nname = "p"\ntype = "iscsi"\nportal = "nas"\ntarget = "storage"',
     "storage.pools[0].target = 'storage': must be an iSCSI name such as iqn.2004-01.com.example:storage"),
    ('[[storage.pools]]\nname = "p"\ntype = "iscsi"\nportal = "[2001:db8::5]:3260"\ntarget = "iqn.2004-01.com.e"\n'
     'chap_password = "pw"', "storage.pools[0].chap_user: missing: CHAP needs both chap_user and chap_password"),
    ('[[storage.pools]]\nname = "p"\ntype = "nfs"\nserver = "nas"\nexport = "/x"\nversion = 4',
     "storage.pools[0].version: must be text in quotes"),
    ('[[storage.pools]]\nname = "p"\ntype = "nfs"\nserver = "nas"\nexport = "/x"\nversion = "5"',
     "storage.pools[0].version = '5': must be one of \"3\", \"4\", \"4.0\", \"4.1\", \"4.2\""),
    ('[[storage.pools]]\nname = "p"\ntype = "nfs"\nserver = "n_s"\nexport = "/x"', "storage.pools[0].server = 'n_s'"),
    ('[[storage.pools]]\nname = "p"\ntype = "nfs"\nserver = "nas"\nexport = "/x"\nport = 70000',
     "storage.pools[0].port = 70000: must be a port, 1-65535 (leave it out for NFS's 2049)"),
    ('[[storage.pools]]\nname = "p"\ntype = "file"\npath = "/x"\nport = 2049',
     "storage.pools[0].port: is for type = \"nfs\" pools; this pool is type = \"file\""),
    ('[[storage.pools]]\nname = "p"\ntype = "file"\npath = "/a"\n[[storage.pools]]\nname = "p"\ntype = "file"\npath = "/b"',
     "storage.pools[1].name = 'p': is already the name of storage.pools[0]"),
    ('[[storage.pools]]\nname = "p"\ntype = "disk"\ndevice = "/dev/disk/by-id/a"\n[storage]\ndata_disks = ["/dev/disk/by-id/a"]',
     "is already listed at storage.data_disks[0]"),
    ('[[appliances]]\nautostart = true', "appliances[0].source: missing: add source = "),
    ('[[appliances]]\nsource = "/mnt/web.tar"', "appliances[0].source = '/mnt/web.tar': must be relative to the answer file"),
    ('[[appliances]]\nsource = "bundles/../../web"', "must be relative to the answer file and stay beside it"),
    ('[[appliances]]\nsource = "web app"', "appliances[0].source = 'web app': must be a bundle folder or .tar"),
    ('[[appliances]]\nsource = "web"\n[[appliances]]\nsource = "web"', "appliances[1].source = 'web': is already installed by appliances[0]"),
    ('[[appliances]]\nsource = "web"\norder = "first"', "appliances[0].order: must be a whole number"),
    ('[[appliances]]\nsource = "web"\npool = "my pool"', "appliances[0].pool = 'my pool': must be "),
    ('appliances = ["web"]', "appliances: must be a list of tables, each written [[appliances]]"),
    ('[network\n', "line 1, column 9:"),
])
def test_each_rule_names_field_value_and_fix(text, expected):
    assert expected in one(text)


def test_kernel_disk_names_are_a_warning_not_an_error():
    answer = parse_answer('[storage]\ndata_disks = ["/dev/sdb"]', "answer.toml")
    assert answer.storage.data_disks == ("/dev/sdb",)
    assert [str(w) for w in answer.warnings] == [
        "storage.data_disks[0] = '/dev/sdb': is a kernel name, which can change between boots (a disk added, a "
        "controller found first): prefer /dev/disk/by-id/<id>"]


@pytest.mark.parametrize("text, words", [
    ('[console]\npassword_hash = "hunter2"', "console.password_hash: is no password hash"),
    ('[console]\npassword_hash = "$1$abc$Kb85XxsXB.VXinPhbS4431"', "console.password_hash: is a MD5 crypt hash"),
    ('[console]\npassword = "hunter2"', "console.password: is never stored as it is typed"),
    ('[console]\npassword_hash = 1234', "console.password_hash: must be text in quotes (found a number)"),
    ('[[storage.pools]]\nname = "p"\ntype = "iscsi"\nportal = "n"\ntarget = "iqn.2004-01.com.e"\nchap_user = "u"\n'
     'chap_password = 1234', "storage.pools[0].chap_password: must be text"),
])
def test_secrets_are_never_quoted_back(text, words):
    message = one(text)
    assert message.startswith(words)
    assert "hunter2" not in message and "1234" not in message and "Kb85" not in message


def test_strong_hashes_are_taken():
    for hashed in (HASH, "$6$salt$" + "a" * 86):
        assert parse_answer(f'[console]\npassword_hash = "{hashed}"', "a").password_hash == hashed


def test_bytes_that_are_no_utf8_and_unreadable_files(tmp_path):
    with pytest.raises(AnswerError, match="line 2: is not UTF-8 text"):
        parse_answer_bytes(b"[host]\nhostname = \"\xff\"", "a.toml")
    assert parse_answer_bytes(b"\xef\xbb\xbf[host]\nhostname = \"a\"", "a.toml").hostname == "a"
    with pytest.raises(AnswerError, match="file: cannot be read: No such file"):
        check_answer(tmp_path / "none.toml")


# ---- disks on this host --------------------------------------------------------------------------------------

def disk(path, stable_id=None, **contents):
    return Disk(path.rsplit("/", 1)[1], path, "disk", 1 << 30, model="QEMU HARDDISK", stable_id=stable_id, **contents)


def test_disk_problems_against_the_hosts_disks():
    answer = parse_answer('[storage]\ndata_disks = ["/dev/disk/by-id/ata-A", "/dev/sdb", "/dev/disk/by-id/ata-C", '
                          '"/dev/sdd", "/dev/disk/by-id/ata-E"]', "a")
    disks = [disk("/dev/sda", "ata-A"), disk("/dev/sdb", fstype="ext4"), disk("/dev/sdc", "ata-C"),
             disk("/dev/sdd", children=(Disk("sdd1", "/dev/sdd1", "part", 1, fstype="vfat", mountpoint="/boot"),))]
    found = [str(p) for p in disk_problems(answer, disks, "/dev/sdc")]
    assert found == [
        "storage.data_disks[1] = '/dev/sdb': holds an ext4 filesystem: set storage.wipe_disks_with_data = true to "
        "erase it, or remove it from the answer file",
        "storage.data_disks[2] = '/dev/disk/by-id/ata-C': is the XenBox boot medium (QEMU HARDDISK, 1 GiB): choose "
        "another disk",
        "storage.data_disks[3] = '/dev/sdd': has /dev/sdd1 mounted at /boot, so it is in use (QEMU HARDDISK, 1 GiB): "
        "choose another disk",
        "storage.data_disks[4] = '/dev/disk/by-id/ata-E': is no disk on this host; its disks are: "
        "/dev/disk/by-id/ata-A, /dev/sdb, /dev/disk/by-id/ata-C, /dev/sdd"]
    wiping = parse_answer('[storage]\nwipe_disks_with_data = true\ndata_disks = ["/dev/sdb"]', "a")
    assert disk_problems(wiping, disks, None) == []


def test_pool_disks_are_checked_too():
    answer = parse_answer('[[storage.pools]]\nname = "v"\ntype = "lvm"\nvg = "vg"\ndisks = ["/dev/sdb"]', "a")
    assert [p.field for p in disk_problems(answer, [disk("/dev/sdb", fstype="ext4")], None)] == [
        "storage.pools[0].disks[0]"]


# ---- where to look ---------------------------------------------------------------------------------------------

def test_sources_in_order():
    mounts = [Volume("/dev/sr0", "XENBOX_BOOT", "/run/boot", boot_medium=True), Volume("/dev/sdb1", "xenbox", None),
              Volume("/dev/sdc1", "DATA", "/mnt/data")]
    assert answer_sources("quiet xenbox.answer=https://deploy/edge-01.toml", mounts) == [
        AnswerSource("the kernel command line (xenbox.answer=https://deploy/edge-01.toml)",
                     "https://deploy/edge-01.toml", required=True),
        AnswerSource("the volume labelled XENBOX (/dev/sdb1)", "/answer.toml", device="/dev/sdb1"),
        AnswerSource("the boot medium (/dev/sr0)", "/run/boot/xenbox/answer.toml")]
    assert [s.location for s in answer_sources("", mounts)] == ["/answer.toml", "/run/boot/xenbox/answer.toml"]
    assert answer_sources('xenbox.answer="/a b.toml" x', [])[0].location == "/a b.toml"
    assert answer_sources("xenbox.answer=/a.toml xenbox.answer=/b.toml", [])[0].location == "/b.toml"
    assert answer_sources("xenbox.answer=off", mounts) == []
    assert answer_sources('xenbox.answer="/x', [])[0].location == '"/x'     # an unbalanced quote: split on spaces


@pytest.mark.parametrize("value", ["answer.toml", "ftp://host/a.toml", "http"])
def test_unusable_command_line_sources_say_why(value):
    (source,) = answer_sources(f"xenbox.answer={value}", [])
    assert source.required and "takes an absolute path" in source.problem


# ---- xenbox answer check ---------------------------------------------------------------------------------------

def run(argv, capsys):
    import argparse
    parser = argparse.ArgumentParser(prog="xenbox")
    add_commands(parser.add_subparsers(dest="group"))
    args = parser.parse_args(argv)
    code = args.handler(args, None)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_check_command_valid_and_invalid(tmp_path, capsys):
    code, out, _ = run(["answer", "check", str(EXAMPLE)], capsys)
    assert code == 0 and "is a valid answer file" in out and "hostname: edge-01" in out
    bad = tmp_path / "answer.toml"
    bad.write_text('[host]\nhostname = "-a"\n[network]\nipv4 = "x"\n[storage]\ndata_disks = ["/dev/sdb"]\n')
    code, out, err = run(["answer", "check", str(bad)], capsys)
    assert code == 1 and f"{bad}: 2 problems" in err and "host.hostname" in err and "network.ipv4" in err
    assert "warning: storage.data_disks[0]" in err
    code, out, _ = run(["answer", "check", "--json", str(bad)], capsys)
    report = json.loads(out)
    assert code == 1 and report["valid"] is False
    assert [p["field"] for p in report["problems"]] == ["host.hostname", "network.ipv4"]
    assert report["warnings"][0]["value"] == "/dev/sdb"
    code, out, _ = run(["answer", "check", "--json", str(EXAMPLE)], capsys)
    assert code == 0 and json.loads(out)["valid"] is True
