"""`xenbox answer check FILE`: is this answer file valid? Exit 0 valid, 1 not (every problem printed)."""
from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

from hypervisor.appliances.problems import Problem

if TYPE_CHECKING:
    from hypervisor.answer.parse import Answer

EXIT_INVALID = 1


def _rows(problems: list[Problem]) -> list[dict]:
    return [{"field": p.field, "value": p.value, "message": p.message} for p in problems]


def summary(answer: Answer) -> list[str]:
    """What the answer file will set up, a line each."""
    net = answer.network
    ipv4 = f"static {net.ipv4.address}" + (f" via {net.ipv4.gateway}" if net.ipv4.gateway else "") \
        if net.ipv4.mode == "static" else "DHCP"
    lines = [f"hostname: {net.hostname or 'from DHCP'}",
             f"network: xenbr0 on {net.interface}, IPv4 {ipv4}, IPv6 {net.ipv6.mode}"
             + (f", DNS {' '.join(net.dns)}" if net.dns else "")]
    lines += [f"bridge: {b.name} " + ("host-only" if b.host_only else f"VLAN {b.vlan} on {b.nic or net.interface}"
                                      if b.vlan else f"over {b.nic}") for b in net.bridges]
    storage = answer.storage
    if storage.data_disks:
        lines.append(f"data disks: {' '.join(storage.data_disks)}"
                     + (" (erased even if they hold data)" if storage.wipe_disks_with_data else ""))
    lines += [f"pool: {p.name} ({p.type})" for p in storage.pools]
    lines.append("console password: " + ("set" if answer.password_hash else "unchanged"))
    lines += [f"appliance: {a.source}" + ("" if a.autostart is None else f", autostart {'on' if a.autostart else 'off'}")
              + ("" if a.order is None else f", order {a.order}") for a in answer.appliances]
    return lines


def cmd_check(args, xl=None) -> int:
    # Imported here: the answer parser pulls in the network and password modules, which
    # every other `xenbox` command (autostart at boot among them) would pay for under emulation.
    from hypervisor.answer.parse import AnswerError, check_answer
    try:
        answer = check_answer(args.file)
    except AnswerError as error:
        if args.json:
            print(json.dumps({"file": args.file, "valid": False, "problems": _rows(error.problems),
                              "warnings": _rows(error.warnings)}, indent=2, default=str))
        else:
            print(f"xenbox: {error}", file=sys.stderr)
            for warning in error.warnings:
                print(f"  warning: {warning}", file=sys.stderr)
        return EXIT_INVALID
    if args.json:
        print(json.dumps({"file": args.file, "valid": True, "problems": [], "warnings": _rows(list(answer.warnings)),
                          "summary": summary(answer)}, indent=2, default=str))
        return 0
    print(f"xenbox: {args.file} is a valid answer file")
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
