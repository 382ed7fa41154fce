"""iSCSI targets this host attaches, kept in config/iscsi.toml on the data store and attached
again at every boot. Their LUNs become local disks (sdX, no udev) that appliances name by their
stable id (`device = "wwn-0x6..."`), as any host disk.

open-iscsi needs its daemon and an initiator name, and dom0 starts neither: the name is made once
per host (a random one, kept on the data store: every box booting the same image must not share
one), and iscsid is started the first time a target is attached.
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor import runner
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.fields import TableReader
from hypervisor.settings.names import NAME, NAME_VALID
from hypervisor.settings.problems import Problem, repeated_names
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import StorageError
from hypervisor.storage.config_files import KeptFileProblems, read_toml
from hypervisor.storage.datastore import MOUNTPOINT, DataStore
from hypervisor.storage.iscsi import Chap, Iscsi
from hypervisor.storage.retry import attach_with_retries

CONFIG = MOUNTPOINT / "config" / "iscsi.toml"
INITIATOR = MOUNTPOINT / "config" / "iscsi-initiatorname"
SECRETS = ("chap_password",)
PORTAL = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[^\s\[\]:/]+)(?::[0-9]{1,5})?")
# An iSCSI name (RFC 3720 3.2.6): the one rule for iscsi.toml and an answer file's iscsi pools.
IQN = re.compile(r"iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9][a-z0-9.-]*(:[^\s]+)?|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32}")
IQN_EXAMPLE = "iqn.2004-01.com.example:storage"
IQN_VALID = f"an iSCSI name such as {IQN_EXAMPLE} (or eui./naa.)"
DEFAULT_PORT = 3260
DISKS_APPEAR_SECONDS = 20      # after a login the kernel scans the LUNs; under emulation that takes seconds
Say = Callable[[str], None]


@dataclass(frozen=True)
class IscsiTarget:
    name: str            # the operator's name for it: "san"
    portal: str          # host:port
    iqn: str
    chap: Chap | None = None


def with_port(portal: str) -> str:
    """192.168.1.5 -> 192.168.1.5:3260; [2001:db8::5] -> [2001:db8::5]:3260; a port given is kept."""
    host_part = portal.rsplit("]", 1)[-1]
    return portal if ":" in host_part else f"{portal}:{DEFAULT_PORT}"


def read_targets(path: Path = CONFIG) -> list[IscsiTarget]:
    """The targets kept in `path` ([] when there is none); KeptFileProblems, every one, if any is wrong.
    The file holds CHAP secrets: its problems name key paths and never quote what was found."""
    problems: list[Problem] = []
    doc = TableReader(read_toml(path), "", problems, secrets=SECRETS)
    targets = [_target(table) for table in doc.tables("targets")]
    doc.finish()
    problems += repeated_names("targets", [target.name if target else None for target in targets])
    if problems:
        raise KeptFileProblems(path, problems)
    return [target for target in targets if target is not None]


def _target(table: TableReader) -> IscsiTarget | None:
    name = table.string("name", 'add name = "san"', pattern=NAME, valid=NAME_VALID)
    portal = table.string("portal", 'add portal = "192.168.1.5:3260"', pattern=PORTAL,
                          valid="host or host:port, such as 192.168.1.5:3260")
    iqn = table.string("target", f'add target = "{IQN_EXAMPLE}"', pattern=IQN, valid=IQN_VALID)
    user, password = table.string("chap_user"), table.string("chap_password")
    for key, other in (("chap_user", "chap_password"), ("chap_password", "chap_user")):
        if key in table.data and other not in table.data:
            table.problem(other, None, "missing: CHAP needs both chap_user and chap_password, or neither")
    table.finish()
    if name is None or portal is None or iqn is None:
        return None
    return IscsiTarget(name, with_port(portal), iqn, Chap(user, password) if user and password else None)


def _entry(target: IscsiTarget) -> dict:
    return {"name": target.name, "portal": target.portal, "target": target.iqn,
            **({"chap_user": target.chap.username, "chap_password": target.chap.password} if target.chap else {})}


def write_targets(targets: list[IscsiTarget], path: Path = CONFIG) -> None:
    entries = [_entry(t) for t in targets]
    # Mode 600 from its first byte (settings.atomic): it holds CHAP secrets.
    write_atomically(path, "# iSCSI targets this host attaches at boot. Change with `xenbox storage iscsi "
                           "add|remove`.\n\n" + (dumps({"targets": entries}) if entries else ""))


class IscsiTargets:
    def __init__(self, run: runner.Runner = runner.run, config: Path = CONFIG, initiator: Path = INITIATOR,
                 etc: Path = Path("/etc/iscsi"), sleep: Callable[[float], None] = time.sleep,
                 stored: Callable[[], bool] | None = None) -> None:
        self._run = run
        self._iscsi = Iscsi(run)
        self.config = config
        self._initiator = initiator
        self._etc = etc
        self._sleep = sleep
        self._stored = stored or DataStore(run).is_mounted      # is there a data store to keep targets on

    def list(self) -> list[IscsiTarget]:
        return read_targets(self.config)

    def discover(self, portal: str) -> list[str]:
        self._start_daemon()
        return [target.iqn for target in self._iscsi.discover(with_port(portal))]

    def add(self, name: str, portal: str, iqn: str, chap: Chap | None, say: Say) -> list[str]:
        """Attach the target now, and keep it only if that worked. Returns its disks (sdb, ...)."""
        target = self._new(name, portal, iqn, chap)
        disks = self.attach(target, say)
        write_targets([*self.list(), target], self.config)
        return disks

    def keep(self, name: str, portal: str, iqn: str, chap: Chap | None) -> None:
        """Keep the target without attaching it now (an answer file: boot attaches it next, with retries)."""
        write_targets([*self.list(), self._new(name, portal, iqn, chap)], self.config)

    def _new(self, name: str, portal: str, iqn: str, chap: Chap | None) -> IscsiTarget:
        if not NAME.fullmatch(name):
            raise StorageError(f"{name!r} is not a usable name: use {NAME_VALID}")
        if not PORTAL.fullmatch(portal):
            raise StorageError(f"{portal!r} is not a portal: give host or host:port, e.g. 192.168.1.5:3260")
        if not IQN.fullmatch(iqn):
            raise StorageError(f"{iqn!r} is not an iSCSI name: give one such as iqn.2004-01.com.example:storage")
        if not self._stored():
            raise StorageError("this host has no data store to keep the target on: set one up first "
                               "(Storage screen, key t)")
        if any(t.name == name for t in self.list()):
            raise StorageError(f"there is already an iSCSI target named {name}: remove it first, or choose another name")
        target = IscsiTarget(name, with_port(portal), iqn, chap)
        problems: list[Problem] = []
        _target(TableReader(_entry(target), "", problems, secrets=SECRETS))    # kept only if the boot reads it back
        if problems:
            raise StorageError(f"iSCSI target {name}: {problems[0]}")
        return target

    def remove(self, name: str, say: Say) -> None:
        targets = self.list()
        found = [t for t in targets if t.name == name]
        if not found:
            raise StorageError(f"there is no iSCSI target named {name}: `xenbox storage iscsi list` lists them")
        self._iscsi.logout(found[0].iqn, found[0].portal)     # refused while a guest uses one of its disks
        write_targets([t for t in targets if t.name != name], self.config)
        say(f"iSCSI {name}: detached and forgotten")

    def attach(self, target: IscsiTarget, say: Say) -> list[str]:
        """Discover the portal and log in to the target (already logged in is fine)."""
        self._start_daemon()
        attached = [s for s in self._iscsi.sessions() if s.iqn == target.iqn]
        if not attached:
            found = self._iscsi.discover(target.portal)
            if not any(t.iqn == target.iqn for t in found):
                offered = ", ".join(t.iqn for t in found) or "none"
                raise StorageError(f"the portal {target.portal} offers no target {target.iqn} (it offers: {offered}): "
                                   "check the target name")
            self._iscsi.add_node(target.iqn, target.portal)
            self._iscsi.login(target.iqn, target.portal, target.chap)
        disks = self._disks_of(target.iqn)
        say(f"iSCSI {target.name}: attached {target.iqn} at {target.portal}, "
            f"disks: {', '.join(disks) if disks else 'none yet'}")
        return disks

    def attach_all(self, say: Say) -> list[str]:
        """At boot: every kept target; returns the names of those that failed (each said with its reason).
        An iscsi.toml or initiator name that cannot be used raises KeptFileProblems before any login."""
        pending = self.list()
        if pending:
            self.initiator_name()
        return list(attach_with_retries(pending, lambda target: self.attach(target, say),
                                        lambda target: target.name, "iSCSI", say, self._sleep))

    def _disks_of(self, iqn: str) -> list[str]:
        """The target's disks, once the kernel has scanned its LUNs."""
        deadline = time.monotonic() + DISKS_APPEAR_SECONDS
        while True:
            disks = [disk for s in self._iscsi.sessions() if s.iqn == iqn for disk in s.disks]
            if disks or time.monotonic() > deadline:
                return disks
            self._sleep(1)

    def _start_daemon(self) -> None:
        """iscsid with this host's initiator name: started once, by the first caller."""
        try:
            self._run(["pidof", "iscsid"], timeout=10)
            return
        except runner.CommandError:
            pass
        name_file = self._etc / "initiatorname.iscsi"
        name_file.parent.mkdir(parents=True, exist_ok=True)
        name_file.write_text(f"InitiatorName={self.initiator_name()}\n")
        try:
            self._run(["modprobe", "-q", "iscsi_tcp"], timeout=30)
            self._run(["iscsid"], timeout=30)        # forks into the background once it listens
        except runner.CommandError as error:
            raise StorageError(f"the iSCSI daemon could not be started ({error.sentence})") from error

    def initiator_name(self) -> str:
        """This host's iSCSI name, made once and kept on the data store (targets' ACLs name it)."""
        try:
            kept = self._initiator.read_text().strip()
        except FileNotFoundError:
            kept = None
        except (OSError, UnicodeDecodeError) as error:
            raise KeptFileProblems(self._initiator, [Problem("file", None, f"cannot be read: {error}")]) from None
        if kept is not None:
            if not IQN.fullmatch(kept):
                raise KeptFileProblems(self._initiator, [Problem("line 1", kept, "must be this host's iSCSI name "
                                                                 "alone, such as iqn.2026-11.org.xenbox:0123456789ab")])
            return kept
        name = f"iqn.2026-11.org.xenbox:{secrets.token_hex(6)}"
        if self._initiator.parent.is_dir():
            write_atomically(self._initiator, name + "\n")
        return name
