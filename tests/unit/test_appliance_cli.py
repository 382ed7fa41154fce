"""`xenbox appliance ...`: exit codes and the xl calls each command makes.

xl itself cannot run on this build host (no Xen), so the commands get an Xl whose
runner records the argv and answers `xl list` with a real captured layout: the
boundary, not the logic, is stood in for.
"""
import io
import json
import sys
from pathlib import Path

import pytest

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
