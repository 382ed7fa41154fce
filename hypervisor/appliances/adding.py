"""Adding an appliance from its bundle: the one flow behind `xenbox appliance add` and the Appliances
screen's `a` (answer files install theirs through install_bundle too, with their own rules).

A bundle is a folder or a .tar on dom0, or one on a stick or disk that is mounted read-only while it
is read and unmounted after. Onto a host without a data store nothing is added: it would be gone at the
next boot. Every refusal is a NothingAdded whose message names the thing and the fix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hypervisor.appliances.install import InstallError, install_bundle
from hypervisor.appliances.on_media import bundle_on, bundles_on
from hypervisor.settings.problems import FileProblems
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


def add_bundle(source: Path, into: Path, say: Say = lambda line: None, replace: bool = False,
               has_data_store: Callable[[], bool] | None = None) -> Path:
    """The bundle `source` installed into `into`; returns its folder."""
    if into.is_relative_to(MOUNTPOINT) and not (has_data_store or DataStore().is_mounted)():
        raise NothingAdded(NO_DATA_STORE)
    if not source.exists():
        raise NothingAdded(f"{source} does not exist: give a bundle folder or a .tar of one", not_found=True)
    try:
        return install_bundle(source, into, say, replace=replace)
    except (InstallError, FileProblems) as error:
        raise NothingAdded(f"{source} was not added: {error}") from error


def add_from_device(device: str, bundle: str | None, into: Path, say: Say = lambda line: None,
                    replace: bool = False, has_data_store: Callable[[], bool] | None = None,
                    only_one_is_chosen: bool = True) -> Path | Several:
    """The bundle `bundle` on `device` (or its only one) installed; Several when it holds more and none
    was named (or, for the CLI, which says what it adds, when none was named at all). The device is
    unmounted again either way."""
    if into.is_relative_to(MOUNTPOINT) and not (has_data_store or DataStore().is_mounted)():
        raise NothingAdded(NO_DATA_STORE)
    try:
        with mounted_read_only(device, say) as root:
            found = [bundle] if bundle else bundles_on(root)
            if not found:
                raise NothingAdded(f"{device} holds no bundle (a folder holding appliance.toml, or a .tar of one) "
                                   "at its top or one folder down", not_found=True)
            if len(found) > 1 or (bundle is None and not only_one_is_chosen):
                return Several(device, found)
            return add_bundle(bundle_on(root, found[0]), into, say, replace, lambda: True)
    except MediaError as error:
        raise NothingAdded(f"nothing was added from {device}: {error}") from error
