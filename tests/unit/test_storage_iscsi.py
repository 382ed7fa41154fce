"""iscsiadm output captured in the VM against a tgt target on 127.0.0.1 (store1 with two LUNs, secure with CHAP),
and the argv `Iscsi` builds, through a recording runner (the boundary)."""
import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.iscsi import Chap, Iscsi, parse_discovery, parse_session_details, parse_sessions
from test_storage_support import Replay, failure, fixture

STORE1, SECURE = "iqn.2025-11.org.xenbox.test:store1", "iqn.2025-11.org.xenbox.test:secure"


def test_discovery_lists_targets():
    targets = parse_discovery(fixture("vm/iscsiadm-discovery.txt"))
    assert [(t.portal, t.tpgt, t.iqn) for t in targets] == [("127.0.0.1:3260", 1, STORE1), ("127.0.0.1:3260", 1, SECURE)]


def test_sessions_short_and_detailed():
    assert [(s.sid, s.portal, s.iqn) for s in parse_sessions(fixture("vm/iscsiadm-session.txt"))] == [
        (1, "127.0.0.1:3260", STORE1), (4, "127.0.0.1:3260", SECURE)]
    detailed = parse_session_details(fixture("vm/iscsiadm-session-P3.txt"))
    assert [(s.sid, s.iqn, s.state, s.disks) for s in detailed] == [
        (1, STORE1, "LOGGED_IN", ("sdd", "sde")), (4, SECURE, "LOGGED_IN", ("sdf",))]


def test_login_with_chap_sets_the_node_then_logs_in():
    run = Replay()
    Iscsi(run).login(SECURE, "127.0.0.1:3260", Chap("xenbox", "s3cretpass123"))
    node = ["iscsiadm", "-m", "node", "-T", SECURE, "-p", "127.0.0.1:3260"]
    assert run.calls == [
        [*node, "-o", "update", "-n", "node.session.auth.authmethod", "-v", "CHAP"],
        [*node, "-o", "update", "-n", "node.session.auth.username", "-v", "xenbox"],
        [*node, "-o", "update", "-n", "node.session.auth.password", "-v", "s3cretpass123"],
        [*node, "--login"]]


def test_discover_logout_and_sessions_argv():
    run = Replay({("iscsiadm", "-m", "discovery"): "vm/iscsiadm-discovery.txt",
                  ("iscsiadm", "-m", "session"): "vm/iscsiadm-session-P3.txt"})
    assert len(Iscsi(run).discover("127.0.0.1")) == 2
    Iscsi(run).logout(STORE1, "127.0.0.1:3260")
    assert Iscsi(run).sessions()[0].disks == ("sdd", "sde")
    assert run.calls == [["iscsiadm", "-m", "discovery", "-t", "sendtargets", "-p", "127.0.0.1"],
                         ["iscsiadm", "-m", "node", "-T", STORE1, "-p", "127.0.0.1:3260", "--logout"],
                         ["iscsiadm", "-m", "session", "-P", "3"]]


def raising(capture):
    """Fails as the captured command did; the CHAP settings written before a login succeed."""
    def run(argv, *, input=None, timeout=60):
        if "update" not in argv:
            raise failure(argv, capture)
        return ""
    return run


def test_nothing_to_log_out_of_and_no_sessions_are_not_errors():
    Iscsi(raising("vm/iscsiadm-logout-not-logged-in.txt")).logout(STORE1, "127.0.0.1:3260")
    assert Iscsi(raising("vm/iscsiadm-session-none.txt")).sessions() == []


@pytest.mark.parametrize("capture, call, sentence", [
    ("vm/iscsiadm-login-bad-chap.txt", lambda i: i.login(SECURE, "127.0.0.1:3260", Chap("xenbox", "wrong")),
     f"{SECURE} at 127.0.0.1:3260 refused the login: check the CHAP user name and password"),
    ("vm/iscsiadm-login-no-chap.txt", lambda i: i.login(SECURE, "127.0.0.1:3260"),
     f"{SECURE} at 127.0.0.1:3260 refused the login: it needs a CHAP user name and password"),
    ("vm/iscsiadm-login-unknown-target.txt", lambda i: i.login("iqn.2025-11.org.xenbox.test:nope", "127.0.0.1:3260"),
     "iqn.2025-11.org.xenbox.test:nope was not found at 127.0.0.1:3260: discover the portal first"),
    ("vm/iscsiadm-discovery-refused.txt", lambda i: i.discover("127.0.0.1:3261"),
     "no iSCSI target answers at 127.0.0.1:3261: check the address and port, and that the storage is switched on"),
    ("host/iscsiadm-discovery-no-driver.txt", lambda i: i.discover("127.0.0.1"),
     "the kernel's iSCSI initiator is not loaded: load it with `modprobe iscsi_tcp`"),
])
def test_iscsi_failures_become_sentences(capture, call, sentence):
    with pytest.raises(StorageError) as error:
        call(Iscsi(raising(capture)))
    assert str(error.value) == sentence
