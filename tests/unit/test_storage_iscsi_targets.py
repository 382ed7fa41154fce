"""The iSCSI targets a host keeps and attaches: iscsiadm's answers replayed from a VM that had a real
target (tgt) on loopback (the boundary; the e2e storage test attaches a real target over the network),
the kept list and the initiator name real files in a temporary folder."""
import tomllib

import pytest

from hypervisor.runner import CommandError
from hypervisor.storage import StorageError
from hypervisor.storage.iscsi import Chap
from hypervisor.storage.iscsi_targets import IscsiTarget, IscsiTargets, read_targets, with_port, write_targets
from test_storage_support import Replay, failure

STORE1 = "iqn.2025-11.org.xenbox.test:store1"
SECURE = "iqn.2025-11.org.xenbox.test:secure"
NO_SESSIONS = CommandError(("iscsiadm",), 21, "iscsiadm: No active sessions.")
DAEMON_DOWN = CommandError(("pidof", "iscsid"), 1, "")


class Iscsiadm(Replay):
    """Sessions appear once a login has been made, as they do on a host."""

    def __init__(self, answers, daemon_running=True):
        super().__init__({("iscsiadm", "-m", "discovery"): "vm/iscsiadm-discovery.txt", **answers})
        self.logged_in = False
        self.daemon_running = daemon_running

    def __call__(self, argv, *, input=None, timeout=60):
        if argv[:2] == ["pidof", "iscsid"] and not self.daemon_running:
            self.calls.append(list(argv))
            raise DAEMON_DOWN
        if argv[:4] == ["iscsiadm", "-m", "session", "-P"] and not self.logged_in:
            self.calls.append(list(argv))
            raise NO_SESSIONS
        answer = super().__call__(argv, input=input, timeout=timeout)
        self.logged_in = self.logged_in or "--login" in argv
        return answer


def targets(tmp_path, run, stored=True):
    return IscsiTargets(run, config=tmp_path / "config" / "iscsi.toml", initiator=tmp_path / "config" / "iname",
                        etc=tmp_path / "etc-iscsi", sleep=lambda seconds: None, stored=lambda: stored)


def test_a_portal_without_a_port_gets_iscsis_own():
    assert with_port("10.0.2.2") == "10.0.2.2:3260"
    assert with_port("10.0.2.2:3261") == "10.0.2.2:3261"
    assert with_port("[2001:db8::5]") == "[2001:db8::5]:3260"
    assert with_port("[2001:db8::5]:3261") == "[2001:db8::5]:3261"


def test_adding_a_target_logs_in_and_keeps_it_only_then(tmp_path):
    run = Iscsiadm({("iscsiadm", "-m", "node"): "vm/iscsiadm-login.txt",
                    ("iscsiadm", "-m", "session", "-P", "3"): "vm/iscsiadm-session-P3.txt"})
    said = []
    disks = targets(tmp_path, run).add("san", "127.0.0.1", STORE1, None, said.append)
    assert disks == ["sdd", "sde"]
    # The node record for the portal as given (a target behind NAT announces another), then the login.
    new = ["iscsiadm", "-m", "node", "-o", "new", "-T", STORE1, "-p", "127.0.0.1:3260"]
    login = ["iscsiadm", "-m", "node", "-T", STORE1, "-p", "127.0.0.1:3260", "--login"]
    assert run.calls.index(new) < run.calls.index(login)
    assert said == [f"iSCSI san: attached {STORE1} at 127.0.0.1:3260, disks: sdd, sde"]
    kept = tomllib.loads((tmp_path / "config" / "iscsi.toml").read_text())
    assert kept["targets"] == [{"name": "san", "portal": "127.0.0.1:3260", "target": STORE1}]
    assert (tmp_path / "config" / "iscsi.toml").stat().st_mode & 0o777 == 0o600


def test_a_refused_login_keeps_nothing_and_says_why(tmp_path):
    run = Iscsiadm({("iscsiadm", "-m", "node", "-T", SECURE, "-p", "127.0.0.1:3260", "--login"):
                    failure(["iscsiadm"], "vm/iscsiadm-login-bad-chap.txt")})
    with pytest.raises(StorageError, match=f"^{SECURE} at 127.0.0.1:3260 refused the login: check the CHAP user"):
        targets(tmp_path, run).add("vault", "127.0.0.1:3260", SECURE, Chap("xenbox", "wrong"), lambda line: None)
    assert not (tmp_path / "config" / "iscsi.toml").exists()
    assert ["iscsiadm", "-m", "node", "-T", SECURE, "-p", "127.0.0.1:3260", "-o", "update", "-n",
            "node.session.auth.password", "-v", "wrong"] in run.calls


def test_a_target_the_portal_does_not_offer_is_named_with_those_it_does(tmp_path):
    with pytest.raises(StorageError, match=r"^the portal 127.0.0.1:3260 offers no target iqn.2025-11.org.xenbox."
                                           rf"test:nope \(it offers: {STORE1}, {SECURE}\)"):
        targets(tmp_path, Iscsiadm({})).add("san", "127.0.0.1", "iqn.2025-11.org.xenbox.test:nope", None,
                                            lambda line: None)


@pytest.mark.parametrize("name, portal, iqn, message", [
    ("my san", "127.0.0.1", STORE1, "is not a usable name"),
    ("san", "http://x/", STORE1, "is not a portal"),
    ("san", "127.0.0.1", "store1", "is not an iSCSI name"),
])
def test_bad_names_are_refused_before_anything_is_run(tmp_path, name, portal, iqn, message):
    run = Iscsiadm({})
    with pytest.raises(StorageError, match=message):
        targets(tmp_path, run).add(name, portal, iqn, None, lambda line: None)
    assert run.calls == []


def test_without_a_data_store_nothing_is_attached(tmp_path):
    run = Iscsiadm({})
    with pytest.raises(StorageError, match="this host has no data store to keep the target on"):
        targets(tmp_path, run, stored=False).add("san", "127.0.0.1", STORE1, None, lambda line: None)
    assert run.calls == []


def test_the_daemon_is_started_once_with_a_name_made_for_this_host_and_kept(tmp_path):
    (tmp_path / "config").mkdir()
    run = Iscsiadm({}, daemon_running=False)
    targets(tmp_path, run).discover("127.0.0.1")
    assert [c for c in run.calls if c[0] in ("modprobe", "iscsid")] == [["modprobe", "-q", "iscsi_tcp"], ["iscsid"]]
    name = (tmp_path / "config" / "iname").read_text().strip()
    assert name.startswith("iqn.2026-11.org.xenbox:") and len(name) > len("iqn.2026-11.org.xenbox:") + 8
    assert (tmp_path / "etc-iscsi" / "initiatorname.iscsi").read_text() == f"InitiatorName={name}\n"
    assert targets(tmp_path, run).initiator_name() == name


def test_at_boot_a_target_that_cannot_be_attached_is_reported_and_the_others_are(tmp_path):
    write_targets([IscsiTarget("gone", "10.9.9.9:3260", "iqn.2025-11.org.xenbox.test:gone"), IscsiTarget("san", "127.0.0.1:3260", STORE1)],
                  tmp_path / "config" / "iscsi.toml")
    run = Iscsiadm({("iscsiadm", "-m", "discovery", "-t", "sendtargets", "-p", "10.9.9.9:3260"):
                    failure(["iscsiadm"], "vm/iscsiadm-discovery-refused.txt"),
                    ("iscsiadm", "-m", "node"): "vm/iscsiadm-login.txt",
                    ("iscsiadm", "-m", "session", "-P", "3"): "vm/iscsiadm-session-P3.txt"})
    said, slept = [], []
    host = targets(tmp_path, run)
    host._sleep = slept.append
    assert host.attach_all(said.append) == ["gone"]
    assert said[0] == f"iSCSI san: attached {STORE1} at 127.0.0.1:3260, disks: sdd, sde"
    assert said[1] == "iSCSI gone: not reachable yet; trying again for a minute"
    assert sum(slept) == 55 and len(said) == 3           # tried 12 times, 5 s apart, then given up on
    assert said[2].startswith("iSCSI gone: NOT attached: no iSCSI target answers at 10.9.9.9:3260")
    assert said[2].endswith("appliances with disks on it will not start")


def test_the_kept_list_round_trips_with_chap_and_a_broken_one_is_named(tmp_path):
    path = tmp_path / "iscsi.toml"
    kept = [IscsiTarget("vault", "[2001:db8::5]:3260", SECURE, Chap("xen\"box", "s3cret"))]
    write_targets(kept, path)
    assert read_targets(path) == kept
    path.write_text("[[targets]]\nname = 'x'\n")
    with pytest.raises(StorageError) as refused:
        read_targets(path)
    assert str(refused.value) == (f'{path}: 2 problems\n  targets[0].portal: missing: add portal = "192.168.1.5:3260"\n'
                                  f'  targets[0].target: missing: add target = "iqn.2004-01.com.example:storage"\n'
                                  "to fix: correct these keys")


def test_removing_a_target_logs_out_and_forgets_it(tmp_path):
    write_targets([IscsiTarget("san", "127.0.0.1:3260", STORE1)], tmp_path / "config" / "iscsi.toml")
    run = Iscsiadm({("iscsiadm", "-m", "node"): "vm/iscsiadm-logout.txt"})
    said = []
    targets(tmp_path, run).remove("san", said.append)
    assert ["iscsiadm", "-m", "node", "-T", STORE1, "-p", "127.0.0.1:3260", "--logout"] in run.calls
    assert read_targets(tmp_path / "config" / "iscsi.toml") == []
    assert said == ["iSCSI san: detached and forgotten"]
