"""`xenbox iso ...`: the ISO library, the installer and rescue images HVM guests get as CD-ROMs
(hypervisor/storage/iso_library.py).

Exit codes: 0 done, 1 the operation failed (the message says why and what to do), 3 no such ISO.
"""
from __future__ import annotations

import json

from hypervisor.appliances.claims import appliances_with
from hypervisor.cli.output import say
from hypervisor.storage import human_size
from hypervisor.storage.iso_library import IsoLibrary


def cmd_list(args, _xl) -> int:
    rows = [{"name": iso.name, "pool": iso.pool, "path": str(iso.path), "size": iso.size,
             "used_by": appliances_with(iso.path)} for iso in IsoLibrary().list()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'ISO':40} {'POOL':10} {'SIZE':>9}  USED BY")
    for row in rows:
        print(f"{row['name']:40} {row['pool']:10} {human_size(row['size']):>9}  {', '.join(row['used_by']) or '-'}")
    if not rows:
        say("the ISO library is empty: `xenbox iso add PATH|URL` adds one")
    return 0


def cmd_add(args, _xl) -> int:
    IsoLibrary().add(args.source, args.sha256, args.pool, say)
    return 0


def cmd_delete(args, _xl) -> int:
    library = IsoLibrary()
    iso = library.find(args.name)
    library.delete(args.name, appliances_with(iso.path), say)
    return 0


def add_commands(groups) -> None:
    parser = groups.add_parser("iso", help="the ISO library: installer and rescue ISOs for HVM guests' CD drives")
    commands = parser.add_subparsers(dest="iso_command", metavar="COMMAND", required=True)
    listed = commands.add_parser("list", help="every ISO: its pool, size and the appliances that have it")
    listed.add_argument("--json", action="store_true", help="print JSON")
    listed.set_defaults(handler=cmd_list)
    add = commands.add_parser("add", help="copy an ISO in, from a file (a mounted stick, disk or NFS share) or an "
                                          "http(s) URL, with progress")
    add.add_argument("source", metavar="PATH|URL")
    add.add_argument("--sha256", metavar="HEX", help="its checksum: the ISO is kept only if it matches")
    add.add_argument("--pool", default="files", help="the pool whose isos/ folder keeps it (default: files, the data "
                                                     "store's)")
    add.set_defaults(handler=cmd_add)
    delete = commands.add_parser("delete", help="delete an ISO no appliance has in its CD drive")
    delete.add_argument("name")
    delete.set_defaults(handler=cmd_delete)
