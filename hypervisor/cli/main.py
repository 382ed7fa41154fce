"""`xenbox`: the XenBox command line in dom0.

Exit codes: 0 done, 1 the operation failed (Xen said why), 2 bad usage,
3 no such appliance or guest, 4 a disk holds data and its name was not given (hypervisor/cli/output.py).
"""
from __future__ import annotations

import argparse

from hypervisor.appliances.launch import CannotStart
from hypervisor.cli import answer, appliance, host, iso, storage
from hypervisor.cli.output import fail
from hypervisor.runner import CommandError, ParseError
from hypervisor.settings.problems import FileProblems
from hypervisor.storage import StorageError
from hypervisor.xen.xl import Xl


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xenbox", description="Control this XenBox host and its guests.")
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    host.add_commands(groups)
    appliance.add_commands(groups)
    storage.add_commands(groups)
    iso.add_commands(groups)
    answer.add_commands(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args, Xl.on_this_host())
    except (CommandError, ParseError, CannotStart, FileProblems, StorageError) as error:
        return fail(error.sentence if isinstance(error, CommandError) else str(error))
