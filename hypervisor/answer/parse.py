"""An answer file (`answer.toml`): the whole host set up with no keystrokes, read strictly.

Every problem in the file is collected and raised as one AnswerError, each naming its field, the value
found and what would be valid: a file with any problem is refused before anything on the host changes.
Secrets (console.password_hash, chap_password) are never quoted back.
"""
from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from hypervisor.settings.fields import TableReader
from hypervisor.settings.names import NAME, NAME_VALID
from hypervisor.settings.problems import FileProblems, Problem, repeated_names
from hypervisor.settings.toml_file import syntax_problem
from hypervisor.network.config import (IPV4_MODES, IPV6_MODES, Addressing, Bridge, NetworkConfig, hostname_problem,
                                       validate)
from hypervisor.host.password import weakness
from hypervisor.host.serial_port import SerialPort, SerialPortError, parse_serial
from hypervisor.storage import lvm, nfs
from hypervisor.storage.disks import Disk, holds_data, never_erased
from hypervisor.storage.iscsi import Chap
from hypervisor.storage.iscsi_targets import IQN, IQN_EXAMPLE, IQN_VALID

SECRETS = ("password", "password_hash", "chap_password")      # never quoted back
POOL_KEYS = {"file": ("path",), "disk": ("device",), "lun": ("id",), "lvm": ("vg", "disks"),
             "iscsi": ("portal", "target", "chap_user", "chap_password"), "nfs": ("server", "export", "version", "port")}
STABLE = ("/dev/disk/by-id/", "/dev/disk/by-path/")
PORTAL = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s\[\]:/]+)(?::(?P<port>[0-9]{1,5}))?")
LUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


class AnswerError(FileProblems):
    """Every problem of one answer file: FileProblems, so the CLI reports it the same way."""

    def __init__(self, source: str, problems: list[Problem], warnings: list[Problem] = ()) -> None:
        self.warnings = list(warnings)
        super().__init__(source, problems)


@dataclass(frozen=True)
class RequestedPool:
    """A pool the answer file asks for ([[storage.pools]]): made or attached at first boot."""
    name: str
    type: str                              # file | disk | lun | lvm | iscsi | nfs
    path: str | None = None                # file: the folder holding its images
    device: str | None = None              # disk: the whole disk it takes
    lun_id: str | None = None              # lun: the LUN's WWID or by-id name
    vg: str | None = None                  # lvm: the volume group
    disks: tuple[str, ...] = ()            # lvm: disks to make it from; none: it exists already
    portal: str | None = None              # iscsi: host[:port]
    target: str | None = None              # iscsi: the target's IQN
    chap: Chap | None = field(default=None, repr=False)
    server: str | None = None              # nfs
    export: str | None = None              # nfs: the exported path
    nfs_version: str | None = None         # nfs: None lets mount choose
    nfs_port: int | None = None            # nfs: None is the standard 2049


@dataclass(frozen=True)
class Storage:
    data_disks: tuple[str, ...] = ()
    wipe_disks_with_data: bool = False     # initialise listed disks even when they hold data
    pools: tuple[RequestedPool, ...] = ()

    @property
    def initialised(self) -> list[tuple[str, str]]:
        """(field, device) for every disk the answer file has XenBox write over."""
        disks = [(f"storage.data_disks[{i}]", d) for i, d in enumerate(self.data_disks)]
        for index, pool in enumerate(self.pools):
            where = f"storage.pools[{index}]"
            disks += [(f"{where}.device", pool.device)] if pool.device else []
            disks += [(f"{where}.disks[{i}]", d) for i, d in enumerate(pool.disks)]
        return disks


@dataclass(frozen=True)
class Appliance:
    source: str                  # a bundle folder or .tar relative to the answer file, or a built-in appliance
    autostart: bool | None       # None: as the appliance's own manifest says
    order: int | None
    pool: str | None = None      # where its disk images go as volumes; None: local (the data store's VG)


@dataclass(frozen=True)
class Answer:
    source: str
    network: NetworkConfig
    storage: Storage
    password_hash: str | None = field(repr=False)      # None: the console keeps its current login
    appliances: tuple[Appliance, ...]
    warnings: tuple[Problem, ...] = ()
    serial: SerialPort | None = None                   # None: the boot menu's choice (COM1 at 115200) stays

    @property
    def hostname(self) -> str | None:
        return self.network.hostname


def check_answer(path: Path | str) -> Answer:
    """Read and check an answer file (`xenbox answer check FILE`)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise AnswerError(str(path), [Problem("file", None, f"cannot be read: {error.strerror}")]) from None
    return parse_answer_bytes(data, str(path))


def parse_answer_bytes(data: bytes, source: str) -> Answer:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise AnswerError(source, [Problem(f"line {line}", None, "is not UTF-8 text; save the file as UTF-8")]) from None
    return parse_answer(text, source)


def parse_answer(text: str, source: str) -> Answer:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AnswerError(source, [syntax_problem(str(error))]) from None
    except RecursionError:
        raise AnswerError(source, [Problem("toml", None, "is nested too deeply to be read")]) from None
    problems: list[Problem] = []
    warnings: list[Problem] = []
    doc = TableReader(data, "", problems, secrets=SECRETS)       # never quoted back, nor unknown keys' values
    hostname = _host(doc)
    network = _network(doc, hostname)
    storage = _storage(doc, warnings)
    password_hash, serial = _console(doc)
    appliances = _appliances(doc)
    doc.finish()
    problems += _unnamed(validate(network), problems)
    order = {section: index for index, section in enumerate(data)}     # the file's order, a section's problems together
    problems.sort(key=lambda problem: order.get(re.split(r"[.\[]", problem.field, maxsplit=1)[0], -1))
    if problems:
        raise AnswerError(source, problems, warnings)
    return Answer(source, network, storage, password_hash, appliances, tuple(warnings), serial)


def _unnamed(found: list[Problem], named: list[Problem]) -> list[Problem]:
    """One mistake, one message: a key read wrong is not checked again, nor is a bridge with a key read wrong."""
    fields = {problem.field for problem in named}
    bridges = {field.rsplit(".", 1)[0] for field in fields if field.startswith("network.bridges[")}
    return [problem for problem in found if problem.field not in fields and problem.field.rsplit(".", 1)[0] not in bridges]


def _strings(table: TableReader, key: str, example: str) -> list[tuple[int, str]]:
    """A list of text, each item (index, text); a wrong item is named by its index."""
    items = table.take(key, list, f'a list of text, such as ["{example}"]') or []
    good = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            good.append((index, item))
        else:
            table.item_problem(key, index, item, f'must be text in quotes, such as "{example}"')
    return good


def _host(doc: TableReader) -> str | None:
    table = doc.table("host")
    if table is None:
        return None
    hostname = table.string("hostname")
    table.finish()
    return hostname


def _network(doc: TableReader, hostname: str | None) -> NetworkConfig:
    table = doc.table("network")
    if table is None:
        return NetworkConfig(hostname=hostname)
    interface = table.string("interface") or "auto"
    ipv4 = Addressing(table.string("ipv4", choices=IPV4_MODES) or "dhcp", table.string("address"), table.string("gateway"))
    dns = tuple(server for _, server in _strings(table, "dns", "192.168.1.1"))
    ipv6 = Addressing(table.string("ipv6", choices=IPV6_MODES) or "auto", table.string("address6"),
                      table.string("gateway6"))
    bridges = []
    for bridge in table.tables("bridges"):
        bridges.append(Bridge(bridge.string("name", 'add name = "xenbr1"') or "", bridge.string("nic"),
                              bridge.integer("vlan"), bool(bridge.boolean("host_only"))))
        bridge.finish()
    table.finish()
    return NetworkConfig(interface, ipv4, ipv6, hostname, dns, tuple(bridges))


def device_problem(path: str) -> tuple[str | None, str | None]:
    """(why `path` names no whole disk, a warning that its name may change between boots)."""
    if not path.startswith("/dev/") or "/../" in path or path.endswith("/.."):
        return "must be a disk under /dev, best /dev/disk/by-id/<id> (`ls -l /dev/disk/by-id` lists them)", None
    if path.startswith(STABLE):
        if re.search(r"-part[0-9]+$", path):
            return "is a partition: give the whole disk (without -partN)", None
        return None, None
    return None, ("is a kernel name, which can change between boots (a disk added, a controller found first): "
                  "prefer /dev/disk/by-id/<id>")


def _devices(table: TableReader, key: str, warnings: list[Problem], single: bool = False) -> tuple[str, ...]:
    """Disks XenBox will write over: one (`single`) or a list; a kernel name such as /dev/sdb is a warning."""
    if single:
        value = table.string(key, f'add {key} = "/dev/disk/by-id/<id>"')
        values = [(None, value)] if value is not None else []
    else:
        values = _strings(table, key, "/dev/disk/by-id/<id>")
    good = []
    for index, path in values:
        name = table.field(key) + ("" if index is None else f"[{index}]")
        error, warning = device_problem(path)
        if error:
            table.problems.append(Problem(name, path, error))
            continue
        if warning:
            warnings.append(Problem(name, path, warning))
        good.append(path)
    return tuple(good)


def _storage(doc: TableReader, warnings: list[Problem]) -> Storage:
    table = doc.table("storage")
    if table is None:
        return Storage()
    data_disks = _devices(table, "data_disks", warnings)
    wipe = bool(table.boolean("wipe_disks_with_data"))
    pools = tuple(_pool(pool, warnings) for pool in table.tables("pools"))
    table.finish()
    storage = Storage(data_disks, wipe, tuple(pool for pool in pools if pool))
    first: dict[str, str] = {}
    for where, device in storage.initialised:
        if first.setdefault(device, where) != where:
            table.problems.append(Problem(where, device, f"is already listed at {first[device]}: name each disk once"))
    table.problems += repeated_names("storage.pools", [pool.name if pool else None for pool in pools])
    return storage


def _absolute(table: TableReader, key: str, example: str) -> str | None:
    value = table.string(key, f'add {key} = "{example}"')
    if value is not None and (not value.startswith("/") or value == "/" or ".." in PurePosixPath(value).parts):
        table.problem(key, value, f"must be an absolute path without '..', such as {example}")
        return None
    return value


def _host_name(table: TableReader, key: str, example: str, text: str | None = None) -> str | None:
    """A server by name or address; `text` when it came out of a larger value (a portal)."""
    value = table.string(key, f'add {key} = "{example}"') if text is None else text
    if value is None:
        return None
    try:
        ipaddress.ip_address(value.strip("[]"))
        return value
    except ValueError:
        pass
    if value.startswith("[") or hostname_problem(value):
        table.problem(key, value, f"must be a server's name or IP address, such as {example}")
        return None
    return value


def _pool(table: TableReader, warnings: list[Problem]) -> RequestedPool | None:
    name = table.string("name", 'add name = "images"', pattern=NAME, valid=NAME_VALID)
    kind = table.string("type", "add type = " + " | ".join(f'"{t}"' for t in POOL_KEYS), choices=POOL_KEYS)
    if kind is None:
        return None          # which keys belong here depends on the type: they are checked once it is known
    for other, keys in POOL_KEYS.items():
        for key in keys:
            if key not in POOL_KEYS[kind]:
                table.refuse(key, f'is for type = "{other}" pools; this pool is type = "{kind}"')
    pool = RequestedPool(name or "", kind)
    if kind == "file":
        pool = replace(pool, path=_absolute(table, "path", "/var/lib/xenbox/pools/images"))
    elif kind == "disk":
        device = _devices(table, "device", warnings, single=True)
        pool = replace(pool, device=device[0] if device else None)
    elif kind == "lun":
        pool = replace(pool, lun_id=table.string("id", 'add id = "<WWID of the LUN>"', pattern=LUN_ID,
                                                 valid="the LUN's WWID or /dev/disk/by-id name, such as wwn-0x600a0b80005ad2ff"))
    elif kind == "lvm":
        vg = table.string("vg", 'add vg = "xenbox"', pattern=lvm.NAME,
                          valid="a volume group name of letters, digits, '+', '_', '.' and '-', not starting with '-'")
        pool = replace(pool, vg=vg, disks=_devices(table, "disks", warnings))
    elif kind == "iscsi":
        pool = _iscsi(table, pool)
    elif kind == "nfs":
        pool = replace(pool, server=_host_name(table, "server", "nas.example.com"),
                       export=_absolute(table, "export", "/export/xenbox"),
                       nfs_version=table.string("version", choices=nfs.VERSIONS),
                       nfs_port=_port(table))
    table.finish()
    return pool


def _port(table: TableReader) -> int | None:
    port = table.integer("port", minimum=1)
    if port is not None and port > 65535:
        table.problem("port", port, "must be a port, 1-65535 (leave it out for NFS's 2049)")
        return None
    return port


def _iscsi(table: TableReader, pool: RequestedPool) -> RequestedPool:
    portal = table.string("portal", 'add portal = "192.168.1.5:3260"')
    match = PORTAL.fullmatch(portal) if portal is not None else None
    if portal is not None and (match is None or (match["port"] and not 1 <= int(match["port"]) <= 65535)):
        table.problem("portal", portal, "must be host or host:port (port 1-65535), such as 192.168.1.5:3260 "
                                        "or [2001:db8::5]:3260")
        portal = None
    elif match is not None and _host_name(table, "portal", "192.168.1.5:3260", match["host"]) is None:
        portal = None
    target = table.string("target", f'add target = "{IQN_EXAMPLE}"', pattern=IQN, valid=IQN_VALID)
    user, password = table.string("chap_user"), table.string("chap_password")
    if ("chap_user" in table.data) != ("chap_password" in table.data):
        missing = "chap_password" if "chap_user" in table.data else "chap_user"
        table.problem(missing, None, "missing: CHAP needs both chap_user and chap_password, or neither")
    return replace(pool, portal=portal, target=target, chap=Chap(user, password) if user and password else None)


def _console(doc: TableReader) -> tuple[str | None, SerialPort | None]:
    table = doc.table("console")
    if table is None:
        return None, None
    hashed = table.string("password_hash")
    table.refuse("password", f"is never stored as it is typed: write password_hash = the hash of it instead; "
                             "make one with `mkpasswd --method=yescrypt`")
    serial = _serial(table)
    table.finish()
    if hashed is not None and (message := weakness(hashed)):
        table.problem("password_hash", None, message)
        return None, serial
    return hashed, serial


def _serial(table: TableReader) -> SerialPort | None:
    text = table.string("serial")
    if text is None:
        return None
    try:
        return parse_serial(text)
    except SerialPortError as error:
        table.problem("serial", text, str(error))
        return None


def _appliances(doc: TableReader) -> tuple[Appliance, ...]:
    appliances, first = [], {}
    for index, table in enumerate(doc.tables("appliances")):
        source = table.string("source", 'add source = "<bundle folder or .tar next to answer.toml>" '
                                        "or a built-in appliance's name")
        autostart, order = table.boolean("autostart"), table.integer("order")
        pool = table.string("pool", pattern=NAME, valid=NAME_VALID)
        table.finish()
        if source is None:
            continue
        if "/" in source or source.endswith(".tar"):
            path = PurePosixPath(source)
            if path.is_absolute() or ".." in path.parts:
                table.problem("source", source, "must be relative to the answer file and stay beside it "
                                                "(no leading '/', no '..'), such as bundles/web.tar")
                continue
        elif not NAME.fullmatch(source):
            table.problem("source", source, f"must be a bundle folder or .tar beside the answer file, or a built-in "
                                            f"appliance's name: {NAME_VALID}")
            continue
        if first.setdefault(source, index) != index:
            table.problem("source", source, f"is already installed by appliances[{first[source]}]")
            continue
        appliances.append(Appliance(source, autostart, order, pool))
    return tuple(appliances)


def disk_problems(answer: Answer, disks: list[Disk], boot_device: str | None) -> list[Problem]:
    """What stops the answer file's disks being initialised on this host, given its disks (`Disks.list()`):
    a disk not found, the boot medium, a disk holding data without wipe_disks_with_data = true."""
    problems = []
    for where, device in answer.storage.initialised:
        by_id = device.removeprefix("/dev/disk/by-id/") if device.startswith("/dev/disk/by-id/") else None
        disk = next((d for d in disks if d.path == device or (by_id and d.known_as(by_id))), None)
        if disk is None:
            found = ", ".join(f"/dev/disk/by-id/{d.stable_id}" if d.stable_id else d.path for d in disks) or "none"
            problems.append(Problem(where, device, f"is no disk on this host; its disks are: {found}"))
        elif refused := never_erased(disk, boot_device):
            problems.append(Problem(where, device, f"{refused} ({disk.summary}): choose another disk"))
        elif (reason := holds_data(disk)) and not answer.storage.wipe_disks_with_data:
            problems.append(Problem(where, device, f"{reason}: set storage.wipe_disks_with_data = true to erase it, "
                                                   "or remove it from the answer file"))
    return problems
