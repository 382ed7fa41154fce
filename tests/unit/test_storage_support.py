"""Shared by the storage tests: the captured fixtures, and a runner that replays them.

The runner is the boundary these tests stand at: each test sees the exact argv a class builds and
answers with what the real tool printed (stdout, or stderr and exit code from commands.txt).
"""
from __future__ import annotations

from pathlib import Path

from hypervisor.runner import CommandError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "storage"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def exit_code(name: str) -> int:
    """The exit code commands.txt recorded for a captured output (vm/NAME or host/NAME)."""
    folder, _, base = name.partition("/")
    for line in fixture(f"{folder}/commands.txt").splitlines():
        output, code, _ = line.split("\t")
        if output == base:
            return int(code.split()[1])
    raise KeyError(name)


def failure(argv, name: str) -> CommandError:
    """The CommandError runner.run raises for a captured failure: its stderr, else its stdout."""
    path = FIXTURES / f"{name}.stderr"
    output = path.read_text() if path.exists() else fixture(name)
    return CommandError(tuple(argv), exit_code(name), output)


class Replay:
    """Records each call; answers from `answers` (argv prefix -> fixture name, or a CommandError to raise)."""

    def __init__(self, answers: dict[tuple[str, ...], str | CommandError] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[list[str]] = []
        self.inputs: list[str | None] = []

    def __call__(self, argv, *, input=None, timeout=60):
        self.calls.append(list(argv))
        self.inputs.append(input)
        for prefix, answer in sorted(self.answers.items(), key=lambda item: -len(item[0])):
            if tuple(argv[:len(prefix)]) == prefix:
                if isinstance(answer, CommandError):
                    raise answer
                return fixture(answer)
        return ""


def test_every_fixture_is_described_in_the_readme():
    readme = fixture("README.md")
    for folder in ("vm", "host"):
        listed = {line.split("\t")[0] for line in fixture(f"{folder}/commands.txt").splitlines()}
        files = {p.name.removesuffix(".stderr") for p in (FIXTURES / folder).iterdir()} - {"commands.txt"}
        assert files - listed <= {"device-map.txt", "boot-device.txt", "proc-mounts.txt", "proc-mounts-nfs.txt",
                                  "sysfs-ids.txt"}, files - listed
        assert f"{folder}/" in readme
