"""An HVM appliance's CD ejected and changed (hypervisor/appliances/cd.py, `xenbox appliance cd-eject|cd-insert`):
on the running guest through `xl`, whose argv is recorded (Xen cannot run here), and in the real appliance.toml."""
import argparse
import tomllib

import pytest

from hypervisor.appliances import guest_paths
from hypervisor.appliances.catalog import read_entry
from hypervisor.appliances.cd import CdError, change_cd, change_cd_by_name
from hypervisor.appliances.xlcfg import to_xl_cfg
from hypervisor.cli.appliance import mib
from hypervisor.runner import CommandError
from hypervisor.settings.problems import FileProblems
from hypervisor.storage.iso_library import IsoLibrary
from hypervisor.xen.xl import Xl
from test_appliance_cli import RecordingXl

APPLIANCE = """# a comment the rewrite loses
name = "web"
type = "hvm"
[memory]
initial_mib = 256
[[disks]]
pool = "local"
size_mib = 100
[[disks]]
file = "{iso}"
cdrom = true
target = "hdc"
"""


@pytest.fixture
def library(tmp_path, monkeypatch):
    pool = tmp_path / "images"
    (pool / "isos").mkdir(parents=True)
    for name in ("rescue.iso", "netinst.iso"):
        (pool / "isos" / name).write_text("a CD\n")
    monkeypatch.setattr(guest_paths, "HOST", guest_paths.Host(pools=lambda: [pool]))
    return pool / "isos"


@pytest.fixture
def folder(tmp_path, library):
    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "appliance.toml").write_text(APPLIANCE.format(iso=library / "rescue.iso"))
    return folder


def test_eject_and_insert_on_a_running_guest_and_in_its_manifest(folder, library):
    xl = RecordingXl()          # lists web as running
    said = change_cd(read_entry(folder), None, Xl(run=xl))
    assert said == "web: CD ejected from hdc (the guest's drive now, and kept in its appliance.toml)"
    assert xl.actions() == [["cd-eject", "web", "hdc"]]
    entry = read_entry(folder)
    assert entry.manifest.disks[1].file is None and entry.manifest.disks[1].cdrom
    named = entry.manifest.__class__(**{**entry.manifest.__dict__, "disks": entry.manifest.disks[1:]})
    assert "'vdev=hdc, access=ro, devtype=cdrom, target='" in to_xl_cfg(named)
    change_cd(entry, library / "netinst.iso", Xl(run=xl))
    assert xl.actions()[-1] == ["cd-insert", "web", "hdc", str(library / "netinst.iso")]
    disks = tomllib.loads((folder / "appliance.toml").read_text())["disks"]
    assert disks[1] == {"file": str(library / "netinst.iso"), "cdrom": True, "target": "hdc"}
    assert disks[0] == {"pool": "local", "size_mib": 100}


def test_a_stopped_guest_changes_at_its_next_start(folder, library):
    xl = RecordingXl()
    entry = read_entry(folder)
    stopped = entry.__class__(entry.name, entry.folder, entry.manifest.__class__(
        **{**entry.manifest.__dict__, "name": "db"}))       # not in `xl list`
    assert change_cd(stopped, None, Xl(run=xl)).endswith("(at its next start, and kept in its appliance.toml)")
    assert xl.actions() == []


def test_what_the_gate_refuses_changes_nothing(folder, tmp_path):
    before = (folder / "appliance.toml").read_text()
    outside = tmp_path / "elsewhere.iso"
    outside.write_text("x")
    xl = RecordingXl()
    with pytest.raises(FileProblems, match="is outside the bundle, on no pool"):
        change_cd(read_entry(folder), outside, Xl(run=xl))
    assert xl.actions() == [] and (folder / "appliance.toml").read_text() == before


def test_an_appliance_without_a_cd_drive_says_so(tmp_path, library):
    (tmp_path / "pv").mkdir()
    (tmp_path / "pv" / "vmlinuz").write_text("k")
    (tmp_path / "pv" / "appliance.toml").write_text('name = "pv"\ntype = "pv"\n[memory]\ninitial_mib = 64\n'
                                                    '[boot]\nkernel = "vmlinuz"\n')
    with pytest.raises(CdError, match="pv has no CD drive: only an HVM appliance"):
        change_cd(read_entry(tmp_path / "pv"), None, Xl(run=RecordingXl()))


def test_sizes_as_people_write_them():
    assert [mib(text) for text in ("4G", "512M", "4GiB", "100", "1t")] == [4096, 512, 4096, 100, 1024 * 1024]
    with pytest.raises(argparse.ArgumentTypeError, match="'4 gigs' is not a size"):
        mib("4 gigs")


class NoNamedPools:
    def list(self):
        return []


def test_an_iso_is_named_as_the_iso_library_lists_it_and_an_unknown_name_changes_nothing(folder, library):
    isos = IsoLibrary(pools=NoNamedPools(), files_folder=library.parent, files_problem=lambda: None)
    for iso in library.iterdir():       # the library lists only what reads as a CD (CD001 at 32 KiB)
        iso.write_bytes(bytes(0x8001) + b"CD001" + bytes(2043))
    before = (folder / "appliance.toml").read_text()
    with pytest.raises(CdError, match="the ISO library has no debian.iso \\(it has: netinst.iso, rescue.iso\\)"):
        change_cd_by_name(read_entry(folder), "debian.iso", Xl(run=RecordingXl()), isos)
    assert (folder / "appliance.toml").read_text() == before
    change_cd_by_name(read_entry(folder), "netinst.iso", Xl(run=RecordingXl()), isos)
    assert tomllib.loads((folder / "appliance.toml").read_text())["disks"][1]["file"] == str(library / "netinst.iso")
    change_cd_by_name(read_entry(folder), "", Xl(run=RecordingXl()), isos)
    assert "file" not in tomllib.loads((folder / "appliance.toml").read_text())["disks"][1]


class FailingInsertXl(RecordingXl):
    """xl as it answers a cd-insert into a drive the guest's own reboot re-created empty (libxl 4.17)."""

    def __call__(self, argv, *, input=None, timeout=60):
        if argv[1] == "cd-insert":
            self.calls.append(list(argv[1:]))
            raise CommandError(tuple(argv), 1, "libxl: error: libxl_qmp.c:1837:qmp_ev_parse_error_messages: "
                                               "Domain 7:Device 'ide-1-0' has no medium\n")
        return super().__call__(argv, input=input, timeout=timeout)


def test_a_drive_that_cannot_take_the_cd_changes_nothing_and_says_what_to_do(folder, library):
    before = (folder / "appliance.toml").read_text()
    with pytest.raises(CdError) as refused:
        change_cd(read_entry(folder), library / "netinst.iso", Xl(run=FailingInsertXl()))
    said = str(refused.value)
    assert said.startswith("Nothing changed: Xen could not take netinst.iso in hdc on the running web")
    assert "has no medium" in said and "xenbox appliance start web" in said
    assert (folder / "appliance.toml").read_text() == before
