"""`xenbox appliance ...`: every appliance action from a shell or a script.

Each command is a small function taking the parsed arguments and an Xl; it
prints for people (or JSON with --json) and returns an exit code:
0 done, 1 the action failed (Xen or the manifest said why), 2 bad usage,
3 no such appliance.
"""
from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path

from hypervisor import runner
from hypervisor.appliances import autostart as boot_start
from hypervisor.appliances.actions import ACTIONS
from hypervisor.appliances.autostart_status import write_status
from hypervisor.appliances.catalog import APPLIANCE_DIRS, Entry, discover, find, read_entry
from hypervisor.appliances.launch import CannotStart, start
from hypervisor.appliances.why_stopped import why_not_running
from hypervisor.cli.appliance_import import add_import_command
from hypervisor.cli.checkpoints import add_checkpoint_commands
from hypervisor.cli.migration import add_movable_command
from hypervisor.cli.output import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE, fail, say
from hypervisor.settings.problems import FileProblems
from hypervisor.xen.daemons import CONSOLE_LOGS
from hypervisor.xen.frontends import Count, Frontends, PvDrivers
from hypervisor.xen.xl import Xl


def appliance_rows(xl: Xl) -> list[dict]:
    """Defined appliances and running guests, merged by name."""
    running = {d.name: d for d in xl.domains() if d.domid != 0}
    found = Frontends().of(d.domid for d in running.values())      # one xenstore-ls, when a guest runs

    def drivers(domain) -> dict | None:
        return found[domain.domid].as_json() if domain and domain.domid in found else None
    rows = []
    for entry in discover():
        domain = running.pop(entry.name, None)
        m = entry.manifest
        rows.append({"name": entry.name, "state": domain.state if domain else "stopped",
                     "domid": domain.domid if domain else None,
                     "memory_mib": domain.memory_mib if domain else (m.memory.initial_mib if m else None),
                     "vcpus": domain.vcpus if domain else (m.vcpus.initial if m else None),
                     "autostart": entry.autostart, "folder": str(entry.folder), "problem": entry.problem,
                     # why its last start this boot failed, or what its console said before it stopped
                     "why_stopped": None if domain or entry.problem else why_not_running(entry.name),
                     "pv_drivers": drivers(domain)})
    for domain in running.values():
        rows.append({"name": domain.name, "state": domain.state, "domid": domain.domid,
                     "memory_mib": domain.memory_mib, "vcpus": domain.vcpus, "autostart": False,
                     "folder": None, "problem": None, "why_stopped": None, "pv_drivers": drivers(domain)})
    return rows


def cmd_list(args, xl: Xl) -> int:
    rows = appliance_rows(xl)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    # 74 columns: a running guest's disks and NICs a PV driver connected, of all ("0/0 1/1"), or "emulated"
    print(f"{'NAME':20} {'STATE':9} {'ID':>4} {'MEM':>8} {'VCPUS':>5}  AUTOSTART  PV DISKS NICS")
    for r in rows:
        memory = f"{r['memory_mib']} MiB" if r["memory_mib"] is not None else "-"
        domid, vcpus = (r[key] if r[key] is not None else "-" for key in ("domid", "vcpus"))
        print(f"{r['name']:20} {r['state'] if not r['problem'] else 'broken':9} {domid:>4} {memory:>8} {vcpus:>5}"
              f"  {'yes' if r['autostart'] else 'no':9}  {short(r['pv_drivers'])}")
        for said in (r["problem"], r["why_stopped"]):
            if said:
                print("    " + said.replace("\n", "\n    "))
    return 0


def short(drivers: dict | None) -> str:
    """The PV column: "-" (not running, or xenstore unread), else PvDrivers.short from the JSON's counts."""
    if drivers is None:
        return "-"
    disks, nics = drivers["disks"], drivers["nics"]
    return PvDrivers(Count(**disks), Count(**nics)).short


def _found(name: str) -> Entry | None:
    """The appliance named `name`, or None once it is said that there is none (the caller exits 4)."""
    entry = find(name)
    if entry is None:
        fail(f"no appliance named {name}; `xenbox appliance list` shows them")
    return entry


def cmd_start(args, xl: Xl) -> int:
    if (entry := _found(args.name)) is None:
        return EXIT_NOT_FOUND
    if entry.manifest is None:
        return fail(f"{args.name} cannot start: {entry.problem}")
    try:
        start(entry.manifest, xl, paused=args.paused)
    except CannotStart as error:
        return fail(str(error))
    say(f"{args.name} started" + (f", paused: `xenbox appliance unpause {args.name}` runs it" if args.paused else ""))
    return 0


def needs_running(command):
    """For commands on a running guest: anything else is exit 3, with the reason."""
    @functools.wraps(command)
    def checked(args, xl: Xl) -> int:
        if xl.domain(args.name) is None:
            return fail(f"{args.name} is not running; `xenbox appliance list` shows what is", EXIT_NOT_FOUND)
        return command(args, xl)
    return checked


@needs_running
def cmd_stop(args, xl: Xl) -> int:
    xl.shutdown(args.name, wait=args.wait)
    say(f"{args.name} {'has shut down' if args.wait else 'was asked to shut down'}")
    return 0


def perform(verb: str, xl: Xl, name: str, **values) -> int:
    """One of the actions the Appliances screen has too (hypervisor/appliances/actions.py), in its words."""
    say(ACTIONS[verb].run(xl, name, **values))
    return 0


@needs_running
def cmd_destroy(args, xl: Xl) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            return fail("destroy stops the guest at once, like pulling its power; add --yes to confirm", EXIT_USAGE)
        question = ACTIONS["destroy"].confirm.format(name=args.name)
        if input(f"{question} Type its name to confirm: ").strip() != args.name:
            return fail("not destroyed", EXIT_FAILED)
    return perform("destroy", xl, args.name)


@needs_running
def cmd_save(args, xl: Xl) -> int:
    xl.save(args.name, str(Path(args.file).resolve()))
    say(f"{args.name} saved to {args.file}; `xenbox appliance restore {args.file}` brings it back")
    return 0


def cmd_restore(args, xl: Xl) -> int:
    from hypervisor.appliances.saved import restore
    if not Path(args.file).is_file():
        return fail(f"{args.file} does not exist: give the file `xenbox appliance save` wrote")
    name = restore(Path(args.file).resolve(), xl)      # CannotStart: main says why the guest was refused
    say(f"{name} restored from {args.file}")
    return 0


@needs_running
def cmd_mem_set(args, xl: Xl) -> int:
    entry = find(args.name)       # a running guest that is no appliance has no maximum
    maximum = entry.manifest.memory.maximum_mib if entry and entry.manifest else None
    if maximum is not None and args.mib > maximum:
        return fail(f"{args.name} can balloon up to {maximum} MiB (memory.maximum_mib); "
                    f"{args.mib} MiB is more: raise the maximum and restart it", EXIT_USAGE)
    return perform("mem-set", xl, args.name, mib=args.mib)


@needs_running
def cmd_vcpu_set(args, xl: Xl) -> int:
    return perform("vcpu-set", xl, args.name, count=args.count)


@needs_running
def cmd_vcpu_pin(args, xl: Xl) -> int:
    return perform("vcpu-pin", xl, args.name, vcpu=args.vcpu, cpus=args.cpus)


def cmd_vcpu_list(args, xl: Xl) -> int:
    print(xl.vcpu_list(args.name or ""), end="")
    return 0


@needs_running
def cmd_rename(args, xl: Xl) -> int:
    return perform("rename", xl, args.name, new=args.new_name)


@needs_running
def cmd_sysrq(args, xl: Xl) -> int:
    return perform("sysrq", xl, args.name, key=args.key)


@needs_running
def cmd_dump_core(args, xl: Xl) -> int:
    return perform("dump-core", xl, args.name, path=Path(args.file).resolve())


@needs_running
def cmd_console(args, xl: Xl) -> int:
    print(f"Attached to {args.name}'s console. Press Ctrl-] to come back.", flush=True)
    runner.become(xl.console_command(args.name))


def cmd_log(args, xl: Xl) -> int:
    log = CONSOLE_LOGS / f"guest-{args.name}.log"
    if not log.is_file():
        return fail(f"no console log for {args.name} yet ({log}): it is written once the guest has started",
                    EXIT_NOT_FOUND)
    sys.stdout.write(log.read_text(errors="replace"))
    return 0


def cmd_check(args, xl: Xl) -> int:
    entry = read_entry(Path(args.folder))
    if entry.manifest is None:
        return fail(entry.problem)
    say(f"{entry.name}: appliance.toml is valid")
    return 0


def cmd_import(args, xl: Xl) -> int:
    from hypervisor.appliances.importing import ImportRefused, import_bundle, read_xl_cfg
    cfg = Path(args.cfg)
    try:
        imported = read_xl_cfg(cfg)
    except (ImportRefused, FileProblems) as error:
        return fail(str(error))
    try:
        folder = import_bundle(imported, Path(args.into), say)
    except ImportRefused as error:
        return fail(f"{cfg} was not imported: {error}")
    except OSError as error:
        return fail(f"{cfg} was not imported: {error.filename or args.into} could not be written ({error.strerror})")
    for warning in imported.warnings:
        say(f"warning: {warning}")
    say(f"imported {cfg} as appliance {folder.name} in {folder}; `xenbox appliance check {folder}` checks it")
    return 0


def cmd_add(args, xl: Xl) -> int:
    from hypervisor.appliances.adding import NothingAdded, Several, add_bundle, add_from_device
    if args.source is None and not args.from_device:
        return fail("give a bundle folder or a .tar of one, or --from-device DEVICE", EXIT_USAGE)
    try:
        if args.from_device:
            added = add_from_device(args.from_device, args.source, Path(args.into), say, args.replace,
                                    only_one_is_chosen=False, pool=args.pool)      # a script names what it adds
        else:
            added = add_bundle(Path(args.source), Path(args.into), say, args.replace, pool=args.pool)
    except NothingAdded as error:
        return fail(str(error), EXIT_NOT_FOUND if error.not_found else EXIT_FAILED)
    if isinstance(added, Several):
        say(f"bundles on {added.device}:")
        for name in added.bundles:
            print(f"  {name}", flush=True)
        say(f"add one with `xenbox appliance add --from-device {added.device} {added.bundles[0]}`")
        return 0
    say(f"added appliance {added.name} in {added}; `xenbox appliance start {added.name}` starts it")
    return 0


SIZE = re.compile(r"([0-9]+)([MGT]?)(?:i?B)?", re.IGNORECASE)


def mib(text: str) -> int:
    """A size as a person writes it: 4G, 512M, 4GiB, or a number of MiB."""
    found = SIZE.fullmatch(text.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: write e.g. 4G, 512M or 4096 (MiB)")
    return int(found[1]) * {"": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[found[2].upper()]


def choices_from(args):
    from hypervisor.appliances.new_guest import GuestChoices, InstallSource, NewDisk
    if args.iso:
        source = InstallSource("iso", iso=args.iso)
    elif getattr(args, "cd_drive", None):
        source = InstallSource("cd-drive", drive=args.cd_drive)
    elif args.kernel:
        source = InstallSource("kernel", kernel=args.kernel, ramdisk=args.ramdisk, cmdline=args.cmdline or "")
    elif args.image:
        source = InstallSource("disk-image", image=args.image)
    else:
        source = InstallSource("none")
    disk = None
    if args.device:
        disk = NewDisk(0, device=args.device)
    elif args.disk_size:
        disk = NewDisk(args.disk_size, args.pool, args.format)
    return GuestChoices(args.name, args.type, source, disk, args.memory, args.vcpus, args.bridge, args.nic_model,
                        args.disk_bus, args.firmware, args.windows, not args.no_serial, args.autostart)


def cmd_create(args, xl: Xl) -> int:
    from hypervisor.appliances.new_guest import WINDOWS_NOTE, NewGuestRefused, create, host_offer, problems
    choices = choices_from(args)
    offer = host_offer(xl)
    found = problems(choices, offer)
    if args.json and found:
        print(json.dumps({"name": args.name, "created": False, "problems": found}, indent=2))
        return EXIT_FAILED
    if found:
        return fail(f"{args.name} was not made:\n  " + "\n  ".join(found))
    progress = (lambda line: print(f"xenbox: {line}", file=sys.stderr, flush=True)) if args.json else say
    if args.windows:
        progress(WINDOWS_NOTE)
    started = False
    try:
        folder = create(choices, progress, start=False, xl=xl, offer=offer)
        if not args.no_start:
            start(read_entry(folder).manifest, xl)
            started = True
    except NewGuestRefused as error:
        return fail(str(error))
    except CannotStart as error:
        return fail(f"{args.name} was made but did not start: {error}")
    if args.json:
        print(json.dumps({"name": args.name, "created": True, "folder": str(folder), "started": started,
                          "manifest": (folder / "appliance.toml").read_text()}, indent=2))
    else:
        say(f"{args.name} {'created and started' if started else 'created'} in {folder}"
            + ("" if started else f"; `xenbox appliance start {args.name}` starts it"))
    return 0


def cmd_cd(args, xl: Xl) -> int:
    from hypervisor.appliances.cd import CdError, change_cd_by_name
    if (entry := _found(args.name)) is None:
        return EXIT_NOT_FOUND
    try:
        say(change_cd_by_name(entry, getattr(args, "iso", None) or "", xl))
    except CdError as error:
        return fail(str(error))
    return 0


def cmd_autostart(args, xl: Xl) -> int:
    outcomes = boot_start.autostart(discover(), xl, say)
    write_status(outcomes)
    return 0 if all(o.started for o in outcomes) else EXIT_FAILED


def add_commands(groups) -> None:
    parser = groups.add_parser("appliance", help="guest appliances: list, start, stop, and every xl action")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler, help: str, *arguments: tuple[str, dict]):
        sub = commands.add_parser(name, help=help, description=help)
        for argument, options in arguments:
            sub.add_argument(argument, **options)
        sub.set_defaults(handler=handler)
        return sub

    name = ("name", {"help": "the appliance (guest) name"})
    command("list", cmd_list, "defined and running appliances with state, memory and vCPUs").add_argument(
        "--json", action="store_true", help="print JSON")
    command("start", cmd_start, "start an appliance from its appliance.toml", name).add_argument(
        "--paused", action="store_true", help="build it (devices, firmware) but do not run it yet (xl create -p)")
    command("stop", cmd_stop, "ask the guest to shut down cleanly", name).add_argument(
        "--wait", action="store_true", help="wait until it has shut down")
    command("reboot", needs_running(lambda args, xl: perform("reboot", xl, args.name)), "ask the guest to reboot", name)
    command("destroy", cmd_destroy, "stop the guest at once (asks to confirm)", name).add_argument(
        "--yes", action="store_true", help="do not ask; for scripts")
    command("pause", needs_running(lambda args, xl: perform("pause", xl, args.name)), "pause the guest (it keeps its memory)", name)
    command("unpause", needs_running(lambda args, xl: perform("unpause", xl, args.name)), "let a paused guest run again", name)
    command("save", cmd_save, "suspend the guest to a file (it stops running)", name,
            ("file", {"help": "where to write its state"}))
    command("restore", cmd_restore, "start a guest again from a saved file", ("file", {"help": "a saved state"}))
    command("mem-set", cmd_mem_set, "balloon the guest's memory (up to its maximum)", name,
            ("mib", {"type": int, "help": "new memory target in MiB"}))
    command("vcpu-set", cmd_vcpu_set, "set how many vCPUs are online (up to its maximum)", name,
            ("count", {"type": int, "help": "number of vCPUs"}))
    command("vcpu-pin", cmd_vcpu_pin, "pin a vCPU to physical CPUs", name,
            ("vcpu", {"help": "vCPU number, or 'all'"}), ("cpus", {"help": "CPU list, e.g. 0 or 0-1 or all"}))
    command("vcpu-list", cmd_vcpu_list, "vCPUs and where they run", ("name", {"nargs": "?", "help": "guest"}))
    command("rename", cmd_rename, "rename a running guest", name, ("new_name", {"help": "its new name"}))
    command("sysrq", cmd_sysrq, "send a magic SysRq key to the guest's kernel", name,
            ("key", {"help": "one letter, e.g. s (sync) or h (help)"}))
    command("dump-core", cmd_dump_core, "write the guest's memory to a core file", name,
            ("file", {"help": "core file to write"}))
    command("console", cmd_console, "attach to the guest's console (Ctrl-] comes back)", name)
    command("log", cmd_log, "print the guest's console log", name)
    command("check", cmd_check, "check an appliance bundle folder's appliance.toml",
            ("folder", {"help": "bundle folder holding appliance.toml"}))
    add_import_command(commands, cmd_import)      # xl.cfg files here; images and packages in appliance_import.py
    add_movable_command(commands)                 # could it move to a paired host: cli/migration.py
    add_checkpoint_commands(commands)             # cli/checkpoints.py
    add = command("add", cmd_add, "install an appliance bundle (a folder or a .tar of one), its disk images "
                                  "copied onto guest volumes with progress", ("source", {"nargs": "?", "help": "bundle folder or .tar; with "
                                                               "--from-device, its path on the device"}))
    add.add_argument("--from-device", metavar="DEVICE", help="a USB stick or disk partition holding the bundle "
                     "(sdb1): mounted read-only while it is read, then unmounted; without SOURCE, lists its bundles")
    add.add_argument("--replace", action="store_true", help="replace an installed appliance of the same name")
    add.add_argument("--pool", default="local", help="where its disk images go: local (a volume on the data store, "
                     "the default), files (an image on the data store), or a pool added by name")
    add.add_argument("--into", default=str(APPLIANCE_DIRS[0]), help=f"where appliances live (default {APPLIANCE_DIRS[0]})")
    command("autostart", cmd_autostart, "start the autostart appliances in order (run at boot)")
    add_display_command(commands)
    add_create_command(command)
    command("cd-eject", cmd_cd, "empty an HVM appliance's CD drive, running or not, and keep it so", name)
    command("cd-insert", cmd_cd, "put an ISO of the ISO library in an HVM appliance's CD drive, and keep it so",
            name, ("iso", {"help": "an ISO's name in `xenbox iso list` (or its full path there)"}))


def add_create_command(command) -> None:
    from hypervisor.appliances.new_guest import DISK_BUSES, FIRMWARES, KINDS, NIC_MODELS
    create = command("create", cmd_create, "make a new appliance from choices (as the console's new-guest steps do), "
                     "and start it", ("name", {"help": "the new appliance's name"}))
    create.add_argument("--type", choices=KINDS, default="hvm", help="pv, pvh or hvm (default hvm)")
    source = create.add_mutually_exclusive_group()
    source.add_argument("--iso", metavar="NAME", help="boot this ISO of the ISO library (`xenbox iso list`) as a CD")
    source.add_argument("--cd-drive", metavar="ID", help="hvm: boot from the disc in this host CD/DVD drive, by its "
                        "id (`xenbox storage cd-drives` lists them; never the boot medium)")
    source.add_argument("--kernel", metavar="PATH", help="pv/pvh: boot this kernel (on a pool)")
    source.add_argument("--image", metavar="PATH", help="boot this existing disk image (on a pool)")
    create.add_argument("--ramdisk", metavar="PATH", help="with --kernel: its initrd")
    create.add_argument("--cmdline", help="with --kernel: its command line")
    create.add_argument("--disk-size", type=mib, metavar="SIZE", help="a new disk of this size (4G, 512M)")
    create.add_argument("--pool", default="local", help="where the new disk goes (default local, the data store)")
    create.add_argument("--format", choices=("raw", "qcow2"), default="raw", help="the new disk's format (qcow2: "
                                                                                   "file pools only)")
    create.add_argument("--device", metavar="ID", help="instead of a new disk: a host disk by its stable id")
    create.add_argument("--memory", type=int, default=512, metavar="MIB", help="memory in MiB (default 512)")
    create.add_argument("--vcpus", type=int, default=1, help="vCPUs (default 1)")
    create.add_argument("--bridge", default="xenbr0", help="the network bridge (default xenbr0)")
    create.add_argument("--nic-model", choices=NIC_MODELS, default="pv", help="hvm: the network card (default pv)")
    create.add_argument("--disk-bus", choices=DISK_BUSES, default="pv", help="hvm: the disk controller (default pv)")
    create.add_argument("--firmware", choices=FIRMWARES, default="bios", help="hvm: bios (SeaBIOS) or uefi (OVMF)")
    create.add_argument("--windows", action="store_true", help="hvm: the Windows profile (viridian, stdvga, tablet, "
                                                               "local time, an e1000)")
    create.add_argument("--no-serial", action="store_true", help="hvm: no emulated serial port as its console")
    create.add_argument("--autostart", action="store_true", help="start it with the host")
    create.add_argument("--no-start", action="store_true", help="make it, but do not start it now")
    create.add_argument("--json", action="store_true", help="print the result as JSON (progress goes to stderr)")


def cmd_display(args, xl: Xl) -> int:
    """Turn a guest's graphical console on or off (at its next start), or show how to reach it."""
    from hypervisor.appliances import display
    if (entry := _found(args.name)) is None:
        return EXIT_NOT_FOUND
    if entry.manifest is None:
        return fail(f"{args.name}'s appliance.toml has problems: {entry.problem}")
    try:
        if args.action == "show":
            shown = display.show_here(entry.manifest, xl.domain(args.name) is not None, args.minutes)
        else:
            say(display.turn(entry.folder, args.name, args.action == "on", xl.domain(args.name) is not None,
                             lambda: (e.manifest for e in discover())))
            return 0
    except display.DisplayError as error:
        return fail(str(error))
    if args.json:
        print(json.dumps({"guest": shown.guest, "token": shown.token.value, "expires": shown.token.expires,
                          "port": shown.port, "fingerprint_sha256": shown.fingerprint, "urls": list(shown.urls)},
                         indent=2))
        return 0
    for line in display.lines(shown):
        say(line)
    return 0


def add_display_command(commands) -> None:
    sub = commands.add_parser("display", help="an hvm guest's screen over TLS (noVNC): on, off, or show its "
                              "address and a token", description=cmd_display.__doc__)
    sub.add_argument("name", help="the appliance (guest) name")
    sub.add_argument("action", choices=("on", "off", "show"), help="on/off apply at its next start; show prints "
                     "the address and a new token")
    sub.add_argument("--minutes", type=int, default=60, help="how long show's token opens the screen (default 60)")
    sub.add_argument("--json", action="store_true", help="show: print JSON")
    sub.set_defaults(handler=cmd_display)
