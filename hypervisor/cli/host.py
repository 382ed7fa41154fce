"""`xenbox host ...`: the host's summary, its guests shut down, what dom0 does at boot, Xen's log, the serial port;
pairing with other hosts is in cli/peers.py."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from hypervisor.cli import peers
from hypervisor.cli.output import fail, say
from hypervisor.host import serial_port
from hypervisor.host.summary import host_summary
from hypervisor.network.addresses import describe_addresses
from hypervisor.xen.shutdown import shutdown_guests
from hypervisor.xen.xl import Xl

if TYPE_CHECKING:
    from hypervisor.storage.datastore import DataStore


def host_info(args: argparse.Namespace, xl: Xl) -> int:
    summary = host_summary(xl)
    if args.json:
        addresses = [{"interface": name, "address": address} for name, address in summary.addresses]
        code = summary.microcode
        print(json.dumps({**asdict(summary), "addresses": addresses,
                          "hvm": {**asdict(summary.hvm), "line": summary.hvm.line},
                          "microcode": {**asdict(code), "line": code.line} if code else None,
                          "missing_firmware": [{**asdict(m), "line": m.line} for m in summary.missing_firmware]},
                         indent=2))
        return 0
    print(f"hostname     {summary.hostname}")
    print(f"addresses    {describe_addresses(list(summary.addresses))}")
    print(f"Xen          {summary.xen_version}")
    print(f"CPU          {summary.cpu_model} ({summary.cores} cores)")
    print(f"memory       {summary.memory_free_mib} MiB free of {summary.memory_total_mib} MiB")
    print(summary.hvm.line)
    if summary.microcode:
        print(summary.microcode.line)
    for problem in summary.missing_firmware:
        print(f"firmware     {problem.line}")
    return 0


def host_hardware(args: argparse.Namespace, xl: Xl, root: Path = Path("/")) -> int:
    from hypervisor.host.hardware import as_json, read_hardware, sections
    hardware = read_hardware(xl, root / "sys", root / "proc" / "cpuinfo")
    if args.json:
        print(json.dumps(as_json(hardware), indent=2))
        return 0
    for title, lines in sections(hardware):
        print(title)
        for line in lines:
            print(f"  {line}")
    return 0


def host_shutdown_guests(args: argparse.Namespace, xl: Xl) -> int:
    shutdown_guests(xl, timeout=args.timeout, say=say)
    return 0


def host_boot(args: argparse.Namespace, xl: Xl) -> int:
    from hypervisor.boot import boot
    from hypervisor.host.boot_messages import say_at_boot
    return boot(say_at_boot, args.safe, xl)


def host_dmesg(args: argparse.Namespace, xl: Xl) -> int:
    print(xl.dmesg(), end="")
    return 0


def host_uptime(args: argparse.Namespace, xl: Xl) -> int:
    print(xl.uptime(), end="")
    return 0


def host_serial(args: argparse.Namespace, xl: Xl, store: DataStore | None = None,
                boot_env: Path = serial_port.BOOT_ENV, cmdline: Path = Path("/proc/cmdline")) -> int:
    """Where the serial console is, and (with PORT,SPEED) where it is from the next boot on."""
    if args.port is None:
        try:
            kept = serial_port.kept(boot_env)
        except serial_port.SerialPortError as error:
            return fail(f"the serial port kept {error}")
        print(f"this boot    {serial_port.running(cmdline)}")
        print(f"next boots   {kept or serial_port.parse_serial(serial_port.DEFAULT)}"
              f"{'' if kept else ' (nothing kept: the boot menu default)'}")
        return 0
    try:
        choice = serial_port.parse_serial(args.port)
    except serial_port.SerialPortError as error:
        return fail(f"serial port {args.port!r} {error}", code=2)
    from hypervisor.storage.datastore import DataStore
    if not (store or DataStore()).is_mounted():
        return fail("the serial port is kept on the data store, and this host has none mounted: make one first "
                    "(xenbox storage init), or choose the port in the boot menu (keys 1 and 2) at each boot")
    serial_port.keep(choice, boot_env)
    say(f"the console is on {choice} from the next boot on (kept in {boot_env}); "
        "this boot's stays on " + str(serial_port.running(cmdline)))
    return 0


def add_commands(groups) -> None:
    host = groups.add_parser("host", help="the host: capabilities, shutdown").add_subparsers(
        dest="command", metavar="COMMAND", required=True)
    info = host.add_parser("info", help="hostname, addresses, Xen version, CPU, memory and HVM support")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=host_info)
    hardware = host.add_parser("hardware", help="CPU (microcode, VT-x/AMD-V, HAP, IOMMU), memory, NICs, "
                               "disk controllers and disks")
    hardware.add_argument("--json", action="store_true", help="print JSON")
    hardware.set_defaults(handler=host_hardware)
    stop = host.add_parser("shutdown-guests", help="shut every guest down cleanly, destroy what remains")
    stop.add_argument("--timeout", type=float, default=60, help="seconds to wait before destroying (default 60)")
    stop.set_defaults(handler=host_shutdown_guests)
    boot = host.add_parser("boot", help="at boot: mount the data store, set the host up, start appliances")
    boot.add_argument("--safe", action="store_true", help="safe mode: start no appliances")
    boot.set_defaults(handler=host_boot)
    serial = host.add_parser("serial", help="the serial console's port and speed: shown, or kept for the next boots")
    serial.add_argument("port", nargs="?", metavar="PORT,SPEED",
                        help=f"com1 or com2 and a speed ({', '.join(map(str, serial_port.SPEEDS))}), e.g. com2,115200")
    serial.set_defaults(handler=host_serial)
    host.add_parser("dmesg", help="Xen's own log (xl dmesg)").set_defaults(handler=host_dmesg)
    host.add_parser("uptime", help="how long the host and each guest have run").set_defaults(handler=host_uptime)
    peers.add_commands(host)
