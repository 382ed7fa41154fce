"""Xen's bindings give the figures `xl list` and `xl info` print: checked on one real capture of each."""
import json
from pathlib import Path

import pytest

from hypervisor import xen_bindings
from hypervisor.xen_bindings import BindingError, domain_from_info, memory_from_physinfo, state_flags
from hypervisor.xl import Xl, parse_info, parse_list

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


def test_when_the_bindings_fail_xl_is_asked_and_keeps_being_asked():
    calls = []

    def run(argv, timeout):
        calls.append(argv)
        return (XEN / "xl-list.txt").read_text()
    xl = Xl(run=run)
    xl._bindings = FailingBindings()
    assert [d.name for d in xl.domains()] == ["Domain-0", "sample-web"]
    assert xl._bindings is None and calls == [["xl", "list"]]


def test_an_injected_runner_never_reaches_for_the_bindings():
    xl = Xl(run=lambda argv, timeout: (XEN / "xl-list.txt").read_text())
    xl.domains()
    assert xl._bindings is None
