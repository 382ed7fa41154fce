"""`xenbox appliance import FILE`: an xl.cfg, a disk image (qcow2, vmdk, vhd, vhdx, raw) or an OVF/OVA
package made into an appliance. Which one FILE is goes by its name: .ova/.ovf a package, an image's
suffix an image (hypervisor/appliances/disk_images.py), anything else an xl.cfg."""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from hypervisor.appliances.catalog import APPLIANCE_DIRS
from hypervisor.cli.output import EXIT_NOT_FOUND, EXIT_USAGE, fail, say
from hypervisor.xen.xl import Xl


def add_import_command(commands, xl_cfg_import) -> None:
    """The `import` subcommand; `xl_cfg_import` is appliance.py's import of an xl.cfg."""
    help = "turn an xl.cfg, a disk image (qcow2, vmdk, vhd, vhdx, raw) or an OVA/OVF into an appliance"
    sub = commands.add_parser("import", help=help, description=help)
    sub.add_argument("cfg", metavar="FILE", help="an xl.cfg; a .qcow2, .vmdk, .vhd, .vhdx, .img or .raw disk image; "
                                                 "an .ova or .ovf")
    sub.add_argument("--into", default=str(APPLIANCE_DIRS[0]),
                     help=f"where appliances live (default {APPLIANCE_DIRS[0]})")
    sub.add_argument("--pool", default="local", help="images and packages: where their disks go: local (a volume "
                     "on the data store, the default), files (an image on the data store), or a pool added by name")
    sub.add_argument("--name", help="images and packages: the appliance's name (default: from the file or the OVF)")
    sub.add_argument("--type", default="hvm", choices=("hvm", "pv"),
                     help="images: hvm (default), or pv to boot the image's own GRUB menu with pygrub")
    sub.add_argument("--memory", type=int, metavar="MIB", help="images: memory in MiB (default 512; a package "
                     "says its own)")
    sub.add_argument("--vcpus", type=int, help="images: vCPUs (default 1; a package says its own)")
    sub.add_argument("--json", action="store_true", help="images and packages: print the result as JSON")
    sub.set_defaults(handler=lambda args, xl: cmd_import(args, xl, xl_cfg_import))


def cmd_import(args: argparse.Namespace, xl: Xl, xl_cfg_import) -> int:
    from hypervisor.appliances.importing import kind_of
    if kind_of(args.cfg) == "xl.cfg":
        return xl_cfg_import(args, xl)
    source = Path(args.cfg)
    if not source.is_file():
        return fail(f"{source} does not exist (or is no file): give the image or package to import", EXIT_NOT_FOUND)
    for value, what in ((args.memory, "--memory"), (args.vcpus, "--vcpus")):
        if value is not None and value < 1:
            return fail(f"{what} {value}: give a whole number above 0", EXIT_USAGE)
    from hypervisor.appliances import importing
    from hypervisor.appliances.disk_images import ImageRefused
    from hypervisor.appliances.ovf import PackageRefused
    from hypervisor.settings.problems import FileProblems
    from hypervisor.storage import StorageError
    tell = (lambda line: fail(line, 0)) if args.json else say       # --json: progress on standard error
    answers = importing.Answers(args.name, args.pool, args.memory, args.vcpus, args.type)
    try:
        done = importing.import_file(source, Path(args.into), answers, tell)
    except (importing.ImportRefused, ImageRefused, PackageRefused, StorageError, FileProblems) as error:
        return fail(f"{source} was not imported: {error}")
    except OSError as error:
        return fail(f"{source} was not imported: {error.filename or args.into} could not be written "
                    f"({error.strerror})")
    for warning in done.warnings:
        tell(f"warning: {warning}")
    if args.json:
        print(json.dumps({**dataclasses.asdict(done), "folder": str(done.folder)}, indent=2))
        return 0
    disks = ", ".join(f"{d.target} ({d.size_mib} MiB on {d.pool})" for d in done.disks)
    say(f"imported {source} as {done.type} appliance {done.name} in {done.folder}, disks {disks}; "
        f"`xenbox appliance start {done.name}` starts it")
    return 0
