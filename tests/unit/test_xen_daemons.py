"""The wait for Xen's daemons at boot, on a real marker file removed by another thread (as rc.services does)."""
from __future__ import annotations

import threading

from hypervisor.xen import daemons as xen_daemons


def test_no_marker_means_up_at_once(tmp_path):
    marker = tmp_path / "xen-starting"
    assert not xen_daemons.starting(marker)
    assert xen_daemons.wait_until_up(marker, limit=0.0)


def test_waits_until_the_marker_is_removed(tmp_path):
    marker = tmp_path / "xen-starting"
    marker.touch()
    assert xen_daemons.starting(marker)
    threading.Timer(0.3, marker.unlink).start()
    assert xen_daemons.wait_until_up(marker, limit=10, poll=0.02)
    assert not marker.exists()


def test_gives_up_after_the_limit_when_the_daemons_never_come(tmp_path):
    marker = tmp_path / "xen-starting"
    marker.touch()
    assert not xen_daemons.wait_until_up(marker, limit=0.2, poll=0.02)
