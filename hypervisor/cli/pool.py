"""`xenbox storage pool ...`: the pools appliance disks go on — the data store's own two (`local`,
`files`) and those added by name (an NFS share, or a folder on a mounted disk), kept on the data
store and attached again at every boot.

Exit codes: 0 done, 1 the operation failed (the message says why and what to do).
"""
from __future__ import annotations

import json

from hypervisor.appliances.claims import appliances_on
from hypervisor.cli.output import say
from hypervisor.storage import human_size
from hypervisor.storage.named_pools import NamedPools
from hypervisor.storage.pool_status import pool_rows


def cmd_list(args, _xl) -> int:
    rows = pool_rows()
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
        return 0
    print(f"{'POOL':12} {'TYPE':6} {'SIZE':>9} {'FREE':>9}  WHERE")
    for row in rows:
        size = human_size(row.size) if row.size is not None else "-"
        free = human_size(row.free) if row.free is not None else "-"
        print(f"{row.name:12} {row.type:6} {size:>9} {free:>9}  {row.where}" +
              (f"\n{'':12} NOT READY: {row.problem}" if row.problem else ""))
    return 0


def cmd_add(args, _xl) -> int:
    pools = NamedPools()
    if args.nfs:
        pools.add_nfs(args.name, args.nfs, args.version, args.port, say)
    else:
        pools.add_folder(args.name, args.folder)
    say(f"pool {args.name}: kept; {'mounted' if args.nfs else 'checked'} again at every boot. Appliance disks "
        f"go on it with pool = \"{args.name}\" in appliance.toml")
    return 0


def cmd_remove(args, _xl) -> int:
    NamedPools().remove(args.name, appliances_on(args.name), say)
    return 0


def add_pool_commands(storage_commands) -> None:
    parser = storage_commands.add_parser("pool", help="storage pools for appliance disks: list, add (NFS share "
                                                      "or folder), remove")
    commands = parser.add_subparsers(dest="pool_command", metavar="COMMAND", required=True)
    listed = commands.add_parser("list", help="every pool: type, size, free space, where, and whether it is ready")
    listed.add_argument("--json", action="store_true", help="print JSON")
    listed.set_defaults(handler=cmd_list)
    add = commands.add_parser("add", help="add an NFS share (mounted now and at every boot) or a folder")
    add.add_argument("name", help="a short name for it, e.g. nas; appliance.toml names it: pool = \"nas\"")
    kind = add.add_mutually_exclusive_group(required=True)
    kind.add_argument("--nfs", metavar="SERVER:/EXPORT", help="an NFS share, e.g. nas.local:/export/xen")
    kind.add_argument("--folder", metavar="PATH", help="a folder on a mounted disk (not in dom0's memory)")
    add.add_argument("--version", help="NFS version: 3, 4, 4.0, 4.1 or 4.2 (left out: the newest both offer)")
    add.add_argument("--port", type=int, help="the NFS server's port, when it is not 2049")
    add.set_defaults(handler=cmd_add)
    remove = commands.add_parser("remove", help="forget a pool no appliance uses (an NFS one is unmounted; "
                                                "its images stay where they are)")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_remove)

