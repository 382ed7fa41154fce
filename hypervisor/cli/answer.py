"""`xenbox answer check FILE`: is this answer file valid? Exit 0 valid, 1 not (every problem printed)."""
from __future__ import annotations

import json
import sys

from hypervisor.cli.output import EXIT_FAILED, fail, say
from hypervisor.settings.problems import Problem


def _rows(problems: list[Problem]) -> list[dict]:
    return [{"field": p.field, "value": p.value, "message": p.message} for p in problems]


def cmd_check(args, xl=None) -> int:
    # Imported here: the answer parser pulls in the network and password modules, which
    # every other `xenbox` command (autostart at boot among them) would pay for under emulation.
    from hypervisor.answer.parse import AnswerError, check_answer
    from hypervisor.answer.summary import summary
    try:
        answer = check_answer(args.file)
    except AnswerError as error:
        if args.json:
            print(json.dumps({"file": args.file, "valid": False, "problems": _rows(error.problems),
                              "warnings": _rows(error.warnings)}, indent=2, default=str))
        else:
            fail(str(error))
            for warning in error.warnings:
                print(f"  warning: {warning}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"file": args.file, "valid": True, "problems": [], "warnings": _rows(list(answer.warnings)),
                          "summary": summary(answer)}, indent=2, default=str))
        return 0
    say(f"{args.file} is a valid answer file")
    for warning in answer.warnings:
        print(f"  warning: {warning}")
    for line in summary(answer):
        print(f"  {line}")
    return 0


def add_commands(groups) -> None:
    parser = groups.add_parser("answer", help="answer files: set up the whole host with no keystrokes")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    check = commands.add_parser("check", help="check an answer file; every problem is listed",
                                description="Check an answer file. Exit 0 valid, 1 invalid (every problem listed).")
    check.add_argument("file", help="the answer file, e.g. answer.toml")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(handler=cmd_check)
