"""After a cut, on the same disks booted again: what a person relies on, each miss one problem line.

The console comes up (and the password set before the cut opens it); then, from one dom0 shell, once
the boot has finished: the data store mounts, every config file and manifest parses, no appliance is
broken or read from a hidden (staging) folder, every appliance acknowledged before the cut is there
and whole (its image's checksum), every appliance set to autostart started, and the network settings
in force are the ones kept.
"""
from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

from machine import BOOT_TIMEOUT, Shell
from serial import SerialConsole, Timeout

from .expected import Expected
from .host import ANY_SCREEN, AUTOSTART_DONE, BOOT_PID, bring_up

REPORT_SCRIPT = Path(__file__).with_name("dom0_report.py")
CHUNK = 800         # characters per typed line: busybox's line editor takes 1024 at most


def check_after_cut(console: SerialConsole, expected: Expected) -> tuple[list[str], list[str]]:
    """(problems, notes): a note is worth saying but breaks no promise (a leftover nothing reads)."""
    problems: list[str] = []
    if not bring_up(console, expected.passwords, expected.password_required, problems):
        return problems, []
    try:
        report = read_report(console)
    except (Timeout, ValueError) as error:
        return problems + [f"the state could not be read in dom0: {str(error).splitlines()[0]}"], []
    problems += judge(report, expected)
    notes = [f"hidden folder {name} left among the appliances" for name in report["hidden"]]
    return problems, notes


def read_report(console: SerialConsole) -> dict:
    with Shell(console, back_to=ANY_SCREEN) as shell:
        shell.run(f'while [ ! -f {AUTOSTART_DONE} ] && kill -0 "$(cat {BOOT_PID})" 2>/dev/null; do sleep 2; done',
                  BOOT_TIMEOUT)      # until the boot has started its appliances, or has ended without
        shell.run("rm -f /tmp/report.b64")
        packed = base64.b64encode(gzip.compress(REPORT_SCRIPT.read_bytes(), 9)).decode()
        for start in range(0, len(packed), CHUNK):
            shell.run(f"echo -n {packed[start:start + CHUNK]} >> /tmp/report.b64")
        said = shell.run("base64 -d /tmp/report.b64 | gunzip > /tmp/report.py && python3 /tmp/report.py", 300)
    found = re.search(r"^AFTER-CUT (\{.*\})$", said, re.M)
    if not found:
        raise ValueError(f"the report script said: {said[-400:]}")
    return json.loads(found.group(1))


def judge(report: dict, expected: Expected) -> list[str]:
    return (data_store_problems(report["status"], expected) + config_problems(report["toml"])
            + appliance_problems(report["appliances"], expected) + autostart_problems(report)
            + network_problems(report["addresses"], expected))


def data_store_problems(status: dict, expected: Expected) -> list[str]:
    if "error" in status:
        return [f"`xenbox storage status` failed: {status['error']}"]
    there = status.get("group") is not None or status.get("problem") is not None
    if not there:
        return ["the data store made before the cut is gone"] if expected.data_store else []
    if status.get("problem") or not status.get("mounted"):
        return [f"the data store does not mount: {status.get('line')}"]
    return []


def config_problems(toml: dict[str, str | None]) -> list[str]:
    return [f"{path} does not parse: {problem}" for path, problem in toml.items() if problem]


def appliance_problems(rows: list | dict, expected: Expected) -> list[str]:
    if isinstance(rows, dict):
        return [f"`xenbox appliance list` failed: {rows.get('error')}"]
    problems = []
    listed = {row["name"]: row for row in rows}
    for row in rows:
        if row.get("problem"):
            problems.append(f"appliance {row['name']} is broken: {row['problem'].splitlines()[0]}")
        folder = row.get("folder") or ""
        if any(part.startswith(".") for part in Path(folder).parts):
            problems.append(f"appliance {row['name']} is read from the hidden folder {folder}")
    for name, appliance in expected.appliances.items():
        row = listed.get(name)
        if row is None:
            if appliance.required:
                problems.append(f"appliance {name}, acknowledged before the cut, is gone")
        elif row.get("sha256") not in appliance.checksums:
            problems.append(f"appliance {name} is not whole: its disk.img (sha256 {str(row.get('sha256'))[:12]}) is "
                            f"none of the images added ({', '.join(c[:12] for c in appliance.checksums)})")
    return problems


def autostart_problems(report: dict) -> list[str]:
    outcomes = report["autostart"]
    if isinstance(outcomes, dict):
        return [f"the boot ended without starting the appliances (no readable {AUTOSTART_DONE}: {outcomes.get('error')})"]
    started = {o["name"]: o for o in outcomes}
    rows = report["appliances"] if isinstance(report["appliances"], list) else []
    problems = []
    for row in rows:
        if row.get("autostart") and not row.get("problem"):
            outcome = started.get(row["name"])
            if outcome is None:
                problems.append(f"appliance {row['name']} is set to autostart, and the boot did not try it")
            elif not outcome["started"]:
                problems.append(f"appliance {row['name']} did not start at boot: {outcome['reason']}")
    return problems


def network_problems(addresses: list[str], expected: Expected) -> list[str]:
    if not expected.addresses or any(a in expected.addresses for a in addresses):
        return []
    return [f"xenbr0 has {', '.join(addresses) or 'no IPv4 address'}, not the kept "
            f"{' or '.join(expected.addresses)}"]
