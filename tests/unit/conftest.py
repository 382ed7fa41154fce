"""The unit tests never read the markers a XenBox boot leaves on the machine running them."""
import pytest

from hypervisor.answer import first_boot
from hypervisor.appliances import autostart_status, why_stopped
from hypervisor.host import boot_problems, data_store_word, wrong_tries
from hypervisor.xen import daemons as xen_daemons


@pytest.fixture(autouse=True)
def markers_of_this_test_only(tmp_path, monkeypatch):
    # On a dom0, or a build host where a console once ran, /run/xenbox holds the first-boot marker and
    # the daemons' one: a console under test would open its first-boot screens, or wait for Xen. The boot's
    # word on the data store would lock it; the wrong passwords typed there would slow its tries.
    monkeypatch.setattr(first_boot, "MARKER", tmp_path / "markers" / "first-boot")
    monkeypatch.setattr(xen_daemons, "STARTING", tmp_path / "markers" / "xen-starting")
    # ... nor its reports for the overview, nor write them there.
    monkeypatch.setattr(autostart_status, "STATUS_FILE", tmp_path / "markers" / "autostart.json")
    monkeypatch.setattr(boot_problems, "PROBLEMS_FILE", tmp_path / "markers" / "boot-problems.json")
    monkeypatch.setattr(data_store_word, "WORD", tmp_path / "markers" / "data-store")
    monkeypatch.setattr(wrong_tries, "WRONG_TRIES", tmp_path / "markers" / "console-wrong-tries")
    # ... nor keep its records of appliance starts there, nor read a guest's console or qemu-dm log.
    monkeypatch.setattr(why_stopped, "RUNS", tmp_path / "markers" / "runs")
    monkeypatch.setattr(why_stopped, "QEMU_LOGS", tmp_path / "markers" / "xen-logs")
    monkeypatch.setattr(xen_daemons, "CONSOLE_LOGS", tmp_path / "markers" / "xen-logs" / "console")
