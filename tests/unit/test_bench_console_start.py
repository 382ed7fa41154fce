"""make bench's console-start probe: it runs a real Textual app, its lines are read back, and the report puts
XenBox's console beside the one-widget app and the console target."""
import subprocess
import sys
from pathlib import Path

import pytest

from bench import console_start, report
from bench.console_start import ConsoleStart
from bench.measure import XENBOX, Run
from bench.memory import Memory, ProbeError
from bench.refresh import heredoc, without_docstring

REPO = Path(__file__).resolve().parents[2]


def test_the_one_widget_app_really_starts_and_its_line_is_read_back():
    # A real Textual app, headless, in a fresh interpreter: the probe's baseline as dom0 runs it.
    done = subprocess.run([sys.executable, str(console_start.PROBE), "textual"], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("BENCH-START"))
    found = console_start.parse(line + "\n" + line.replace("kind=textual", "kind=xenbox"))
    assert found["textual"].import_s > 0 and found["textual"].shown_s > 0
    assert found["textual"].start_s >= 0


def test_each_kind_is_the_median_of_its_runs():
    output = "\n".join([
        "BENCH-START kind=textual start_ms=300 import_ms=3000 shown_ms=400",
        "BENCH-START kind=xenbox start_ms=310 import_ms=3600 shown_ms=2000",
        "BENCH-START kind=textual start_ms=500 import_ms=2800 shown_ms=600",
        "BENCH-START kind=xenbox start_ms=290 import_ms=3900 shown_ms=1800",
        "BENCH-START kind=textual start_ms=400 import_ms=2900 shown_ms=500",
    ])
    found = console_start.parse(output)
    assert found["textual"] == ConsoleStart("textual", 3, 0.4, 2.9, 0.5)
    assert found["xenbox"] == ConsoleStart("xenbox", 2, 0.3, 3.75, 1.9)
    assert found["textual"].total_s == pytest.approx(3.8)


def test_a_kind_without_a_line_is_a_probe_error_showing_the_output():
    with pytest.raises(ProbeError, match="(?s)no BENCH-START line for xenbox.*Traceback"):
        console_start.parse("BENCH-START kind=textual start_ms=1 import_ms=2 shown_ms=3\nTraceback (most recent")


def test_the_probe_is_typed_as_a_quoted_heredoc_that_arrives_intact():
    lines = heredoc(without_docstring(console_start.PROBE.read_text()), console_start.REMOTE)
    assert lines[0] == f"cat > {console_start.REMOTE} <<'BENCH_EOF'"
    assert not any("!" in line for line in lines)       # nothing an interactive shell might expand


def _run(ready: float, starts: dict) -> Run:
    times = {"init": 10.0, "ready": ready}
    return Run(XENBOX, times, times, None, None, Memory({"MemTotal": 2, "MemAvailable": 1}),
               Path("x.log"), console_starts=starts)


STARTS = {"textual": ConsoleStart("textual", 3, 0.3, 3.0, 0.5), "xenbox": ConsoleStart("xenbox", 3, 0.3, 3.6, 1.9)}


def test_xenbox_console_is_beside_the_one_widget_app():
    rows = {row.key: row for row in report.console_start_figures(_run(22.8, STARTS))}
    total = rows["console_start_total"]
    assert (total.floor, total.xenbox) == (pytest.approx(3.8), pytest.approx(5.8))
    assert (rows["console_start_shown"].floor, rows["console_start_shown"].xenbox) == (0.5, 1.9)
    assert total.baseline == "one-widget Textual app"


def test_the_console_target_sentence_names_both_figures():
    run = _run(22.8, STARTS)
    timeline = report.figures(run, run, 1, 1)
    sentence = report.console_target(timeline, report.console_start_figures(run))
    assert "console ready 12.8 s against <= 6 s: NOT met" in sentence
    assert "one-widget Textual app takes 3.8 s" in sentence and "XenBox's console 5.8 s" in sentence
    unmeasured = report.console_target(timeline, report.console_start_figures(_run(22.8, {})))
    assert unmeasured.endswith("console start once idle not measured")
