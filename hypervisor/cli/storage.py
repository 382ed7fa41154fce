"""`xenbox storage ...`: the host's disks and its data store, from a shell or a script.

Exit codes: 0 done, 1 the operation failed (the message says why and what to do),
2 bad usage, 4 a disk holds data and its name was not given with --erase.
"""
from __future__ import annotations

import json
from dataclasses import asdict

from hypervisor.appliances.claims import appliance_names, disks_given
from hypervisor.cli.iscsi import add_iscsi_commands
from hypervisor.cli.output import EXIT_FAILED, EXIT_NEEDS_CONFIRMATION, fail, say
from hypervisor.cli.pool import add_pool_commands
from hypervisor.storage import human_size
from hypervisor.storage.datastore import ConfirmationNeeded, DataStore, boot_device, check_can_initialise
from hypervisor.storage.disks import Disk, Disks, boot_disk, holds_data
from hypervisor.storage.volumes import GuestVolumes


def disk_rows(disks: list[Disk], booted: str | None) -> list[dict]:
    medium = boot_disk(disks, booted)
    return [{"name": d.name, "path": d.path, "size": d.size, "model": d.model, "serial": d.serial,
             "stable_id": d.stable_id, "boot_medium": d == medium,
             "holds": "the XenBox boot medium" if d == medium else holds_data(d) or "nothing"} for d in disks]


def cmd_disks(args, _xl) -> int:
    rows = disk_rows(Disks(given=disks_given).list(), boot_device())
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    # The id in full, however long: it is what a manifest's `device =` is copied from.
    width = max([len(r["stable_id"] or "-") for r in rows] + [2])
    print(f"{'DISK':8} {'SIZE':>9}  {'MODEL':20} {'ID':{width}} HOLDS")
    for r in rows:
        print(f"{r['name']:8} {human_size(r['size']):>9}  {(r['model'] or '-')[:20]:20} "
              f"{r['stable_id'] or '-':{width}} {r['holds']}")
    return 0


def cmd_cd_drives(args, _xl) -> int:
    from hypervisor.storage.cd_drives import cd_drives
    drives = cd_drives()
    if args.json:
        print(json.dumps([{**asdict(d), "summary": d.summary} for d in drives], indent=2))
        return 0
    if not drives:
        say("no CD/DVD drive but the boot medium (which no guest is given)")
        return 0
    width = max(len(d.stable_id) for d in drives)
    print(f"{'ID':{width}}  {'DRIVE':9} {'MODEL':24} DISC")
    for d in drives:
        disc = human_size(d.disc_bytes) if d.disc_bytes else "none"
        print(f"{d.stable_id:{width}}  {d.path:9} {(d.model or '-')[:24]:24} {disc}")
    return 0


def cmd_status(args, _xl) -> int:
    status = DataStore().status()
    if args.json:
        print(json.dumps({"group": asdict(status.group) if status.group else None, "mounted": status.mounted,
                          "problem": status.problem, "line": status.line}, indent=2))
    else:
        print(status.line)
    return EXIT_FAILED if status.problem else 0


def cmd_mount(args, _xl) -> int:
    status = DataStore().mount(say)
    say(status.line)
    return EXIT_FAILED if status.problem else 0


def cmd_init(args, _xl) -> int:
    disks = {d.name: d for d in Disks(given=disks_given).list()}
    chosen = []
    for name in args.disks:
        disk = disks.get(name.removeprefix("/dev/"))
        if disk is None:
            return fail(f"there is no disk {name}: `xenbox storage disks` lists them")
        try:
            check_can_initialise(disk, boot_device(), args.erase if args.erase in (disk.name, disk.path) else None)
        except ConfirmationNeeded as needed:
            return fail(f"{needed.disk.path} ({needed.disk.summary}) {needed.reason}: add --erase {needed.disk.name} "
                        "to erase it and everything on it", EXIT_NEEDS_CONFIRMATION)
        chosen.append(disk)
    DataStore().initialise(chosen, say)
    return 0


def cmd_volumes(args, _xl) -> int:
    listed = GuestVolumes(appliances=appliance_names).list()
    if args.json:
        print(json.dumps([asdict(v) for v in listed], indent=2))
        return 0
    pool_width = max([len(v.pool) for v in listed] + [5])
    print(f"{'VOLUME':24} {'POOL':{pool_width}}  {'SIZE':>9}  {'IN USE':6}  APPLIANCE")
    for v in listed:
        print(f"{v.name:24} {v.pool:{pool_width}}  {human_size(v.size):>9}  {'yes' if v.in_use else 'no':6}  "
              f"{v.owner or '- (left behind)'}")
    return 0


def cmd_grow(args, _xl) -> int:
    volume = GuestVolumes(appliances=appliance_names).grow(args.volume, args.size_mib)
    say(f"{volume.name} is now {human_size(volume.size)}")
    return 0


def cmd_delete(args, _xl) -> int:
    GuestVolumes(appliances=appliance_names).delete(args.volume, args.confirm)
    say(f"{args.volume} was deleted")
    return 0


def add_commands(groups) -> None:
    parser = groups.add_parser("storage", help="disks and the data store")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    disks = commands.add_parser("disks", help="local disks: size, model, stable id and what each holds now")
    disks.add_argument("--json", action="store_true", help="print JSON")
    disks.set_defaults(handler=cmd_disks)
    drives = commands.add_parser("cd-drives", help="the host's CD/DVD drives a guest can boot from (`xenbox appliance "
                                 "create --cd-drive ID`): id, device, model, disc; never the boot medium")
    drives.add_argument("--json", action="store_true", help="print JSON")
    drives.set_defaults(handler=cmd_cd_drives)
    status = commands.add_parser("status", help="the data store: its volume group, size, free space, mount")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(handler=cmd_status)
    commands.add_parser("mount", help="find the data store by its tag and mount it (run at boot)").set_defaults(
        handler=cmd_mount)
    init = commands.add_parser("init", help="make the data store on one or more disks (erases them)")
    init.add_argument("disks", nargs="+", help="disk names, e.g. vdb or /dev/sdb")
    init.add_argument("--erase", metavar="DISK", help="erase DISK even though it holds data (its name, typed "
                                                      "again, is the confirmation)")
    init.set_defaults(handler=cmd_init)
    volumes = commands.add_parser("volumes", help="guest volumes on the data store: size, in use, whose")
    volumes.add_argument("--json", action="store_true", help="print JSON")
    volumes.set_defaults(handler=cmd_volumes)
    grow = commands.add_parser("grow", help="grow a guest volume (never shrinks one)")
    grow.add_argument("volume", help="its name, e.g. web.xvda")
    grow.add_argument("size_mib", type=int, help="the new size in MiB")
    grow.set_defaults(handler=cmd_grow)
    delete = commands.add_parser("delete", help="delete a guest volume no appliance owns (its name again with --confirm)")
    delete.add_argument("volume", help="its name, e.g. old.xvda")
    delete.add_argument("--confirm", metavar="VOLUME", help="the volume's name again: what is on it is destroyed")
    delete.set_defaults(handler=cmd_delete)
    add_iscsi_commands(commands)
    add_pool_commands(commands)

