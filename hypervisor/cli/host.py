"""`xenbox host ...`: the host's summary, its guests shut down, what dom0 does at boot, Xen's log."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from hypervisor.cli.output import say
from hypervisor.host.summary import host_summary
from hypervisor.network.addresses import describe_addresses
from hypervisor.xen.shutdown import shutdown_guests
from hypervisor.xen.xl import Xl


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


def add_commands(groups) -> None:
    host = groups.add_parser("host", help="the host: capabilities, shutdown").add_subparsers(
        dest="command", metavar="COMMAND", required=True)
    info = host.add_parser("info", help="hostname, addresses, Xen version, CPU, memory and HVM support")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(handler=host_info)
    stop = host.add_parser("shutdown-guests", help="shut every guest down cleanly, destroy what remains")
    stop.add_argument("--timeout", type=float, default=60, help="seconds to wait before destroying (default 60)")
    stop.set_defaults(handler=host_shutdown_guests)
    boot = host.add_parser("boot", help="at boot: mount the data store, set the host up, start appliances")
    boot.add_argument("--safe", action="store_true", help="safe mode: start no appliances")
    boot.set_defaults(handler=host_boot)
    host.add_parser("dmesg", help="Xen's own log (xl dmesg)").set_defaults(handler=host_dmesg)
    host.add_parser("uptime", help="how long the host and each guest have run").set_defaults(handler=host_uptime)
