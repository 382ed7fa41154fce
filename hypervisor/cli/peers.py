"""`xenbox host pair | peers | unpair | peer-listener`: pairing this host with other XenBox hosts.

`pair` with no address offers a code here and waits for the other host to join; `pair ADDRESS` joins
the host at ADDRESS with the code its screen shows. `peer-listener` is the paired hosts' service,
started by init (/usr/lib/xenbox/peer-listener) only once a peer is paired.
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from hypervisor.cli.output import fail, say
from hypervisor.network.certificate import CertificateError
from hypervisor.peers.code import BadCode, typed
from hypervisor.peers.listener import Listener, PeerRefused, PeerUnreachable
from hypervisor.peers.pairing import OFFER_SECONDS, PairingFailed
from hypervisor.peers.this_host import ThisHost
from hypervisor.peers.trusted import PeersError
from hypervisor.storage.config_files import KeptFileProblems
from hypervisor.xen.xl import Xl

RECHECK_SECONDS = 5
ASK_SECONDS = 10


def host_pair(args: argparse.Namespace, xl: Xl, me: ThisHost = ThisHost()) -> int:
    try:
        if args.address is None:
            return _offer(me)
        code = typed(args.code if args.code is not None else input(f"pairing code shown on {args.address}: "))
        peer = me.join(args.address, code)
    except BadCode as error:
        return fail(str(error), code=2)
    except (PeersError, PairingFailed, CertificateError, OSError) as error:
        return fail(str(error))
    say(f"paired with {peer.name} at {peer.address}")
    say(f"its fingerprint {peer.fingerprint}: check that its screen shows the same")
    return 0


def _offer(me: ThisHost) -> int:
    offer = me.offer()
    address = me.address() or "this host's address"
    say(f"pairing code {offer.shown_code} (for {OFFER_SECONDS // 60} minutes, 3 tries)")
    say(f"this host's fingerprint {offer.identity.fingerprint}")
    say(f"on the other host: xenbox host pair {address} (or its Peers screen), then type the code")
    try:
        peer = offer.wait(me.trust, say)
    except KeyboardInterrupt:
        offer.close()
        return fail("pairing was cancelled; no host was paired")
    say(f"paired with {peer.name} at {peer.address}; its fingerprint {peer.fingerprint}")
    return 0


def host_peers(args: argparse.Namespace, xl: Xl, me: ThisHost = ThisHost()) -> int:
    peers = me.peers()
    if not peers:
        say("no host is paired: `xenbox host pair` shows a code to give another host")
        return 0
    rows = []
    for peer in peers:
        row = {"name": peer.name, "address": peer.address, "fingerprint": peer.fingerprint, "paired": peer.paired}
        if not args.offline:
            try:
                row["answers"] = me.ask(peer, "facts", timeout=ASK_SECONDS)
            except (PeerUnreachable, PeerRefused, PeersError, CertificateError) as error:
                row["problem"] = str(error)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(f"{row['name']:<20} {row['address']:<16} paired {row['paired']}  fingerprint {row['fingerprint'][:23]}...")
        if "answers" in row:
            print(f"  answers: {describe(row['answers'])}")
        elif "problem" in row:
            print(f"  does NOT answer: {row['problem']}")
    return 0


def describe(facts: dict) -> str:
    """One line of what a peer said of itself."""
    hvm = "HVM guests: yes" if facts.get("hvm") else "HVM guests: no"
    return (f"XenBox {facts.get('build')}, Xen {facts.get('xen_version')}, {facts.get('free_memory_mib')} MiB free, "
            f"{hvm}")


def host_unpair(args: argparse.Namespace, xl: Xl, me: ThisHost = ThisHost()) -> int:
    try:
        peer = me.forget(args.name)
    except PeersError as error:
        return fail(str(error), code=3)
    say(f"{peer.name} ({peer.address}) is no longer trusted here; remove this host on it too "
        f"(`xenbox host unpair {me.name}` there)")
    return 0


def facts_handler(xl: Xl):
    """What this host tells a peer that asks `facts`: what it offers a guest moving here."""
    from hypervisor.migration.facts import to_message
    from hypervisor.migration.this_host import gather_facts
    return lambda peer, request: to_message(gather_facts(xl))


def host_peer_listener(args: argparse.Namespace, xl: Xl, me: ThisHost = ThisHost()) -> int:
    """Serve the paired peers on the management address; start again whenever the peers or the address
    change. Ends (0) when no peer is left: init's loop then waits, without Python, for the next pairing."""
    handlers = {"facts": facts_handler(xl)}
    while True:
        try:
            peers = me.peers()
        except KeptFileProblems as error:
            print(f"xenbox: peers: {error}; no peer is served until it is fixed", file=sys.stderr, flush=True)
            peers = []
        if not peers:
            return 0
        address = me.address()
        if address is None:
            threading.Event().wait(RECHECK_SECONDS)     # no address yet (DHCP): nothing to listen on
            continue
        try:
            listener = Listener(me.identity(), peers, address, handlers, port=me.peer_port, say=say)
        except (OSError, CertificateError, PeersError) as error:
            say(f"peers: cannot listen on {address}: {error}; trying again in {RECHECK_SECONDS} s")
            threading.Event().wait(RECHECK_SECONDS)
            continue
        say(f"peers: serving {', '.join(peer.name for peer in peers)} on {address} port {listener.port}")
        threading.Thread(target=_stop_on_change, args=(listener, address, me), daemon=True).start()
        listener.serve()


def _stop_on_change(listener: Listener, address: str, me: ThisHost) -> None:
    config = me.config
    seen = _stamp(config)
    while not listener.stopped.wait(RECHECK_SECONDS):
        if _stamp(config) != seen or me.address() != address:
            listener.stopped.set()


def _stamp(config: Path) -> tuple:
    try:
        info = config.stat()
    except OSError:
        return ()
    return (info.st_mtime_ns, info.st_ino, info.st_size)


def add_commands(host) -> None:
    pair = host.add_parser("pair", help="pair with another XenBox host: show a code here, or join one with its code")
    pair.add_argument("address", nargs="?", help="the other host's address (it shows a code); none: show a code here")
    pair.add_argument("--code", help="the code the other host shows (asked for when not given)")
    pair.set_defaults(handler=host_pair)
    peers = host.add_parser("peers", help="the paired hosts, and whether each answers")
    peers.add_argument("--json", action="store_true", help="print JSON")
    peers.add_argument("--offline", action="store_true", help="list them without asking each one")
    peers.set_defaults(handler=host_peers)
    unpair = host.add_parser("unpair", help="stop trusting a paired host")
    unpair.add_argument("name")
    unpair.set_defaults(handler=host_unpair)
    host.add_parser("peer-listener", help="(run by init) serve the paired hosts").set_defaults(
        handler=host_peer_listener)
