"""`make torture [SEED=n] [CUTS=n] [ONLY=k]`: power cuts during XenBox's operations, and what survived them.

Calibrates first (every operation once, uncut), then makes CUTS cuts, two machines at a time at most
(the build host has two cores). Prints the seed (the same seed makes the same cuts), one line per cut,
one line per failure naming the operation, the cut's moment, the seed and what was wrong, and a last
line `N passed, N failed`. Exit status 1 when any cut failed.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from conftest import LOGS

from .calibrate import CalibrationFailed, calibrate
from .cases import Result, plan, run_cut

REPO = Path(__file__).resolve().parents[2]
ISO = REPO / "images" / "xenbox.iso"
BUILD = REPO / "images" / "build" / "pc"
CACHE = "cache=writeback (QEMU's default; firmware/qemu.py names none)"
_printing = threading.Lock()


def say(line: str) -> None:
    with _printing:
        print(f"torture: {line}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make torture", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="replay the cuts of this seed")
    parser.add_argument("--cuts", type=int, default=10)
    parser.add_argument("--only", type=int, help="make only cut number K of the seed's plan (calibration still runs)")
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2), help="machines at once (at most 2)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    cuts = list(enumerate(plan(seed, args.cuts), start=1))
    if args.only:
        cuts = [cuts[args.only - 1]]
    if not ISO.exists():
        print(f"{ISO} is missing: make images/xenbox.iso", file=sys.stderr)
        return 2
    LOGS.mkdir(parents=True, exist_ok=True)
    say(f"seed {seed}: {len(cuts)} cut(s), {args.jobs} machine(s) at a time "
        f"(replay: make torture SEED={seed} CUTS={args.cuts}{f' ONLY={args.only}' if args.only else ''})")
    say(f"disks: {CACHE}. A cut loses what dom0 had not yet written to its disks; what QEMU had written "
        "is in this machine's page cache and survives, as if each disk's own cache were power-safe")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="xenbox-torture-", dir="/var/tmp") as folder:
        try:
            sources = calibrate(ISO, Path(folder), BUILD, args.jobs, say)
        except CalibrationFailed as error:
            say(f"calibration failed, no cut made: {error}")
            return 2
        calibrated = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            running = {pool.submit(run_cut, ISO, number, name, fraction, sources): (number, name)
                       for number, (name, fraction) in cuts}
            results = [report(outcome(done, *running[done]), args.cuts, seed) for done in as_completed(running)]
    failed = sum(1 for r in results if r.problems)
    cutting = time.monotonic() - calibrated
    say(f"{len(results)} cut(s) made in {cutting / 60:.0f} min after {(calibrated - started) / 60:.0f} min of "
        f"calibration: {cutting / max(len(results), 1) / 60:.1f} min per cut with {args.jobs} machine(s) at a time")
    print(f"{len(results) - failed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def outcome(done, number: int, name: str) -> Result:
    """The cut's result; a fault of the torture's own code is said in full and counts as a failure."""
    try:
        return done.result()
    except Exception as error:          # noqa: BLE001 - one broken cut must not end a two-hour run
        say(f"cut {number} {name}: the torture itself failed:\n{''.join(traceback.format_exception(error))}")
        return Result(number, name, problems=[f"the torture's own code failed: {error!r}"])


def report(result: Result, total: int, seed: int) -> Result:
    where = str(result.cut) if result.cut else "no cut made"
    say(f"cut {result.number}/{total} {result.name}: {where}; {len(result.problems)} problem(s) "
        f"[{result.seconds / 60:.1f} min]")
    for note in result.notes:
        say(f"  note: {note}")
    for problem in result.problems:
        moment = f"at {result.cut.offset:.1f} s" if result.cut else "(not cut)"
        with _printing:
            print(f"FAILED cut {result.number} {result.name} {moment} seed {seed}: {problem}", flush=True)
    return result


if __name__ == "__main__":
    sys.exit(main())
