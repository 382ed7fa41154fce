"""`xenbox appliance ...`: exit codes and the xl calls each command makes.

xl itself cannot run on this build host (no Xen), so the commands get an Xl whose
runner records the argv and answers `xl list` with a real captured layout: the
boundary, not the logic, is stood in for.
"""
import contextlib
import io
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hypervisor.cli.main import build_parser
from hypervisor.xen.xl import Xl

XL_LIST = """Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0  1024     2     r-----      92.5
web                                          3    96     1     -b----       4.1
"""


class RecordingXl:
    def __init__(self):
        self.calls = []

    def __call__(self, argv, *, input=None, timeout=60):
        self.calls.append(list(argv[1:]))
        return XL_LIST if argv[1:] == ["list"] else ""

    def actions(self):
        return [call for call in self.calls if call != ["list"]]


def run(*words):
    recorder = RecordingXl()
    args = build_parser().parse_args(["appliance", *words])
    code = args.handler(args, Xl(run=recorder))
    return code, recorder


def test_pause_calls_xl_pause_on_a_running_guest():
    code, xl = run("pause", "web")
    assert code == 0
    assert xl.actions() == [["pause", "web"]]


@pytest.mark.parametrize("words", [("pause", "nope"), ("save", "nope", "/tmp/x"), ("mem-set", "nope", "128"),
                                   ("vcpu-pin", "nope", "0", "1"), ("destroy", "nope", "--yes")])
def test_a_guest_that_is_not_running_is_exit_3_and_no_xl_action(words, capsys):
    code, xl = run(*words)
    assert code == 3
    assert xl.actions() == []
    assert "nope is not running" in capsys.readouterr().err


def test_destroy_without_yes_from_a_script_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code, xl = run("destroy", "web")
    assert code == 2
    assert xl.actions() == []
    assert "--yes" in capsys.readouterr().err


def test_destroy_with_yes_destroys():
    code, xl = run("destroy", "web", "--yes")
    assert (code, xl.actions()) == (0, [["destroy", "web"]])


def test_mem_set_passes_mebibytes_to_xl():
    code, xl = run("mem-set", "web", "160")
    assert (code, xl.actions()) == (0, [["mem-set", "web", "160m"]])


def test_save_writes_to_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, xl = run("save", "web", "web.save")
    assert (code, xl.actions()) == (0, [["save", "web", str(tmp_path / "web.save")]])


def test_restore_of_a_missing_file_says_so(tmp_path, capsys):
    code, xl = run("restore", str(tmp_path / "absent.save"))
    assert code == 1 and xl.actions() == []
    assert "does not exist" in capsys.readouterr().err


def test_list_json_shows_running_guests_outside_the_catalog(capsys):
    code, _ = run("list", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    web = next(r for r in rows if r["name"] == "web")
    assert (web["state"], web["domid"], web["memory_mib"]) == ("running", 3, 96)
    assert all(r["name"] != "Domain-0" for r in rows)


def test_check_says_valid_or_lists_the_problems(tmp_path, capsys):
    bundle = tmp_path / "ok"
    bundle.mkdir()
    (bundle / "vmlinuz").write_bytes(b"kernel")
    (bundle / "appliance.toml").write_text(
        'name = "ok"\ntype = "pv"\n[memory]\ninitial_mib = 64\n[boot]\nkernel = "vmlinuz"\n')
    assert run("check", str(bundle))[0] == 0
    (bundle / "appliance.toml").write_text('name = "ok"\ntype = "pv"\nmemory = 64\n')
    assert run("check", str(bundle))[0] == 1
    assert "memory" in capsys.readouterr().err


def test_every_command_has_help():
    parser = build_parser()
    for words in (["appliance", "--help"], ["appliance", "save", "--help"], ["host", "info", "--help"],
                  ["answer", "check", "--help"]):
        with pytest.raises(SystemExit) as done:
            parser.parse_args(words)
        assert done.value.code == 0


# ---- import: the name decides the folder, so it follows the manifest's rule ------------------------------------

def imported(tmp_path, cfg: bytes, capsys):
    (tmp_path / "guest.cfg").write_bytes(cfg)
    into = tmp_path / "deep" / "appliances"
    code, _ = run("import", str(tmp_path / "guest.cfg"), "--into", str(into))
    return code, capsys.readouterr(), into


@pytest.mark.parametrize("name, shown", [('"../../x"', "'../../x'"), ('"/tmp/evil"', "'/tmp/evil'"),
                                         ('".hidden"', "'.hidden'"), ("5", "5"), ('["a"]', "['a']"),
                                         ('"a b"', "'a b'"), ('""', "''")])
def test_an_imported_name_that_could_leave_the_folder_or_is_no_text_is_refused(tmp_path, capsys, name, shown):
    code, said, into = imported(tmp_path, f'memory = 128\nname = {name}\n'.encode(), capsys)
    assert code == 1
    assert f"guest.cfg, line 2: {shown} cannot name an appliance: a name is 1-64 letters" in said.err
    assert 'set name = "my-guest"' in said.err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["guest.cfg"]       # nothing written anywhere


def test_a_file_name_that_is_no_appliance_name_says_to_add_one(tmp_path, capsys):
    (tmp_path / "my guest.cfg").write_bytes(b"memory = 128\n")
    code, _ = run("import", str(tmp_path / "my guest.cfg"), "--into", str(tmp_path / "into"))
    assert code == 1
    assert "its file name (it has no name =): 'my guest' cannot name an appliance" in capsys.readouterr().err


def test_an_import_that_is_not_utf8_or_not_xl_cfg_says_where_without_a_traceback(tmp_path, capsys):
    code, said, _ = imported(tmp_path, b'memory = 128\nname = "caf\xe9"\n', capsys)
    assert code == 1
    assert "guest.cfg, line 2: b'\\xe9' is not UTF-8 text: save the file as UTF-8" in said.err
    code, said, _ = imported(tmp_path, b'memory = 128\nname = "web\n', capsys)
    assert code == 1 and "guest.cfg: 1 problem\n  line 2" in said.err


def test_a_good_import_lands_inside_into_and_never_over_a_link(tmp_path, capsys):
    (tmp_path / "vmlinuz").write_bytes(b"kernel")          # beside the xl.cfg: copied into the bundle
    code, said, into = imported(tmp_path, b'name = "web"\nmemory = 128\nkernel = "vmlinuz"\n', capsys)
    assert code == 0 and (into / "web" / "appliance.toml").is_file()
    (into / "db").symlink_to(tmp_path / "elsewhere")
    code, said, _ = imported(tmp_path, b'name = "db"\nmemory = 128\n', capsys)
    assert code == 1 and "db already exists" in said.err
    assert not (tmp_path / "elsewhere").exists()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=80),
                 st.builds(lambda name, rest: b"name = " + name + b"\n" + rest,
                           st.sampled_from([b'"../x"', b'"a/b"', b"'..'", b'"\\x00"', b"0x10", b'"\\xff"', b"[]",
                                            b'"web"', b'"' + b"a" * 70 + b'"']),
                           st.binary(max_size=30))))
def test_any_import_ends_in_an_appliance_inside_into_or_a_message(tmp_path_factory, cfg):
    folder = tmp_path_factory.mktemp("import")
    (folder / "guest.cfg").write_bytes(cfg)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code, _ = run("import", str(folder / "guest.cfg"), "--into", str(folder / "into"))
    written = [p for p in folder.rglob("*") if p.is_file() and p.name != "guest.cfg"]
    assert code in (0, 1)
    assert all(p.parent.parent == folder / "into" for p in written), written
    assert (code == 0) == bool(written) and (code == 0 or err.getvalue().startswith("xenbox: "))


# ---- add --from-device: a stick mounted read-only while it is read ------------------------------------------------

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"


@pytest.fixture
def stick(tmp_path, monkeypatch):
    """A stick's files in a folder; mounting it is the boundary (no stick on this build host, see
    test_storage_media for the mount itself): the stand-in records each mount and unmount."""
    import shutil
    from contextlib import contextmanager
    from hypervisor.appliances import adding
    folder, events = tmp_path / "stick", []
    shutil.copytree(SAMPLE, folder / "bundles" / "web")
    (folder / "photos").mkdir()

    @contextmanager
    def mounted(device, say):
        events.append(f"mount {device}")
        try:
            yield folder
        finally:
            events.append(f"umount {device}")
    monkeypatch.setattr(adding, "mounted_read_only", mounted)
    return folder, events


def test_add_from_a_device_lists_its_bundles_then_adds_the_one_named_and_unmounts(tmp_path, stick, capsys,
                                                                                   monkeypatch):
    """Its image goes onto the pool named: a real file pool in the test's folder (pools added by name are
    read from the data store, which this host has not)."""
    from hypervisor.appliances import importing
    from hypervisor.storage.pools import FilePool
    opened = []
    monkeypatch.setattr(importing, "pool_target", lambda name: opened.append(name) or importing.FileTarget(
        name, FilePool(folder=tmp_path / "nas", problem=lambda: None)))
    folder, events = stick
    into = tmp_path / "appliances"
    assert run("add", "--from-device", "sdb1", "--into", str(into))[0] == 0
    out = capsys.readouterr().out
    assert "xenbox: bundles on sdb1:\n  bundles/web/\n" in out
    assert "`xenbox appliance add --from-device sdb1 bundles/web/`" in out
    assert events == ["mount sdb1", "umount sdb1"] and not into.exists()
    assert run("add", "--from-device", "sdb1", "bundles/web/", "--into", str(into), "--pool", "nas")[0] == 0
    assert (into / "sample-web" / "appliance.toml").is_file() and not (into / "sample-web" / "data.img").exists()
    assert set(opened) == {"nas"} and (tmp_path / "nas" / "sample-web.xvda.raw").is_file()
    assert events[2:] == ["mount sdb1", "umount sdb1"]
    assert run("add", "--from-device", "sdb1", "photos", "--into", str(into))[0] == 1
    assert "photos is no bundle on the device (a folder holding appliance.toml or a .tar of one); it holds " \
           "bundles/web/" in capsys.readouterr().err
    assert events[-1] == "umount sdb1"
    assert run("add", "--into", str(into))[0] == 2


def test_list_says_why_a_stopped_appliance_is_not_running(monkeypatch, capsys):
    """What its last start left: here the captured panic of a PV kernel with no root fs."""
    import time
    from hypervisor.appliances import why_stopped
    from hypervisor.appliances.catalog import read_entry
    from hypervisor.cli import appliance as cli
    from hypervisor.xen import daemons as xen_daemons
    fixtures = Path(__file__).resolve().parent.parent / "fixtures"
    monkeypatch.setattr(cli, "discover", lambda: [read_entry(fixtures / "appliances" / "sample-web")])
    why_stopped.record("sample-web", why_stopped.Run(time.time() - 20))
    xen_daemons.CONSOLE_LOGS.mkdir(parents=True)
    (xen_daemons.CONSOLE_LOGS / "guest-sample-web.log").write_text(
        (fixtures / "xen" / "failures" / "guest-pv-no-root.log").read_text())
    assert run("list")[0] == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("sample-web           stopped")
    assert lines[2].startswith("    sample-web crashed after it started at ")
    assert "its kernel panicked: VFS: Unable to mount root fs on unknown-block(0,0)" in lines[2]
    assert lines[-2].startswith("      Kernel panic - not syncing: VFS") and lines[-1].startswith("web ")
    run("list", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert "its kernel panicked" in next(r for r in rows if r["name"] == "sample-web")["why_stopped"]
    assert next(r for r in rows if r["name"] == "web")["why_stopped"] is None


def test_list_says_which_running_guests_pv_drivers_connected_their_devices(monkeypatch, capsys):
    """web (domid 3 in XL_LIST) as the sample guest was in a real boot: test_frontends.py's capture, domid 1."""
    from test_frontends import captured
    from hypervisor.cli import appliance as cli
    from hypervisor.xen.frontends import Frontends
    xenstore = captured().replace("/local/domain/1/", "/local/domain/3/").replace("/backend/vif/1/", "/backend/vif/3/")
    monkeypatch.setattr(cli, "Frontends", lambda: Frontends(run=lambda argv, **options: xenstore))
    monkeypatch.setattr(cli, "discover", lambda: [])
    assert run("list", "--json")[0] == 0
    (web,) = json.loads(capsys.readouterr().out)
    assert web["pv_drivers"] == {"disks": {"connected": 0, "devices": 0}, "nics": {"connected": 1, "devices": 1},
                                 "summary": "PV drivers: NICs 1/1 connected"}
    assert run("list")[0] == 0
    header, line = capsys.readouterr().out.splitlines()
    assert header.endswith("AUTOSTART  PV DISKS NICS") and line.endswith(" no         0/0 1/1")
    assert len(header) <= 80 and len(line) <= 80
