"""One table of appliance actions: `xenbox appliance VERB` and the Appliances screen's Job for the same
verb make the same xl call and say the same words. xl cannot run here (no Xen): its runner records the
argv, as in test_appliance_cli.py."""
from pathlib import Path

import pytest

from hypervisor.appliances.actions import ACTIONS
from hypervisor.cli.main import build_parser
from hypervisor.xen.xl import Xl
from tui.screens import appliance_jobs as jobs
from tui.screens.appliance_input import Pin
from tui.screens.appliance_rows import ApplianceRow
from test_appliance_cli import RecordingXl

ROW = ApplianceRow(name="web", state="running", domid=3, vcpus=1, memory_mib=96, cpu=None, autostart=False)

# verb: (the CLI's words after the name, the screen's Job, the xl argv both must make)
CASES = {
    "reboot": ((), lambda xl: jobs.reboot(xl, ROW), ["reboot", "web"]),
    "destroy": (("--yes",), lambda xl: jobs.destroy(xl, ROW), ["destroy", "web"]),
    "mem-set": (("160",), lambda xl: jobs.set_memory(xl, ROW, 160), ["mem-set", "web", "160m"]),
    "vcpu-set": (("2",), lambda xl: jobs.set_vcpus(xl, ROW, 2), ["vcpu-set", "web", "2"]),
    "vcpu-pin": (("0", "1"), lambda xl: jobs.pin(xl, ROW, Pin("0", "1")), ["vcpu-pin", "web", "0", "1"]),
    "rename": (("web2",), lambda xl: jobs.rename(xl, ROW, "web2"), ["rename", "web", "web2"]),
    "sysrq": (("s",), lambda xl: jobs.sysrq(xl, ROW, "s"), ["sysrq", "web", "s"]),
}


@pytest.mark.parametrize("verb", sorted(CASES))
def test_the_console_and_the_cli_make_the_same_call_and_say_the_same(verb, capsys):
    cli_words, job_for, argv = CASES[verb]
    cli = RecordingXl()
    args = build_parser().parse_args(["appliance", verb, "web", *cli_words])
    assert args.handler(args, Xl(run=cli)) == 0
    said_by_cli = capsys.readouterr().out.strip().removeprefix("xenbox: ")     # say() names the program

    screen = RecordingXl()
    job = job_for(Xl(run=screen))
    said_on_screen = job.call()

    assert cli.actions() == screen.actions() == [argv]
    assert said_on_screen == said_by_cli
    assert job.doing.startswith(ACTIONS[verb].doing.split(" ")[0])


def test_dump_core_makes_the_core_folder_and_names_the_file(tmp_path, capsys):
    path = tmp_path / "cores" / "web.core"
    screen = RecordingXl()
    said = jobs.dump_core(Xl(run=screen), ROW, path).call()
    assert path.parent.is_dir()
    assert screen.actions() == [["dump-core", "web", str(path)]]
    assert said == f"web's memory written to {path}"


def test_every_verb_says_something_for_each_of_its_values():
    values = {"mib": 1, "count": 1, "vcpu": "0", "cpus": "1", "new": "x", "key": "s", "path": Path("/c")}
    for verb, action in ACTIONS.items():
        doing, failed, done = action.words("web", **values)
        assert "web" in doing and "web" in failed and "web" in done, verb
