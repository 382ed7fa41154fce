"""iSCSI disks through open-iscsi's `iscsiadm`: discovery, login (CHAP optional), logout, sessions."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from hypervisor import runner
from hypervisor.runner import ParseError
from hypervisor.storage import StorageError, explain

ISCSIADM_NO_SESSIONS = 21      # `iscsiadm -m session` with none, `--logout` of a target not logged in


@dataclass(frozen=True)
class Target:
    portal: str          # 127.0.0.1:3260, [fe80::1]:3260
    tpgt: int            # target portal group tag
    iqn: str


@dataclass(frozen=True)
class Chap:
    username: str
    password: str = field(repr=False)      # never in a log line or a traceback


@dataclass(frozen=True)
class Session:
    sid: int
    portal: str
    iqn: str
    transport: str = "tcp"
    state: str | None = None               # LOGGED_IN, FAILED, FREE (from -P 3)
    disks: tuple[str, ...] = ()            # kernel names: sdd, sde (from -P 3)


def _portal_target(text: str, line: str) -> Target:
    """'127.0.0.1:3260,1 iqn....' -> Target."""
    address, _, iqn = text.strip().partition(" ")
    portal, sep, tpgt = address.rpartition(",")
    if not sep or not iqn or not tpgt.isdigit():
        raise ParseError(f"unexpected line in iscsiadm output: {line!r}")
    return Target(portal, int(tpgt), iqn.split()[0])


def parse_discovery(text: str) -> list[Target]:
    """`iscsiadm -m discovery -t sendtargets -p PORTAL`: 'portal,tpgt iqn' lines."""
    return [_portal_target(line, line) for line in text.splitlines() if line.strip()]


SESSION_LINE = re.compile(r"(?P<transport>\S+): \[(?P<sid>\d+)\] (?P<rest>.*?)(?: \((?:non-)?flash\))?$")


def parse_sessions(text: str) -> list[Session]:
    """`iscsiadm -m session`: 'tcp: [1] 127.0.0.1:3260,1 iqn... (non-flash)'."""
    sessions = []
    for line in text.splitlines():
        if not line.strip():
            continue
        match = SESSION_LINE.match(line.strip())
        if not match:
            raise ParseError(f"unexpected line in `iscsiadm -m session` output: {line!r}")
        target = _portal_target(match["rest"], line)
        sessions.append(Session(int(match["sid"]), target.portal, target.iqn, match["transport"]))
    return sessions


def parse_session_details(text: str) -> list[Session]:
    """`iscsiadm -m session -P 3`: per target, its portal, SID, state and the SCSI disks attached."""
    sessions, fields, disks = [], {}, []

    def close():
        if fields:
            try:
                sessions.append(Session(int(fields["SID"]), fields["Current Portal"].rsplit(",", 1)[0], fields["Target"],
                                        fields.get("Iface Transport", "tcp"), fields.get("iSCSI Session State"), tuple(disks)))
            except (KeyError, ValueError) as error:
                raise ParseError(f"`iscsiadm -m session -P 3` output lacks {error} for target {fields.get('Target')}") from error

    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if key == "Target" and sep:
            close()
            fields, disks = {"Target": value.split()[0]}, []
        elif line.strip().startswith("Attached scsi disk"):
            disks.append(line.split()[3])
        elif sep and fields and key not in fields:
            fields[key] = value.strip()
    close()
    return sessions


class Iscsi:
    def __init__(self, run: runner.Runner = runner.run) -> None:
        self._run = run

    def _iscsiadm(self, args: list[str], known: list[tuple[str, str]], timeout: float = 60) -> str:
        try:
            return self._run(["iscsiadm", *args], timeout=timeout)
        except runner.CommandError as error:
            known = [*known,
                     ("iSCSI driver not found", "the kernel's iSCSI initiator is not loaded: load it with `modprobe iscsi_tcp`"),
                     ("can not connect to iSCSI daemon", "the iSCSI daemon (iscsid) is not running: start it with `iscsid`")]
            raise StorageError(explain(error, known)) from error

    def discover(self, portal: str) -> list[Target]:
        return parse_discovery(self._iscsiadm(["-m", "discovery", "-t", "sendtargets", "-p", portal], [
            ("cannot make connection", f"no iSCSI target answers at {portal}: check the address and port, "
                                       "and that the storage is switched on")], timeout=120))

    def add_node(self, target: str, portal: str) -> None:
        """The node record a login needs, for the portal as this host reaches it: discovery records
        the portal the target announces, which behind NAT or on a multi-homed SAN is another one."""
        self._iscsiadm(["-m", "node", "-o", "new", "-T", target, "-p", portal], [])

    def login(self, target: str, portal: str, chap: Chap | None = None) -> None:
        node = ["-m", "node", "-T", target, "-p", portal]
        unknown = [("No records found", f"{target} was not found at {portal}: discover the portal first")]
        if chap:
            for name, value in (("authmethod", "CHAP"), ("username", chap.username), ("password", chap.password)):
                self._iscsiadm([*node, "-o", "update", "-n", f"node.session.auth.{name}", "-v", value], unknown)
        self._iscsiadm([*node, "--login"], [
            ("authorization failure", f"{target} at {portal} refused the login: "
                                      + ("check the CHAP user name and password" if chap else "it needs a CHAP user name and password")),
            ("already present", f"{target} is already attached"), *unknown], timeout=120)

    def logout(self, target: str, portal: str) -> None:
        """Detaching a target that is not attached is not an error."""
        try:
            self._run(["iscsiadm", "-m", "node", "-T", target, "-p", portal, "--logout"], timeout=60)
        except runner.CommandError as error:
            if error.returncode != ISCSIADM_NO_SESSIONS:
                raise StorageError(explain(error, [("in use", f"{target} is in use: stop the guests using its disks first")])) from error

    def sessions(self) -> list[Session]:
        try:
            return parse_session_details(self._run(["iscsiadm", "-m", "session", "-P", "3"], timeout=30))
        except runner.CommandError as error:
            if error.returncode == ISCSIADM_NO_SESSIONS:
                return []
            raise StorageError(explain(error, [])) from error
