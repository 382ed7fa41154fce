"""`xenbox appliance movable NAME HOST`: whether an appliance could move to a paired host, and if not, every
reason (each with its fix), from the peer's own facts asked over the paired hosts' channel."""
from __future__ import annotations

import json

from hypervisor.appliances.catalog import find
from hypervisor.cli.output import EXIT_NOT_FOUND, fail, say
from hypervisor.migration.checks import refusals
from hypervisor.migration.facts import BadFacts, from_message
from hypervisor.migration.this_host import gather_facts, needs_of
from hypervisor.network.certificate import CertificateError
from hypervisor.peers.listener import PeerRefused, PeerUnreachable
from hypervisor.peers.this_host import ThisHost
from hypervisor.peers.trusted import PeersError
from hypervisor.xen.xl import Xl


def cmd_movable(args, xl: Xl, me: ThisHost = ThisHost()) -> int:
    entry = find(args.name)
    if entry is None:
        return fail(f"no appliance named {args.name}; `xenbox appliance list` shows them", EXIT_NOT_FOUND)
    if entry.manifest is None:
        return fail(f"{args.name} cannot move: {entry.problem}")
    try:
        peer = me.peer(args.host)
    except PeersError as error:
        return fail(str(error), EXIT_NOT_FOUND)
    try:
        target = from_message(me.ask(peer, "facts"))
    except (PeerUnreachable, PeerRefused, PeersError, CertificateError, BadFacts) as error:
        return fail(f"{args.host} cannot be asked: {error}")
    found = refusals(needs_of(entry.manifest, xl), gather_facts(xl), target)
    if args.json:
        print(json.dumps({"appliance": args.name, "host": args.host, "movable": not found, "refusals": found},
                         indent=2))
    elif found:
        say(f"{args.name} cannot move to {args.host}:")
        for reason in found:
            print(f"  - {reason}", flush=True)
    else:
        say(f"{args.name} could move to {args.host}: it has the storage, bridges, memory, Xen and CPU the "
            "guest needs")
    return 1 if found else 0


def add_movable_command(commands) -> None:
    movable = commands.add_parser("movable", help="could NAME move to a paired HOST? every reason it could not")
    movable.add_argument("name")
    movable.add_argument("host", help="a paired host's name (`xenbox host peers`)")
    movable.add_argument("--json", action="store_true", help="print JSON")
    movable.set_defaults(handler=cmd_movable)
