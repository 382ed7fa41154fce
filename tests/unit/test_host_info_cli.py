"""`xenbox host info`: the microcode line and the firmware lines, with `xl` answered from captures.

xl cannot run on this build host (no Xen): its runner answers `xl info` with tests/fixtures/xen/xl-info.txt
and `xl dmesg` with a real boot log that has a microcode update (tests/fixtures/xen/README.md). dom0's
/proc/cpuinfo and /dev/kmsg are this host's own, so only Xen's part of the answer is checked exactly."""
import contextlib
import io
import json
from pathlib import Path

from hypervisor.cli.main import build_parser
from hypervisor.xen.xl import Xl

FIXTURES = Path(__file__).parent.parent / "fixtures" / "xen"


def answer(argv, *, input=None, timeout=60):
    if argv[1:] == ["info"]:
        return (FIXTURES / "xl-info.txt").read_text()
    if argv[1:] == ["dmesg"]:
        return (FIXTURES / "microcode-updated-amd.txt").read_text()
    raise AssertionError(f"unexpected xl call {argv}")


def host_info(*flags):
    args = build_parser().parse_args(["host", "info", *flags])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert args.handler(args, Xl(run=answer)) == 0
    return out.getvalue()


def test_the_microcode_line_says_what_xen_did():
    text = host_info()
    assert "\nmicrocode    0xa001137 -> 0xa0011d7 (2024-09-06), updated by Xen at boot\n" in text


def test_json_has_the_revisions_and_the_firmware_list():
    data = json.loads(host_info("--json"))
    assert data["microcode"]["before"] == "0xa001137" and data["microcode"]["after"] == "0xa0011d7"
    assert data["microcode"]["line"].startswith("microcode    0xa001137 -> ")
    assert isinstance(data["missing_firmware"], list)
