"""`xenbox appliance checkpoint | checkpoints | checkpoint-restore | checkpoint-delete`: a running guest's
memory and disks kept at a moment, listed, brought back, deleted (hypervisor/appliances/checkpoints.py)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from hypervisor.appliances.checkpoints import Checkpoint, CheckpointError, on_this_host
from hypervisor.cli.output import EXIT_FAILED, EXIT_USAGE, fail, say
from hypervisor.storage import human_size
from hypervisor.xen.xl import Xl


def cmd_checkpoint(args, xl: Xl) -> int:
    try:
        store = on_this_host(xl)
        store.take(args.name, say)
        if args.keep:
            for old in store.prune(args.name, args.keep):
                say(f"deleted the older checkpoint {old.stamp} (keeping {args.keep})")
    except CheckpointError as error:
        return fail(str(error))
    return 0


def line(checkpoint: Checkpoint) -> str:
    disks = ", ".join(s.target for s in checkpoint.snapshots) or "no disks"
    return (f"{checkpoint.stamp}  {checkpoint.taken}  memory {human_size(checkpoint.memory_bytes)}, disks: {disks}; "
            f"paused {checkpoint.paused_ms} ms")


def cmd_checkpoints(args, xl: Xl) -> int:
    try:
        found = on_this_host(xl).list(args.name)
    except CheckpointError as error:
        return fail(str(error))
    if args.json:
        print(json.dumps([{"stamp": c.stamp, "taken": c.taken, "paused_ms": c.paused_ms,
                           "memory_bytes": c.memory_bytes, "disks": [s.target for s in c.snapshots]}
                          for c in found], indent=2))
    elif not found:
        say(f"{args.name} has no checkpoint: `xenbox appliance checkpoint {args.name}` takes one")
    else:
        for checkpoint in found:
            print(line(checkpoint))
    return 0


def cmd_checkpoint_restore(args, xl: Xl) -> int:
    from hypervisor.appliances.saved import restore
    if not args.yes:
        if not sys.stdin.isatty():
            return fail(f"restoring a checkpoint replaces {args.name} as it runs now, and its disks, with what they "
                        "were then; add --yes to confirm", EXIT_USAGE)
        if input(f"{args.name}, its memory and disks, go back to {args.stamp}; what it did since is lost. "
                 "Type its name to confirm: ").strip() != args.name:
            return fail("not restored", EXIT_FAILED)
    try:
        checkpoint = on_this_host(xl).restore(args.name, args.stamp, say,
                                                  restore_memory=lambda path: restore(Path(path), xl))
    except CheckpointError as error:
        return fail(str(error))
    say(f"{args.name} runs again as it was at {checkpoint.stamp}")
    return 0


def cmd_checkpoint_delete(args, xl: Xl) -> int:
    try:
        checkpoint = on_this_host(xl).delete(args.name, args.stamp)
    except CheckpointError as error:
        return fail(str(error))
    say(f"checkpoint {checkpoint.stamp} of {args.name} deleted")
    return 0


def cmd_checkpoint_due(args, xl: Xl) -> int:
    """Run by init every minute while some appliance.toml has [checkpoint] every_min: each running one whose
    checkpoint is due gets one, and all but its newest `keep` are deleted. One failing stops no other."""
    from datetime import datetime, timezone

    from hypervisor.appliances.catalog import discover
    from hypervisor.appliances.checkpoints import is_due
    failed = 0
    store = None
    for entry in discover():
        schedule = entry.manifest.checkpoint if entry.manifest else None
        if schedule is None or schedule.every_min is None or xl.domain(entry.name) is None:
            continue
        try:
            store = store or on_this_host(xl)
            if not is_due(schedule.every_min, store.list(entry.name), datetime.now(timezone.utc)):
                continue
            store.take(entry.name, say)
            for old in store.prune(entry.name, schedule.keep):
                say(f"deleted the older checkpoint {old.stamp} of {entry.name} (keeping {schedule.keep})")
        except CheckpointError as error:
            failed += 1
            fail(f"scheduled checkpoint of {entry.name}: {error}")
    return EXIT_FAILED if failed else 0


def add_checkpoint_commands(commands) -> None:
    take = commands.add_parser("checkpoint", help="keep a running guest's memory and disks as they are now")
    take.add_argument("name")
    take.add_argument("--keep", type=int, default=0, help="then delete all but the newest KEEP checkpoints")
    take.set_defaults(handler=cmd_checkpoint)
    listed = commands.add_parser("checkpoints", help="an appliance's checkpoints, oldest first")
    listed.add_argument("name")
    listed.add_argument("--json", action="store_true", help="print JSON")
    listed.set_defaults(handler=cmd_checkpoints)
    back = commands.add_parser("checkpoint-restore", help="the guest as it was at a checkpoint (what runs now is lost)")
    back.add_argument("name")
    back.add_argument("stamp")
    back.add_argument("--yes", action="store_true", help="do not ask; for scripts")
    back.set_defaults(handler=cmd_checkpoint_restore)
    gone = commands.add_parser("checkpoint-delete", help="delete a checkpoint: its memory file and disk snapshots")
    gone.add_argument("name")
    gone.add_argument("stamp")
    gone.set_defaults(handler=cmd_checkpoint_delete)
    commands.add_parser("checkpoint-due", help="(run by init) take the scheduled checkpoints that are due").set_defaults(
        handler=cmd_checkpoint_due)
