"""Issue 21's size figure (bench/firmware_size.py): the ISO against itself without firmware and microcode. The
measuring needs a built ISO (`python -m bench --only firmware`); the figures from what it measured are pure."""
from bench.firmware_size import FirmwareSize, figures

MIB = 1024 * 1024


def test_the_baseline_is_the_iso_less_its_firmware_and_microcode_and_the_budget_is_30_mib_more():
    iso, size = figures(FirmwareSize(171 * MIB, 10 * MIB, 134, 14 * MIB))[:2]
    assert (iso.floor, iso.xenbox, iso.limit) == (147.0, 171.0, 177.0)
    assert iso.met
    assert (size.label, size.xenbox) == ("device firmware, 134 files (zstd)", 10.0)
    over = figures(FirmwareSize(200 * MIB, 20 * MIB, 300, 14 * MIB))[0]
    assert over.met is False            # 34 MiB added: over the budget


def test_nothing_measured_is_shown_as_nothing():
    (row,) = figures(None)
    assert row.floor is None and row.xenbox is None and row.met is None
