"""Parsers for `xl` output, CPU % as a share of the host, and the files xl writes guest memory into."""
import os

import pytest

from hypervisor.runner import CommandError
from hypervisor.xen.domains import (CpuMeter, Domain, XenInfo, has_shut_down, parse_info, parse_list, state_has,
                                    state_name, stopped_but_held)
from hypervisor.xen.xl import Xl, libxl_reason

XL_LIST = """Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0  1024     2     r-----      35.2
web server one                               3   256     1     -b----       1.5
paused-one                                   4   128     1     --p---       0.3
"""


def test_list_names_with_spaces_and_states():
    domains = parse_list(XL_LIST)
    assert [(d.name, d.domid, d.memory_mib, d.state) for d in domains] == [
        ("Domain-0", 0, 1024, "running"), ("web server one", 3, 256, "running"), ("paused-one", 4, 128, "paused")]


def test_a_state_has_each_of_its_names_and_no_part_of_one():
    both = state_name("--ps--")
    assert both == "paused+shutdown"
    assert state_has(both, "paused") and state_has(both, "shutdown")
    assert not state_has(both, "running") and not state_has("paused", "pause")
    assert state_has(state_name("-b----"), "running")


def test_info_values_with_colons():
    info = XenInfo.from_info(parse_info("xen_major : 4\nxen_minor : 17\nxen_extra : .7\nnr_cpus : 2\n"
                                        "total_memory : 3071\nfree_memory : 2014\nvirt_caps : pv hvm hap\n"
                                        "xen_commandline : console=com1,vga com1=115200,8n1\n"))
    assert (info.version, info.nr_cpus, info.virt_caps) == ("4.17.7", 2, "pv hvm hap")


def test_three_guests_sharing_one_cpu_never_all_show_100_percent():
    meter = CpuMeter(nr_cpus=1)
    guests = [Domain(f"g{i}", i, 128, 1, "running", 0.0) for i in (1, 2, 3)]
    assert all(v is None for v in meter.sample(guests, now=0.0).values())
    later = [Domain(f"g{i}", i, 128, 1, "running", 10 / 3) for i in (1, 2, 3)]
    percents = meter.sample(later, now=10.0)
    assert sum(percents.values()) <= 100.0 + 1e-9


def test_libxl_reason_is_the_failure_not_the_clean_up_after_it():
    # `xl create` of a guest whose disk's hotplug script hung, as seen in dom0 under TCG.
    output = """libxl: error: libxl_aoutils.c:539:async_exec_timeout: killing execution of /etc/xen/scripts/block add because of timeout
libxl: error: libxl_create.c:1672:domcreate_launch_dm: Domain 3:unable to add disk devices
libxl: error: libxl_domain.c:1183:libxl__destroy_domid: Domain 3:Non-existant domain
libxl: error: libxl_domain.c:1137:domain_destroy_callback: Domain 3:Unable to destroy guest
libxl: error: libxl_domain.c:1064:domain_destroy_cb: Domain 3:Destruction of domain failed
"""
    assert libxl_reason(output) == ("killing execution of /etc/xen/scripts/block add because of timeout; "
                                    "unable to add disk devices")
    assert libxl_reason("Parsing config from x.cfg\n") is None


def test_a_guest_has_shut_down_when_gone_or_shut_down_but_not_when_paused_or_crashed():
    assert has_shut_down(None)
    assert has_shut_down(Domain("web", 3, 128, 1, "shutdown", 1.0))
    assert has_shut_down(Domain("web", 3, 128, 1, "paused+shutdown", 1.0))
    assert not has_shut_down(Domain("web", 3, 128, 1, "paused", 1.0))
    assert not has_shut_down(Domain("web", 3, 128, 1, "crashed", 1.0))


def test_a_guest_is_stopped_but_held_when_xen_lists_it_shut_down_crashed_or_dying():
    held = [state for state in ("shutdown", "crashed", "dying", "paused+shutdown", "running", "paused")
            if stopped_but_held(Domain("web", 3, 128, 1, state, 1.0))]
    assert held == ["shutdown", "crashed", "dying", "paused+shutdown"]


# -- saved guest memory is root's alone ---------------------------------------------------------------
# Xen cannot run here: `xl` is played by a runner that opens its file as xl_saverestore.c does
# (O_WRONLY|O_CREAT|O_TRUNC, mode 644) and writes into it, noting the file's mode at that moment.

class SavingXl:
    def __init__(self, fails: bool = False) -> None:
        self.fails, self.modes_at_open = fails, []

    def __call__(self, argv, *, input=None, timeout=60):
        if self.fails:
            raise CommandError(tuple(argv), 1, "xl: no such domain")
        path = argv[-1]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.modes_at_open.append(os.fstat(fd).st_mode & 0o777)
        os.write(fd, b"Xen saved domain, xl format\n" + b"\0" * 4096)
        os.close(fd)
        return ""


@pytest.fixture
def open_umask():
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.parametrize("command", ["save", "dump_core"])
def test_guest_memory_is_600_before_xl_writes_it_and_after(tmp_path, open_umask, command):
    xl, path = SavingXl(), tmp_path / "web.save"
    getattr(Xl(run=xl), command)("web", str(path))
    assert xl.modes_at_open == [0o600]
    assert path.stat().st_mode & 0o777 == 0o600 and path.stat().st_size > 4096


def test_saving_over_an_old_public_file_makes_it_private_first(tmp_path, open_umask):
    path = tmp_path / "web.save"
    path.write_bytes(b"an older save")
    path.chmod(0o644)
    xl = SavingXl()
    Xl(run=xl).save("web", str(path))
    assert xl.modes_at_open == [0o600] and path.stat().st_mode & 0o777 == 0o600


def test_a_symbolic_link_is_not_followed_to_save_into(tmp_path):
    elsewhere = tmp_path / "shadow"
    elsewhere.write_text("not a save file\n")
    (tmp_path / "web.save").symlink_to(elsewhere)
    xl = SavingXl()
    with pytest.raises(CommandError, match="web.save: Too many levels of symbolic links"):
        Xl(run=xl).save("web", str(tmp_path / "web.save"))
    assert xl.modes_at_open == [] and elsewhere.read_text() == "not a save file\n"


def test_a_save_xl_refused_leaves_no_empty_file(tmp_path):
    with pytest.raises(CommandError, match="no such domain"):
        Xl(run=SavingXl(fails=True)).save("nope", str(tmp_path / "nope.save"))
    assert not (tmp_path / "nope.save").exists()
