"""Adding an appliance from its bundle: the one flow behind `xenbox appliance add` and the Appliances
screen's `a` (answer files install theirs through install_bundle too, with their own rules). The
console's `a` imports too: an OVA/OVF, a disk image or an xl.cfg found on the device or in the folder,
through importing.py's functions, the same as `xenbox appliance import`.

A bundle's disk images become guest volumes on the pool the operator picks (`pool`: `local`, the data
store's volume group, unless told otherwise), as an imported image's do (bundle_disks.py).

A bundle is a folder or a .tar on dom0, or one on a stick or disk that is mounted read-only while it
is read and unmounted after. Onto a host without a data store nothing is added: it would be gone at the
next boot. Every refusal is a NothingAdded whose message names the thing and the fix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor.appliances.bundle_disks import Targets
from hypervisor.appliances.install import InstallError, install_bundle
from hypervisor.appliances.on_media import Found, bundle_on, bundles_on, found_on
from hypervisor.settings.problems import FileProblems
from hypervisor.storage import StorageError
from hypervisor.storage.datastore import MOUNTPOINT, DataStore
from hypervisor.storage.media import MediaError, mounted_read_only

Say = Callable[[str], None]
NO_DATA_STORE = ("this host has no data store, so an added appliance would be gone at the next boot: make one "
                 "first (the console's Storage screen, key t)")


class NothingAdded(Exception):
    """Nothing was added, and nothing changed; the message says why and what to do. `not_found`: the
    bundle named is not there (the CLI's exit code 3), rather than refused."""

    def __init__(self, message: str, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


@dataclass(frozen=True)
class Several:
    """A device with more than one bundle and none named: which one is the operator's to say."""
    device: str
    bundles: list[str]
    found: tuple[Found, ...] = ()       # with imports: the bundles and the files to import there, by kind


def add_bundle(source: Path, into: Path, say: Say = lambda line: None, replace: bool = False,
               has_data_store: Callable[[], bool] | None = None, pool: str = "local",
               volumes: Targets | None = None) -> Path:
    """The bundle `source` installed into `into`, its disk images onto volumes on `pool`; returns its
    folder. `volumes` opens a pool by name (importing.pool_target unless a test gives its own)."""
    from hypervisor.appliances.disk_images import ImageRefused
    from hypervisor.appliances.importing import ImportRefused, pool_target
    if into.is_relative_to(MOUNTPOINT) and not (has_data_store or DataStore().is_mounted)():
        raise NothingAdded(NO_DATA_STORE)
    if not source.exists():
        raise NothingAdded(f"{source} does not exist: give a bundle folder or a .tar of one", not_found=True)
    try:
        return install_bundle(source, into, say, replace=replace, volumes=volumes or pool_target, pool=pool)
    except (InstallError, FileProblems, ImportRefused, ImageRefused, StorageError) as error:
        raise NothingAdded(f"{source} was not added: {error}") from error


def add_from_device(device: str, bundle: str | None, into: Path, say: Say = lambda line: None,
                    replace: bool = False, has_data_store: Callable[[], bool] | None = None,
                    only_one_is_chosen: bool = True, imports: bool = False, pool: str = "local",
                    volumes: Targets | None = None) -> Path | Several:
    """The bundle `bundle` on `device` (or its only one) installed; Several when it holds more and none
    was named (or, for the CLI, which says what it adds, when none was named at all; or, with `imports`,
    when it holds a file to import too). The device is unmounted again either way."""
    if into.is_relative_to(MOUNTPOINT) and not (has_data_store or DataStore().is_mounted)():
        raise NothingAdded(NO_DATA_STORE)
    try:
        with mounted_read_only(device, say) as root:
            listed = tuple(found_on(root)) if imports and not bundle else ()
            if any(item.kind != "bundle" for item in listed):
                return Several(device, [item.path for item in listed if item.kind == "bundle"], listed)
            found = [bundle] if bundle else bundles_on(root)
            if not found:
                raise NothingAdded(f"{device} holds no bundle (a folder holding appliance.toml, or a .tar of one) "
                                   "at its top or one folder down", not_found=True)
            if len(found) > 1 or (bundle is None and not only_one_is_chosen):
                return Several(device, found)
            return add_bundle(bundle_on(root, found[0]), into, say, replace, lambda: True, pool, volumes)
    except MediaError as error:
        raise NothingAdded(f"nothing was added from {device}: {error}") from error


def found_in_folder(folder: Path) -> list[Found]:
    """What `a` lists in a folder on dom0 (or a mounted share): its bundles and files to import, by kind."""
    if not folder.is_dir():
        raise NothingAdded(f"{folder} is no folder: give a folder, a bundle, or a file to import", not_found=True)
    found = found_on(folder)
    if not found:
        raise NothingAdded(f"{folder} holds no bundle and no file to import (an .ova or .ovf, a disk image, an "
                           "xl.cfg ending in .cfg) at its top or one folder down", not_found=True)
    return found


@dataclass(frozen=True)
class Imported:
    name: str
    folder: Path
    warnings: tuple[str, ...]
    disks: str              # "xvda (32 MiB on local)", or "" for an xl.cfg's bundle


def import_found(path: str | Path, into: Path, answers, say: Say = lambda line: None, device: str | None = None,
                 has_data_store: Callable[[], bool] | None = None) -> Imported:
    """The OVA/OVF, disk image or xl.cfg at `path` (on `device`, mounted read-only while it is read,
    when one is given) imported as `xenbox appliance import` does; `answers` (importing.Answers) are
    what the CLI's options say, and do not apply to an xl.cfg."""
    from hypervisor.appliances.disk_images import ImageRefused
    from hypervisor.appliances.importing import ImportRefused
    from hypervisor.appliances.ovf import PackageRefused
    from hypervisor.storage import StorageError
    shown = f"{path} on {device}" if device else str(path)
    if into.is_relative_to(MOUNTPOINT) and not (has_data_store or DataStore().is_mounted)():
        raise NothingAdded(NO_DATA_STORE)
    try:
        if device is None:
            return _import(Path(path), into, answers, say)
        with mounted_read_only(device, say) as root:
            return _import(_file_on(root, str(path)), into, answers, say)
    except (ImportRefused, ImageRefused, PackageRefused, StorageError, FileProblems, MediaError) as error:
        raise NothingAdded(f"{shown} was not imported: {error}") from error
    except OSError as error:
        raise NothingAdded(f"{shown} was not imported: {error.filename or into} could not be written "
                           f"({error.strerror})") from error


def _import(source: Path, into: Path, answers, say: Say) -> Imported:
    from hypervisor.appliances import importing
    if not source.is_file():
        raise NothingAdded(f"{source} does not exist (or is no file): give the file to import", not_found=True)
    if importing.kind_of(source) == "xl.cfg":
        imported = importing.read_xl_cfg(source)
        folder = importing.import_bundle(imported, into, say)
        return Imported(folder.name, folder, tuple(imported.warnings), "")
    done = importing.import_file(source, into, answers, say)
    disks = ", ".join(f"{d.target} ({d.size_mib} MiB on {d.pool})" for d in done.disks)
    return Imported(done.name, done.folder, done.warnings, disks)


def _file_on(root: Path, name: str) -> Path:
    """The file `name` on the device mounted at `root`; MediaError when it leads off the device."""
    path = (root / name.strip().lstrip("/")).resolve()
    if not path.is_relative_to(root.resolve()):
        raise MediaError(f"{name} leads off the device: give a file on it")
    return path
