"""Xen's bindings give the figures `xl list` and `xl info` print: checked on one real capture of each."""
import json
from pathlib import Path

import pytest

from hypervisor.xen import bindings as xen_bindings
from hypervisor.xen.capabilities import hvm_support
from hypervisor.xen.bindings import (BindingError, XenBindings, domain_from_info, info_from_bindings, memory_from_physinfo, state_flags)
from hypervisor.xen.domains import XenInfo, parse_info, parse_list
from hypervisor.xen.xl import Xl

XEN = Path(__file__).resolve().parents[1] / "fixtures" / "xen"
NAMES = {0: "Domain-0", 1: "sample-web"}


def captured(name):
    return json.loads((XEN / name).read_text())


def test_domains_from_the_bindings_match_xl_list_taken_seconds_later():
    from_bindings = [domain_from_info(info, NAMES[info["domid"]]) for info in captured("domain_getinfo.json")]
    from_xl = parse_list((XEN / "xl-list.txt").read_text())
    # CPU time moved on between the two captures; everything else must agree.
    strip = lambda d: (d.name, d.domid, d.memory_mib, d.vcpus, d.state)    # noqa: E731
    assert [strip(d) for d in from_bindings] == [strip(d) for d in from_xl]
    assert from_bindings[1].cpu_seconds == pytest.approx(65.662857458)


def test_free_memory_from_the_bindings_is_xl_infos_mib():
    info = parse_info((XEN / "xl-info-memory.txt").read_text())
    total, free = memory_from_physinfo(captured("physinfo.json"))
    assert total == int(info["total_memory"])
    assert free == int(info["free_memory"])


def test_version_cpus_and_memory_from_the_bindings_are_xl_infos():
    both = captured("xeninfo-physinfo.json")
    from_bindings = info_from_bindings(both["xeninfo"], both["physinfo"])
    from_xl = XenInfo.from_info(parse_info((XEN / "xl-info.txt").read_text()))
    assert from_bindings == XenInfo(version="4.17.7", nr_cpus=2, total_memory_mib=3071, free_memory_mib=1918,
                                    virt_caps="", hw_caps=from_xl.hw_caps)
    assert from_xl.hw_caps == "178bf3fd:80002001:20100800:00000007:00000000:00000000:00000000:00000000"
    assert from_xl.version == from_bindings.version and from_xl.nr_cpus == from_bindings.nr_cpus
    assert (from_xl.total_memory_mib, from_xl.free_memory_mib) == (3071, 1918)


def test_without_virt_caps_hvm_is_still_judged_right_on_both_captured_cpus():
    """The bindings' virt_caps lack "hap": the answer then rests on /sys/hypervisor and the log."""
    both = captured("xeninfo-physinfo.json")
    info = info_from_bindings(both["xeninfo"], both["physinfo"])
    with_npt = hvm_support(xen_log=(XEN / "dmesg-qemu64-npt.txt").read_text(), virt_caps=info.virt_caps,
                           sys_capabilities=both["xeninfo"]["xen_caps"])
    assert with_npt.line == "HVM: available (AMD-V)"
    without = hvm_support(xen_log=(XEN / "dmesg-haswell-notsx.txt").read_text(), virt_caps=info.virt_caps,
                          sys_capabilities="xen-3.0-x86_64 ")
    assert without.line == "HVM: unavailable — this CPU has no VT-x/AMD-V"


class RingOnly:
    """Stands in for xen.lowlevel.xc (the hypercall boundary does not exist off a Xen host):
    its console ring comes back as bytes, as the real one's did in dom0."""
    class Error(Exception):
        pass

    def __init__(self, ring):
        self.ring = ring

    def xc(self):
        return self

    def readconsolering(self):
        if isinstance(self.ring, Exception):
            raise self.ring
        return self.ring


class NoXenstore:
    class Error(Exception):
        pass

    def xs(self):
        return self


def test_xens_log_from_the_bindings_is_the_ring_as_text():
    ring = (XEN / "dmesg-qemu64-npt.txt").read_bytes()
    assert XenBindings(RingOnly(ring), NoXenstore()).log() == ring.decode()
    with pytest.raises(BindingError, match="no privcmd"):
        XenBindings(RingOnly(RingOnly.Error("no privcmd")), NoXenstore()).log()


def test_a_garbled_version_is_a_binding_error():
    with pytest.raises(BindingError, match="xen_minor"):
        info_from_bindings({"xen_major": 4}, captured("xeninfo-physinfo.json")["physinfo"])


@pytest.mark.parametrize("flags, expected", [
    ({"running": 1}, "r-----"), ({"blocked": 1}, "-b----"), ({"paused": 1, "blocked": 1}, "-bp---"),
    ({"shutdown": 1, "crashed": 1}, "---sc-"), ({"dying": 1}, "-----d"), ({}, "------")])
def test_state_letters_are_xl_lists(flags, expected):
    assert state_flags(flags) == expected


def test_a_garbled_entry_is_a_binding_error_not_a_crash():
    with pytest.raises(BindingError, match="mem_kb"):
        domain_from_info({"domid": 3, "online_vcpus": 1, "cpu_time": 0}, "x")
    with pytest.raises(BindingError):
        memory_from_physinfo({"total_memory": "lots"})


def test_a_domain_without_a_name_yet_is_named_by_its_id():
    assert xen_bindings.name_of(None, 7) == "(domain 7)"
    assert xen_bindings.name_of(b"web", 7) == "web"


class FailingBindings:
    """Stands in for the hypercall boundary, which does not exist off a Xen host."""
    def domains(self):
        raise BindingError("privcmd: permission denied")

    info = log = domains


def test_when_the_bindings_fail_xl_is_asked_and_keeps_being_asked():
    calls, opened = [], []

    def run(argv, timeout):
        calls.append(argv)
        return (XEN / "xl-list.txt").read_text()
    xl = Xl(run=run, bindings=lambda: opened.append(1) or FailingBindings())
    assert [d.name for d in xl.domains()] == ["Domain-0", "sample-web"]
    assert [d.name for d in xl.domains()] == ["Domain-0", "sample-web"]
    assert opened == [1] and calls == [["xl", "list"], ["xl", "list"]]


def test_when_the_bindings_fail_xens_version_and_log_come_from_xl():
    calls = []

    def run(argv, timeout):
        calls.append(argv[1:])
        return (XEN / "xl-info.txt").read_text() if argv[1:] == ["info"] else "(XEN) log line\n"
    xl = Xl(run=run, bindings=FailingBindings)
    assert xl.info().version == "4.17.7"
    assert xl.dmesg() == "(XEN) log line\n"
    assert calls == [["info"], ["dmesg"]]


class CapturedBindings:
    """The bindings' answers as captured on a real host (domain_getinfo.json), without the hypercalls."""
    def domains(self):
        return [domain_from_info(info, NAMES[info["domid"]]) for info in captured("domain_getinfo.json")]


def test_with_bindings_the_domain_list_costs_no_xl_process_and_waits_for_xens_daemons_first():
    said = []
    xl = Xl(run=lambda argv, timeout: said.append(argv) or "", bindings=lambda: said.append("open") or CapturedBindings(),
            wait_for_daemons=lambda: said.append("wait"))
    assert [d.name for d in xl.domains()] == ["Domain-0", "sample-web"]
    assert said == ["wait", "open"]


def test_where_there_are_no_bindings_xl_is_asked_after_waiting_for_xens_daemons():
    said = []
    xl = Xl(run=lambda argv, timeout: said.append(argv) or (XEN / "xl-list.txt").read_text(), bindings=lambda: None,
            wait_for_daemons=lambda: said.append("wait"))
    xl.domains()
    assert said[0] == "wait" and said[-1] == ["xl", "list"]
