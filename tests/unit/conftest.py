"""The unit tests never read the markers a XenBox boot leaves on the machine running them."""
import pytest

from hypervisor.answer import first_boot
from hypervisor.appliances import autostart_status
from hypervisor.host import boot_problems
from hypervisor.xen import daemons as xen_daemons


@pytest.fixture(autouse=True)
def markers_of_this_test_only(tmp_path, monkeypatch):
    # On a dom0, or a build host where a console once ran, /run/xenbox holds the first-boot marker and
    # the daemons' one: a console under test would open its first-boot screens, or wait for Xen.
    monkeypatch.setattr(first_boot, "MARKER", tmp_path / "markers" / "first-boot")
    monkeypatch.setattr(xen_daemons, "STARTING", tmp_path / "markers" / "xen-starting")
    # ... nor its reports for the overview, nor write them there.
    monkeypatch.setattr(autostart_status, "STATUS_FILE", tmp_path / "markers" / "autostart.json")
    monkeypatch.setattr(boot_problems, "PROBLEMS_FILE", tmp_path / "markers" / "boot-problems.json")
