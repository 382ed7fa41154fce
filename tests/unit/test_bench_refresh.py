"""make bench's Appliances-refresh probe: the copies it makes are valid appliances, its output is read back,
and it makes the same calls the screen makes."""
import importlib.util
from pathlib import Path

import pytest

from bench import refresh
from bench.memory import ProbeError
from hypervisor.appliances.catalog import discover
from hypervisor.xen.xl import Xl

REPO = Path(__file__).resolve().parents[2]
SAMPLE_MANIFEST = REPO / "board" / "common" / "appliances" / "sample-web" / "appliance.toml"


def _probe():
    spec = importlib.util.spec_from_file_location("refresh_cpu", refresh.PROBE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_copies_of_the_shipped_manifest_are_valid_and_do_not_autostart(tmp_path):
    probe = _probe()
    text = SAMPLE_MANIFEST.read_text()
    for number in range(3):
        bundle = tmp_path / "operator" / f"copy-{number}"
        bundle.mkdir(parents=True)
        copy, files = probe.copy_manifest(text, bundle.name)
        (bundle / "appliance.toml").write_text(copy)
        for name in files:
            (bundle / name).write_bytes(b"")
    entries = discover((tmp_path / "operator",))
    assert [(e.name, e.problem) for e in entries] == [(f"copy-{n}", None) for n in range(3)]
    assert not any(e.autostart for e in entries)
    assert all((e.manifest.boot.kernel, e.manifest.boot.ramdisk) == (e.folder / "vmlinux", e.folder / "initrd.img")
               for e in entries)


def test_a_manifest_of_another_shape_stops_the_probe():
    with pytest.raises(SystemExit):
        _probe().copy_manifest('name = "x"\n', "copy")


INFO = "xen_major : 4\nxen_minor : 17\nnr_cpus : 2\ntotal_memory : 3071\nfree_memory : 2014\n"


def test_the_probe_calls_xl_as_the_screen_does(tmp_path, monkeypatch):
    probe = _probe()
    monkeypatch.setattr(probe, "CatalogCache", lambda: type("Empty", (), {"entries": lambda self: []})())
    monkeypatch.setattr(probe, "read_status", lambda: [])
    calls = []
    listing = ("Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
               "Domain-0                                     0  1024     2     r-----      35.2\n"
               "sample-web                                   1    96     1     -b----       1.5\n")

    def run(argv, *, input=None, timeout=60):
        calls.append(argv[1])
        return listing if argv[1] == "list" else INFO
    screen = probe.Screen(Xl(run=run))
    rows = screen.refresh()
    screen.refresh()
    assert calls == ["list", "info", "list"]        # xl info once, for the CPU meter, as the screen does
    assert [(r.name, r.state) for r in rows] == [("sample-web", "running")]


OUTPUT = """PYTHONPATH=/usr/lib/xenbox/python python3 /tmp/bench-refresh.py 10 1 50; echo "BENCH""-DONE"\r
BENCH-REFRESH n=1 broken=0 refreshes=10 steady_ms=38.0 steady_xl_ms=21.5 first_ms=160.2 steady_wall_ms=80.1\r
BENCH-REFRESH n=50 broken=0 refreshes=10 steady_ms=95.5 steady_xl_ms=22.0 first_ms=1200.0 steady_wall_ms=150.0\r
"""


def test_probe_output_is_read_back_per_count():
    few, many = refresh.parse(OUTPUT)
    assert (few.appliances, few.steady_ms, few.steady_xl_ms, few.first_ms) == (1, 38.0, 21.5, 160.2)
    assert (many.appliances, many.broken, many.refreshes, many.steady_wall_ms) == (50, 0, 10, 150.0)


def test_copies_the_catalog_refused_give_no_figure():
    with pytest.raises(ProbeError, match="refused 49 of the 50 appliances"):
        refresh.parse(OUTPUT.replace("n=50 broken=0", "n=50 broken=49"))


def test_no_result_line_is_a_probe_error_showing_the_output():
    with pytest.raises(ProbeError, match="Traceback"):
        refresh.parse("Traceback (most recent call last):\n  ModuleNotFoundError: tui\n")


def test_the_probe_is_typed_as_a_quoted_heredoc_that_arrives_intact():
    script = refresh.without_docstring(refresh.PROBE.read_text())
    assert script.startswith("import ") and script in refresh.PROBE.read_text()
    lines = refresh.heredoc(script, "/tmp/p.py")
    assert lines[0] == "cat > /tmp/p.py <<'BENCH_EOF'" and lines[-1] == "BENCH_EOF"
    assert "\n".join(lines[1:-1]) + "\n" == script
    assert not any("!" in line for line in lines)       # nothing an interactive shell might expand
    assert not refresh.RESULT.search(refresh.PROBE.read_text())     # its echo never reads as a result
    with pytest.raises(ValueError):
        refresh.heredoc("x\tindented\n", "/tmp/p.py")
