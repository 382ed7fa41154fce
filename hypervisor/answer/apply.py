"""Set a host up from an answer file: every check first, then each step in order, said as it happens.

An answer file with any problem changes nothing: the file's own problems (parse), then what this host
makes of it (its disks, the appliances it names) are all listed before the first step runs.
Once applied, a copy is kept on the data store as the host's settings; later boots re-apply its network
and hostname from there, and the file it came from is not applied again.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from hypervisor.answer.parse import Answer, Appliance, disk_problems
from hypervisor.appliances.catalog import APPLIANCE_DIRS
from hypervisor.appliances.bundle_disks import Targets
from hypervisor.appliances.install import install_bundle
from hypervisor.appliances.manifest import MANIFEST_NAME, load_bundle, parse_manifest_bytes
from hypervisor.appliances.safe_tar import sketch_bundle
from hypervisor.host.console_password import store_hash
from hypervisor.host.serial_port import keep as keep_serial
from hypervisor.network.apply import apply_network, describe
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.problems import FileProblems, Problem
from hypervisor.storage.datastore import MOUNTPOINT, DataStore
from hypervisor.storage.disks import Disk
from hypervisor.storage.pools import POOLS

SETTINGS = MOUNTPOINT / "config" / "answer.toml"       # the answer file as applied: the host's settings
KEPT_POOLS = ("iscsi", "nfs", "file")      # kept on the data store, attached by every boot
BUILT_IN = APPLIANCE_DIRS[-1]
INSTALL_INTO = APPLIANCE_DIRS[0]

Say = Callable[[str], None]


@dataclass(frozen=True)
class Bundle:
    """Where an answer file's appliance comes from: a folder, a .tar beside the file, or a built-in."""
    appliance: Appliance
    path: Path


def find_bundles(answer: Answer, folder: Path | None) -> tuple[list[Bundle], list[Problem]]:
    bundles, problems = [], []
    for index, appliance in enumerate(answer.appliances):
        where = f"appliances[{index}].source"
        beside = folder / appliance.source if folder else None
        if beside is not None and beside.exists():
            path = beside
        elif "/" not in appliance.source and not appliance.source.endswith(".tar") \
                and (BUILT_IN / appliance.source).is_dir():
            path = BUILT_IN / appliance.source
        else:
            looked = f"beside the answer file ({beside}) nor " if beside else ""
            built_in = ", ".join(sorted(p.name for p in BUILT_IN.glob("*") if p.is_dir())) or "none"
            problems.append(Problem(where, appliance.source, f"is neither {looked}a built-in appliance "
                                                             f"(built in: {built_in})"))
            continue
        try:
            check_bundle(path)
        except FileProblems as error:
            problems.append(Problem(where, appliance.source, f"is not a valid appliance: {error}"))
            continue
        bundles.append(Bundle(appliance, path))
    return bundles, problems


def check_bundle(path: Path) -> None:
    """The bundle's manifest against its files; a .tar is read, not unpacked (it may hold GiBs)."""
    if path.is_dir():
        load_bundle(path)
        return
    with tempfile.TemporaryDirectory(prefix="xenbox-check-") as folder:
        try:
            bundle = sketch_bundle(path, Path(folder), MANIFEST_NAME)
            parse_manifest_bytes((bundle / MANIFEST_NAME).read_bytes(), bundle)
        except FileProblems as error:     # said of the archive and its members, not of the sketch
            inside = f"{folder}/"
            raise FileProblems(str(path), [replace(p, message=p.message.replace(inside, "")) for p in error.problems])


def host_problems(answer: Answer, folder: Path | None, disks: list[Disk], boot_device: str | None) -> list[Problem]:
    """What stops this answer file being applied on this host; empty when it can be."""
    problems = disk_problems(answer, disks, boot_device)
    for index, pool in enumerate(answer.storage.pools):
        if pool.type not in KEPT_POOLS:
            problems.append(Problem(f"storage.pools[{index}]", pool.name, f"is a {pool.type} pool, which XenBox "
                                    "does not keep: an appliance's manifest gives it a host disk, partition or LUN "
                                    "itself (device = \"<stable id>\"), and LVM volumes are on the data store's pool "
                                    "local: leave this one out"))
        elif not answer.storage.data_disks:
            problems.append(Problem(f"storage.pools[{index}]", pool.name, "is kept on the data store, and this "
                                    "answer file makes none: add storage.data_disks"))
    problems += find_bundles(answer, folder)[1]
    problems += pool_problems(answer)
    return problems


def pool_problems(answer: Answer) -> list[Problem]:
    """An appliance's disk images go onto volumes on a pool that exists by the appliances step: the data
    store's own (local, files) or a folder pool of this answer file. An NFS share is mounted only later."""
    folders = {pool.name for pool in answer.storage.pools if pool.type == "file"}
    problems = []
    for index, appliance in enumerate(answer.appliances):
        if appliance.pool is None:
            continue
        where = f"appliances[{index}].pool"
        if not answer.storage.data_disks:
            problems.append(Problem(where, appliance.pool, "needs a data store to put volumes on: add "
                                                           "storage.data_disks, or leave pool out"))
        elif appliance.pool not in {*POOLS, *folders}:
            problems.append(Problem(where, appliance.pool, "must be local (the data store's volume group), files "
                                    "(its image folder) or the name of a type = \"file\" pool of this answer "
                                    "file" + (f" ({', '.join(sorted(folders))})" if folders else "") +
                                    "; an NFS share is mounted after the appliances are installed"))
    return problems


def resolve_disks(answer: Answer, disks: list[Disk]) -> list[Disk]:
    """The data_disks as this host's Disk objects (host_problems has checked each is there)."""
    chosen = []
    for device in answer.storage.data_disks:
        by_id = device.removeprefix("/dev/disk/by-id/")
        chosen += [d for d in disks if d.path == device or d.known_as(by_id)]
    return chosen


def apply_answer(answer: Answer, text: bytes, folder: Path | None, disks: list[Disk], say: Say,
                 store: DataStore | None = None) -> list[str]:
    """Run every step; returns what failed (each also said). The answer has passed host_problems."""
    store = store or DataStore()
    failures: list[str] = []
    steps = [("data store", lambda: _data_store(answer, disks, store, say)),
             ("network", lambda: _network(answer, say, failures)),
             ("storage pools", lambda: _pools(answer, say)),
             ("console", lambda: _console(answer, store, say)),
             ("appliances", lambda: _appliances(answer, folder, say))]
    for number, (title, step) in enumerate(steps, start=1):
        say(f"answer file: step {number}/{len(steps)}: {title}")
        try:
            step()
        except Exception as error:      # one step failing must not hide the rest: said, and carried on
            failures.append(f"{title}: {error}")
            say(f"answer file: {title} FAILED: {error}")
    if store.is_mounted():
        write_atomically(SETTINGS, text.decode("utf-8-sig"))
        say(f"answer file: kept on the data store as {SETTINGS}; later boots apply its network settings")
    else:
        say("answer file: no data store, so nothing of it is kept: these settings last until the next boot")
    return failures


def _data_store(answer: Answer, disks: list[Disk], store: DataStore, say: Say) -> None:
    chosen = resolve_disks(answer, disks)
    if not chosen:
        say("answer file: no data_disks: this host keeps nothing across reboots")
        return
    store.initialise(chosen, lambda line: say(f"answer file: {line}"))


def _network(answer: Answer, say: Say, failures: list[str]) -> None:
    say(f"answer file: {describe(answer.network)}")
    failures += apply_network(answer.network, lambda line: say(f"answer file: {line}"))


def _pools(answer: Answer, say: Say) -> None:
    """Pools are kept now and attached right after, by the boot (which retries while the network
    comes up): see hypervisor.boot."""
    from hypervisor.storage.iscsi_targets import IscsiTargets
    from hypervisor.storage.named_pools import NamedPool, NamedPools
    for pool in answer.storage.pools:
        if pool.type == "iscsi":
            IscsiTargets().keep(pool.name, pool.portal, pool.target, pool.chap)
            say(f"answer file: iSCSI target {pool.target} at {pool.portal} kept as {pool.name}; attached next")
        elif pool.type == "nfs":
            server = f"[{pool.server}]" if ":" in pool.server else pool.server
            kept = NamedPool(pool.name, "nfs", f"{server}:{pool.export}", pool.nfs_version, pool.nfs_port)
            NamedPools().keep(kept)
            say(f"answer file: NFS share {kept.where} kept as pool {pool.name}; mounted next")
        else:
            if Path(pool.path).is_relative_to(MOUNTPOINT):      # on the data store just made: made here
                Path(pool.path).mkdir(parents=True, exist_ok=True)
            NamedPools().keep(NamedPool(pool.name, "file", path=pool.path))
            say(f"answer file: folder {pool.path} kept as pool {pool.name}")
    if not answer.storage.pools:
        say("answer file: no storage pools")


def _console(answer: Answer, store: DataStore, say: Say) -> None:
    _password(answer, store, say)
    if answer.serial is None:
        return
    if not store.is_mounted():
        say(f"answer file: the serial console on {answer.serial} is not kept: there is no data store to keep it on")
    else:
        keep_serial(answer.serial)
        say(f"answer file: serial console kept on {answer.serial}: the boot menu uses it from the next boot on")


def _password(answer: Answer, store: DataStore, say: Say) -> None:
    if answer.password_hash is None:
        say("answer file: no console password given")
    elif not store.is_mounted():
        say("answer file: the console password is not kept: there is no data store to keep it on")
    else:
        store_hash(answer.password_hash)
        say("answer file: console password set: the console asks for it from now on")


def _appliances(answer: Answer, folder: Path | None, say: Say) -> None:
    bundles, problems = find_bundles(answer, folder)
    if problems:            # host_problems found none; the volume may have gone since
        raise RuntimeError("; ".join(str(p) for p in problems))
    for bundle in bundles:
        installed = _install(bundle, say)
        say(f"answer file: appliance {installed.name} installed in {installed}")


def _install(bundle: Bundle, say: Say, has_data_store: Callable[[], bool] | None = None,
             volumes: Targets | None = None) -> Path:
    """Its disk images become volumes on its pool, as `xenbox appliance add` does; with no data store
    (nothing kept anyway) they stay in its folder. `volumes` opens a pool by name (importing.pool_target)."""
    from hypervisor.appliances.importing import pool_target
    overrides = {key: value for key, value in (("enabled", bundle.appliance.autostart),
                                                ("order", bundle.appliance.order)) if value is not None}
    on_store = (has_data_store or DataStore().is_mounted)()
    return install_bundle(bundle.path, INSTALL_INTO, lambda line: say(f"answer file: {line}"), replace=True,
                          autostart=overrides, volumes=(volumes or pool_target) if on_store else None,
                          pool=bundle.appliance.pool or "local")


Refused = Callable[[FileProblems, str, str], None]     # (the file's problems, what the boot does instead, the fix)


def reapply_settings(say: Say, refused: Refused) -> bool:
    """At a later boot: the network and hostname kept on the data store. False when the host has
    none kept (it was never set up, or has no data store). A kept file with any problem is `refused`
    whole, and the host stays on DHCP; it is still a host set up (no answer file is looked for)."""
    from hypervisor.answer.network_settings import saved
    from hypervisor.answer.parse import AnswerError
    try:
        found = saved()
    except AnswerError as error:
        refused(error, "DHCP stays on xenbr0, and the host name kept there is not set",
                f"correct these keys (`xenbox answer check {error.source}` checks it), or set the network "
                "again on the Network screen (key n)")
        return True
    if found is None:
        return SETTINGS.exists()
    config, source = found
    say(f"host settings from the data store: {describe(config)} ({source})")
    apply_network(config, say)
    return True
