"""An HVM appliance's CD: ejected, or changed for another ISO of the ISO library, on the running guest
(`xl cd-eject` / `xl cd-insert`) and in its appliance.toml, so that it stays so after a restart. An
installed guest then boots from its disk.

The new manifest is read through the same strict checks (and the guest path gate) before anything
changes; Xen changes the running guest's drive next, and only then is the manifest written (atomically).
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from hypervisor.appliances.catalog import Entry
from hypervisor.appliances.manifest import MANIFEST_NAME, parse_manifest, read_manifest
from hypervisor.runner import CommandError
from hypervisor.settings.atomic import write_atomically
from hypervisor.settings.tomlwrite import dumps
from hypervisor.xen.xl import Xl


class CdError(Exception):
    """Nothing changed; the message says why and what to do."""


def change_cd_by_name(entry: Entry, iso_name: str, xl: Xl, library=None) -> str:
    """change_cd with the ISO named as the ISO library lists it (`xenbox iso list`); "" empties the drive.
    `library`: an IsoLibrary (hypervisor.storage.iso_library), this host's unless a test gives its own."""
    from hypervisor.storage import StorageError
    from hypervisor.storage.iso_library import IsoLibrary
    try:
        iso = (library or IsoLibrary()).find(iso_name).path if iso_name else None
    except StorageError as error:
        raise CdError(str(error)) from error
    return change_cd(entry, iso, xl)


def change_cd(entry: Entry, iso: Path | None, xl: Xl) -> str:
    """Put `iso` in the appliance's CD drive, or empty it (None); returns what was done, as a sentence."""
    manifest = entry.manifest
    if manifest is None:
        raise CdError(f"{entry.name} cannot be changed: {entry.problem}")
    drives = [index for index, disk in enumerate(manifest.disks) if disk.cdrom]
    if manifest.type != "hvm" or not drives:
        raise CdError(f"{entry.name} has no CD drive: only an HVM appliance with a disk cdrom = true has one "
                      "(`xenbox appliance create --iso` makes one)")
    index = drives[0]
    drive = manifest.disks[index]
    if drive.device is not None:
        raise CdError(f"{entry.name}'s CD drive {drive.target} is the host's CD/DVD drive {drive.device}: change the "
                      "disc in that drive, or drop device from its appliance.toml to use ISOs instead")
    document = tomllib.loads(read_manifest(entry.folder).decode("utf-8-sig"))
    table = document["disks"][index]
    if iso is None:
        table.pop("file", None)
    else:
        table["file"] = str(iso)
    table.setdefault("target", drive.target)        # the drive keeps the name it had, files or not
    text = dumps(document)
    parse_manifest(text, entry.folder)              # FileProblems: an ISO the gate refuses, before any change
    running = xl.domain(manifest.name) is not None
    if running:
        try:
            if iso is None:
                xl.cd_eject(manifest.name, drive.target)
            else:
                xl.cd_insert(manifest.name, drive.target, str(iso))
        except CommandError as error:
            raise CdError(_not_changed_on_guest(manifest.name, drive.target, iso, error)) from error
    write_atomically(entry.folder / MANIFEST_NAME, text)
    now = "the guest's drive now, and" if running else "at its next start, and"
    if iso is None:
        return f"{entry.name}: CD ejected from {drive.target} ({now} kept in its appliance.toml)"
    return f"{entry.name}: {iso.name} inserted in {drive.target} ({now} kept in its appliance.toml)"


def _not_changed_on_guest(name: str, drive: str, iso: Path | None, error: CommandError) -> str:
    # XenBox starts an empty drive holding a placeholder so that it can take a CD later (launch.py), but
    # a reboot the guest asks for itself is done by xl's monitor from libxl's copy of the configuration,
    # whose drive is then truly empty, and libxl 4.17 cannot fill such a drive.
    what = f"take {iso.name} in {drive}" if iso is not None else f"eject the CD from {drive}"
    return (f"Nothing changed: Xen could not {what} on the running {name} (xl said: {error.sentence}). "
            f"A drive the guest's own reboot left empty cannot take a CD: shut {name} down and start it "
            f"again (xenbox appliance shutdown {name}; xenbox appliance start {name}), then change the CD; "
            f"or change it while {name} is stopped, and it is in the drive at its next start.")
