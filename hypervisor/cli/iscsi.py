"""`xenbox storage iscsi ...`: the iSCSI targets this host attaches (kept on the data store, attached
again at every boot). A CHAP password is read from standard input, never from the command line,
where `ps` would show it.

Exit codes: 0 done, 1 the operation failed (the message says why and what to do).
"""
from __future__ import annotations

import json
import sys

from hypervisor.cli.output import fail, say
from hypervisor.storage.iscsi import Chap
from hypervisor.storage.iscsi_targets import IscsiTargets, with_port


def cmd_list(args, _xl) -> int:
    targets = IscsiTargets().list()
    rows = [{"name": t.name, "portal": t.portal, "target": t.iqn, "chap": t.chap is not None} for t in targets]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'NAME':12} {'PORTAL':22} {'CHAP':4}  TARGET")
    for row in rows:
        print(f"{row['name']:12} {row['portal']:22} {'yes' if row['chap'] else 'no':4}  {row['target']}")
    return 0


def cmd_discover(args, _xl) -> int:
    found = IscsiTargets().discover(args.portal)
    for iqn in found:
        print(iqn)
    if not found:
        say(f"the portal {with_port(args.portal)} offers no targets to this host")
    return 0


def cmd_add(args, _xl) -> int:
    chap = None
    if args.chap_user:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            return fail("--chap-user needs the CHAP password on standard input (e.g. `read -s P; echo \"$P\" | ...`)")
        chap = Chap(args.chap_user, password)
    disks = IscsiTargets().add(args.name, args.portal, args.target, chap, say)
    say(f"iSCSI {args.name}: kept; attached again at every boot" +
        ("" if disks else " (no disks yet: does the target have LUNs for this host?)"))
    return 0


def cmd_remove(args, _xl) -> int:
    IscsiTargets().remove(args.name, say)
    return 0


def add_iscsi_commands(storage_commands) -> None:
    parser = storage_commands.add_parser("iscsi", help="iSCSI targets this host attaches at boot")
    commands = parser.add_subparsers(dest="iscsi_command", metavar="COMMAND", required=True)
    listed = commands.add_parser("list", help="the targets kept on the data store")
    listed.add_argument("--json", action="store_true", help="print JSON")
    listed.set_defaults(handler=cmd_list)
    discover = commands.add_parser("discover", help="the targets a portal offers")
    discover.add_argument("portal", help="host or host:port (port 3260 if left out)")
    discover.set_defaults(handler=cmd_discover)
    add = commands.add_parser("add", help="attach a target now and at every boot; its LUNs become host disks")
    add.add_argument("name", help="a short name for it, e.g. san")
    add.add_argument("portal", help="host or host:port (port 3260 if left out)")
    add.add_argument("target", help="the target's iSCSI name, e.g. iqn.2004-01.com.example:storage")
    add.add_argument("--chap-user", metavar="USER", help="log in with CHAP as USER; the password is read from "
                                                         "standard input")
    add.set_defaults(handler=cmd_add)
    remove = commands.add_parser("remove", help="detach a target and stop attaching it at boot")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_remove)
