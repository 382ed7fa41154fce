"""PV drivers per guest from xenstore (hypervisor/xen/frontends.py), read from a real capture.

xenstore-ls-pv-guest.txt is what `xenstore-ls -f /local/domain` printed in a booted XenBox with the
sample appliance (a PV guest, one NIC, no disk) running and serving; xenstore-ls-hvm-guest.txt the same
with an HVM guest running GRUB from a CD (a disk, the CD, a NIC, no PV drivers): tests/fixtures/xen/README.md.
Other frontend states are the PV capture with its `state` line changed; xenstore cannot run on this host.
"""
from pathlib import Path

import pytest

from hypervisor.runner import CommandError, ParseError
from hypervisor.xen.frontends import Count, Frontends, PvDrivers, parse_tree, pv_drivers, read_pv_drivers

CAPTURE = Path(__file__).resolve().parent.parent / "fixtures" / "xen" / "xenstore-ls-pv-guest.txt"
HVM_CAPTURE = CAPTURE.with_name("xenstore-ls-hvm-guest.txt")
GUEST = 1       # sample-web's domid in the capture


def captured() -> str:
    return CAPTURE.read_text()


def with_frontend_state(text: str, state: str) -> str:
    """The capture as if the guest had no PV driver: every frontend left at `state`."""
    lines = []
    for line in text.splitlines():
        if line.startswith(f"/local/domain/{GUEST}/device/") and line.endswith('/state = "4"'):
            line = line[:-len('"4"')] + f'"{state}"'
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_the_pv_sample_guests_nic_is_connected_and_it_has_no_disk():
    found = pv_drivers(parse_tree(captured()))
    assert found == {GUEST: PvDrivers(disks=Count(0, 0), nics=Count(1, 1))}
    assert found[GUEST].summary == "PV drivers: NICs 1/1 connected"
    assert found[GUEST].short == "0/0 1/1"
    assert found[GUEST].as_json() == {"disks": {"connected": 0, "devices": 0},
                                      "nics": {"connected": 1, "devices": 1},
                                      "summary": "PV drivers: NICs 1/1 connected"}


def test_an_hvm_guest_without_pv_drivers_has_emulated_devices_and_its_cd_is_not_counted():
    found = pv_drivers(parse_tree(HVM_CAPTURE.read_text()))
    assert found == {2: PvDrivers(disks=Count(0, 1), nics=Count(0, 1))}
    assert found[2].summary == "no PV drivers (emulated devices)" and found[2].short == "emulated"


@pytest.mark.parametrize("state", ["1", "2", "3", "6"])
def test_a_frontend_below_connected_is_an_emulated_device(state):
    drivers = pv_drivers(parse_tree(with_frontend_state(captured(), state)))[GUEST]
    assert drivers == PvDrivers(Count(0, 0), Count(0, 1))
    assert drivers.summary == "no PV drivers (emulated devices)" and drivers.short == "emulated"


def test_a_frontend_with_no_state_at_all_is_not_connected():
    text = "\n".join(line for line in captured().splitlines()
                     if not (line.startswith(f"/local/domain/{GUEST}/device/vif/") and line.endswith('/state = "4"')))
    assert pv_drivers(parse_tree(text))[GUEST].nics == Count(0, 1)


def test_the_sentences_for_all_some_and_none_connected():
    assert PvDrivers(Count(1, 1), Count(1, 1)).summary == "PV drivers: disks 1/1, NICs 1/1 connected"
    assert PvDrivers(Count(0, 2), Count(1, 1)).summary == "PV drivers partly connected: disks 0/2, NICs 1/1"
    assert PvDrivers(Count(0, 2), Count(0, 1)).summary == "no PV drivers (emulated devices)"
    assert PvDrivers(Count(0, 0), Count(0, 0)).summary == "no disks or NICs"
    assert PvDrivers(Count(0, 2), Count(1, 1)).short == "0/2 1/1"


def test_disks_count_vbd_and_qdisk_backends_and_leave_a_cd_drive_out():
    tree = {
        "/local/domain/0/backend/vbd/7/768": "",
        "/local/domain/0/backend/vbd/7/768/frontend": "/local/domain/7/device/vbd/768",
        "/local/domain/0/backend/vbd/7/768/device-type": "disk",
        "/local/domain/7/device/vbd/768/state": "4",
        "/local/domain/0/backend/qdisk/7/5632": "",
        "/local/domain/0/backend/qdisk/7/5632/device-type": "cdrom",
        "/local/domain/7/device/vbd/5632/state": "1",
        "/local/domain/0/backend/qdisk/7/832": "",         # no frontend key: the usual folder is read
        "/local/domain/7/device/vbd/832/state": "1",
    }
    assert pv_drivers(tree) == {7: PvDrivers(Count(1, 2), Count(0, 0))}


def test_a_line_that_is_not_path_equals_value_is_refused_naming_it():
    with pytest.raises(ParseError, match=r"line 2\): 'xenstore-ls: could not access'"):
        parse_tree('/local/domain = ""\nxenstore-ls: could not access\n')


class Recorder:
    def __init__(self, said: str | Exception) -> None:
        self.said, self.calls = said, []

    def __call__(self, argv, *, input=None, timeout=60):
        self.calls.append(list(argv))
        if isinstance(self.said, Exception):
            raise self.said
        return self.said


def test_one_xenstore_ls_reads_every_guest():
    recorder = Recorder(captured())
    assert read_pv_drivers(recorder)[GUEST].nics == Count(1, 1)
    assert recorder.calls == [["xenstore-ls", "-f", "/local/domain"]]


def test_frontends_are_asked_again_only_when_the_guests_change_or_ten_seconds_pass():
    recorder, now = Recorder(captured()), [100.0]
    frontends = Frontends(run=recorder, clock=lambda: now[0])
    assert frontends.of([0]) == {} and recorder.calls == []          # only dom0: nothing to ask
    assert frontends.of([0, GUEST])[GUEST].nics == Count(1, 1)
    now[0] += 8
    assert frontends.of([0, GUEST])[GUEST].nics == Count(1, 1)
    assert len(recorder.calls) == 1
    assert frontends.of([0, GUEST, 9]).keys() == {GUEST}                # a new guest: read at once
    assert len(recorder.calls) == 2
    now[0] += 10
    frontends.of([0, GUEST, 9])
    assert len(recorder.calls) == 3


def test_xenstore_that_cannot_be_read_gives_nothing_and_is_asked_again_next_time():
    recorder = Recorder(CommandError(("xenstore-ls",), 1, "could not connect to xenstored"))
    frontends = Frontends(run=recorder, clock=lambda: 0.0)
    assert frontends.of([GUEST]) == {} and frontends.of([GUEST]) == {}
    assert len(recorder.calls) == 2
