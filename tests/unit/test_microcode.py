"""The CPU's microcode revision from Xen's boot log and dom0's /proc/cpuinfo, on real captures
(tests/fixtures/xen/README.md says where each came from)."""
from pathlib import Path

from hypervisor.xen.microcode import microcode

FIXTURES = Path(__file__).parent.parent / "fixtures" / "xen"


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_an_update_at_boot_shows_before_and_after():
    code = microcode(text("microcode-updated-amd.txt"), "")
    assert (code.before, code.after, code.date) == ("0xa001137", "0xa0011d7", "2024-09-06")
    assert code.line == "microcode    0xa001137 -> 0xa0011d7 (2024-09-06), updated by Xen at boot"


def test_a_later_run_time_load_is_the_after_and_dom0_sees_it():
    capture = text("microcode-updated-intel.txt")
    code = microcode(capture, capture)      # the docs' /proc/cpuinfo follows the log in the same capture
    assert (code.before, code.after, code.date) == ("0x1a", "0x27", "2019-02-26")
    assert code.now == "0x25"               # the docs' cpuinfo was taken between the two loads


def test_under_qemu_xen_says_it_cannot_load_and_dom0s_revision_is_shown():
    cpuinfo = "vendor_id\t: AuthenticAMD\nmicrocode\t: 0x1000065\n"
    code = microcode(text("dmesg-qemu64-npt.txt"), cpuinfo)
    assert code.after is None
    assert code.line == "microcode    0x1000065, not updated: this CPU cannot load microcode under Xen"


def test_nothing_known_is_said_plainly():
    assert microcode("", "").line == "microcode    revision unknown (Xen said nothing about it)"
    assert microcode("(XEN) microcode: couldn't find any matching ucode in the provided blob!", "").line == (
        "microcode    revision unknown: the image has no microcode for this CPU")
