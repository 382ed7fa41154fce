"""Starting an appliance whose previous run has just stopped.

`xl shutdown -w` returns when the guest has stopped, before xl's monitor has destroyed it; for
that moment Xen still lists it by name. Xen cannot run here, so `xl` answers from real captures
(tests/fixtures/xen) with the guest's state letters changed to what `xl list` prints then.
"""
from pathlib import Path

import pytest

from hypervisor.appliances.launch import LET_GO_WAIT_S, CannotStart, start
from hypervisor.appliances.manifest import parse_manifest
from hypervisor.runner import CommandError
from hypervisor.xen.xl import Xl

FIXTURES = Path(__file__).parent.parent / "fixtures" / "xen"
XL_LIST = (FIXTURES / "xl-list.txt").read_text()
# The capture was trimmed to the memory lines; the version lines are as that Xen printed them.
XL_INFO = "xen_major : 4\nxen_minor : 17\nxen_extra : .7\n" + (FIXTURES / "xl-info-memory.txt").read_text()
DOM0_ONLY = "".join(line for line in XL_LIST.splitlines(keepends=True) if "sample-web" not in line)


def listed_as(flags: str) -> str:
    """xl list with sample-web in the state `flags` (six letters, '-' where off)."""
    return XL_LIST.replace("r-----      76.6", f"{flags}      76.6")


class ScriptedXl:
    """Answers `xl list` with each of `lists` in turn (the last one from then on); records the rest."""

    def __init__(self, *lists: str) -> None:
        self.lists, self.actions = list(lists), []

    def __call__(self, argv, *, input=None, timeout=60):
        args = list(argv[1:])
        if args == ["list"]:
            return self.lists.pop(0) if len(self.lists) > 1 else self.lists[0]
        if args == ["info"]:
            return XL_INFO
        self.actions.append(args)
        return ""


@pytest.fixture
def manifest(tmp_path):
    (tmp_path / "vmlinuz").write_text("placeholder\n")
    return parse_manifest('name = "sample-web"\ntype = "pv"\n[memory]\ninitial_mib = 96\n'
                          '[boot]\nkernel = "vmlinuz"\n', tmp_path)


def started(manifest, tmp_path, xl_answers: ScriptedXl, sleeps: list[float]):
    return start(manifest, Xl(run=xl_answers), config_dir=tmp_path / "xl", sleep=sleeps.append)


@pytest.mark.parametrize("flags", ["---s--", "-----d", "---s-d", "----c-"])
def test_a_guest_that_has_stopped_is_waited_for_then_started(manifest, tmp_path, flags):
    xl, sleeps = ScriptedXl(listed_as(flags), listed_as(flags), DOM0_ONLY), []
    started(manifest, tmp_path, xl, sleeps)
    assert xl.actions == [["create", str(tmp_path / "xl" / "sample-web.cfg")]]
    assert len(sleeps) == 2


def test_a_running_guest_is_refused_at_once(manifest, tmp_path):
    xl, sleeps = ScriptedXl(listed_as("-b----")), []
    with pytest.raises(CannotStart, match=r"^sample-web is already running \(domain 1\)$"):
        started(manifest, tmp_path, xl, sleeps)
    assert xl.actions == [] and sleeps == []


def test_a_stopped_guest_xen_keeps_is_refused_with_what_to_do(manifest, tmp_path):
    xl, sleeps = ScriptedXl(listed_as("---s--")), []
    with pytest.raises(CannotStart, match=r"^sample-web has stopped but Xen still holds it \(domain 1\): "
                                          r"destroy it \(xenbox appliance destroy sample-web\)"):
        started(manifest, tmp_path, xl, sleeps)
    assert xl.actions == []
    assert sum(sleeps) == LET_GO_WAIT_S


def test_a_crashed_guest_kept_for_inspection_says_so(manifest, tmp_path):
    xl, sleeps = ScriptedXl(listed_as("----c-")), []
    with pytest.raises(CannotStart, match=r"^sample-web crashed and Xen keeps it for inspection \(domain 1\)"):
        started(manifest, tmp_path, xl, sleeps)
    assert xl.actions == []


def test_a_guest_that_is_not_there_starts_without_waiting(manifest, tmp_path):
    xl, sleeps = ScriptedXl(DOM0_ONLY), []
    started(manifest, tmp_path, xl, sleeps)
    assert xl.actions == [["create", str(tmp_path / "xl" / "sample-web.cfg")]] and sleeps == []


def test_a_paused_start_builds_the_guest_without_running_it(manifest, tmp_path):
    xl = ScriptedXl(DOM0_ONLY)
    start(manifest, Xl(run=xl), config_dir=tmp_path / "xl", paused=True)
    assert xl.actions == [["create", "-p", str(tmp_path / "xl" / "sample-web.cfg")]]


HVM_WITH_EMPTY_CD = """name = "installer"
type = "hvm"
[memory]
initial_mib = 128
[[disks]]
cdrom = true
target = "hdc"
"""


@pytest.mark.parametrize("paused", [False, True])
def test_an_empty_cd_drive_starts_with_a_blank_placeholder_emptied_before_the_guest_runs(tmp_path, paused):
    """libxl 4.17 cannot insert a CD into a drive an HVM guest was started with empty (seen in e2e)."""
    manifest = parse_manifest(HVM_WITH_EMPTY_CD, tmp_path)
    xl = ScriptedXl(DOM0_ONLY)
    cfg = start(manifest, Xl(run=xl), config_dir=tmp_path / "xl", sleep=lambda _: None, paused=paused)
    placeholder = tmp_path / "xl" / "empty-cd.iso"
    assert f"target={placeholder}" in cfg.read_text() and placeholder.read_bytes() == bytes(2048)
    assert xl.actions == [["create", "-p", str(cfg)], ["cd-eject", "installer", "hdc"]] + \
        ([] if paused else [["unpause", "installer"]])


class EjectFails(ScriptedXl):
    def __call__(self, argv, *, input=None, timeout=60):
        if list(argv[1:2]) == ["cd-eject"]:
            self.actions.append(list(argv[1:]))
            raise CommandError(list(argv), 1, "libxl: error: QMP command failed")
        return super().__call__(argv, input=input, timeout=timeout)


def test_a_placeholder_xen_cannot_take_out_leaves_no_guest_running(tmp_path):
    xl = EjectFails(DOM0_ONLY)
    with pytest.raises(CannotStart, match="installer was not started: its empty CD drive could not be emptied"):
        start(parse_manifest(HVM_WITH_EMPTY_CD, tmp_path), Xl(run=xl), config_dir=tmp_path / "xl",
              sleep=lambda _: None)
    assert [action[0] for action in xl.actions] == ["create", "cd-eject", "destroy"]
