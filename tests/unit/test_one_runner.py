"""Every program XenBox starts goes through one door: hypervisor/runner.py in dom0, firmware/run.py in the
build. Read from the source itself (ast), so a new `subprocess.run` anywhere else fails here, named by
file and line. (bench/ is a measuring tool beside the product and is not held to this.)"""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECKED = ("hypervisor", "tui", "firmware")
RUNNERS = {"hypervisor/runner.py", "firmware/run.py"}
# The names that start a program, or replace this process with one; importing subprocess at all counts too.
STARTERS = {"os": ("exec", "spawn", "posix_spawn", "system", "popen"), "pty": ("spawn",),
            "asyncio": ("create_subprocess",),
            "subprocess": ("run", "Popen", "call", "check_call", "check_output", "getoutput", "getstatusoutput")}


def starts_programs(source: str) -> list[tuple[int, str]]:
    """(line, what) for every way of starting a program in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if a.name.split(".")[0] == "subprocess"]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "subprocess":
                found.append((node.lineno, f"from {node.module} import ..."))
            prefixes = STARTERS.get(node.module, ())
            found += [(node.lineno, f"from {node.module} import {a.name}") for a in node.names
                      if a.name.startswith(prefixes)]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.attr.startswith(STARTERS.get(node.value.id, ())):
                found.append((node.lineno, f"{node.value.id}.{node.attr}"))
    return found


def product_sources() -> list[Path]:
    return sorted(path for package in CHECKED for path in (REPO / package).rglob("*.py"))


def test_only_the_runners_start_programs():
    outside = [f"{path.relative_to(REPO)}:{line}: {what}" for path in product_sources()
               if str(path.relative_to(REPO)) not in RUNNERS
               for line, what in starts_programs(path.read_text())]
    assert outside == [], "start programs through hypervisor/runner.py or firmware/run.py:\n" + "\n".join(outside)


def test_the_runners_are_where_programs_start():
    for runner in RUNNERS:
        assert starts_programs((REPO / runner).read_text()), f"{runner} starts no program: is it still the runner?"


@pytest.mark.parametrize("source", [
    "import subprocess", "import subprocess as sp", "from subprocess import run", "subprocess.run(['ls'])", "os.execvp('xl', ['xl'])",
    "os.system('ls')", "os.spawnlp(0, 'ls')", "os.popen('ls')", "os.posix_spawn('ls', [], {})",
    "from os import execv", "pty.spawn(['sh'])", "asyncio.create_subprocess_exec('ls')"])
def test_each_way_of_starting_a_program_is_found(source):
    assert {line for line, _ in starts_programs(source)} == {1}


def test_reading_os_is_no_program():
    assert starts_programs("os.environ.get('HOME'); os.path.join('a'); os.getpid()") == []
