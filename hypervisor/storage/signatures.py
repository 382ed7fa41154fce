"""What is written on a device: filesystem, partition table, LVM or RAID labels (`wipefs`, `blkid -p`)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from hypervisor import runner
from hypervisor.runner import ParseError
from hypervisor.storage import StorageError


@dataclass(frozen=True)
class Signature:
    device: str          # kernel name, as wipefs prints it: sda1
    offset: int
    type: str            # ext4, gpt, PMBR, LVM2_member, linux_raid_member, iso9660, ...
    uuid: str | None = None
    label: str | None = None


KINDS = {
    "LVM2_member": "an LVM physical volume", "linux_raid_member": "a RAID member (Linux md)",
    "gpt": "a GPT partition table", "dos": "an MBR partition table", "mac": "an Apple partition map", "iso9660": "an ISO 9660 filesystem",
    "vfat": "a FAT filesystem", "swap": "a swap area", "crypto_LUKS": "a LUKS encrypted volume",
    "zfs_member": "a ZFS pool member", "ntfs": "an NTFS filesystem", "hfsplus": "an HFS+ filesystem",
}
PARTITION_TABLES = {"gpt", "dos", "PMBR", "mac"}
PART_OF = {"PMBR": "gpt"}     # a protective MBR is half of a GPT label, not a second thing


def kind(fstype: str, label: str | None = None) -> str:
    """`ext4` -> 'an ext4 filesystem labelled guests'."""
    text = KINDS.get(fstype) or f"{'an' if fstype[:1].lower() in 'aeiox' else 'a'} {fstype} filesystem"
    return f"{text} labelled {label}" if label else text


def parse_wipefs(text: str) -> list[Signature]:
    """`wipefs --json --no-act DEVICE`: every signature, with its byte offset."""
    try:
        rows = json.loads(text)["signatures"] if text.strip() else []
        return [Signature(r["device"], int(r["offset"], 16), r["type"], r.get("uuid"), r.get("label")) for r in rows]
    except (ValueError, KeyError, TypeError) as error:
        raise ParseError(f"unexpected `wipefs --json` output: {text[:200]!r}") from error


def parse_blkid(text: str) -> dict[str, str]:
    """`blkid -p -o export DEVICE`: KEY=value lines, spaces escaped with a backslash."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        values[key.strip()] = re.sub(r"\\(.)", r"\1", value)
    return values


def describe(signatures: list[Signature]) -> list[str]:
    """What a person is told is on the device, one phrase per distinct thing, in wipefs's order."""
    types = {s.type for s in signatures}
    seen, phrases = set(), []
    for s in signatures:
        if s.type in seen or PART_OF.get(s.type) in types:
            continue
        seen.add(s.type)
        phrases.append(kind(s.type, s.label))
    return phrases


class Signatures:
    def __init__(self, run: runner.Runner = runner.run) -> None:
        self._run = run

    def probe(self, device: str) -> list[Signature]:
        try:
            return parse_wipefs(self._run(["wipefs", "--json", "--no-act", device]))
        except runner.CommandError as error:
            raise StorageError(f"{device} could not be read ({error.sentence}): check that the disk is attached") from error

    def erase(self, device: str) -> None:
        """Destroys what `probe` found. The caller has asked the person first."""
        if not device.startswith("/dev/") or device.rstrip("/") == "/dev":
            raise StorageError(f"refusing to erase {device!r}: only a device under /dev can be erased")
        try:
            self._run(["wipefs", "--all", device])
        except runner.CommandError as error:
            raise StorageError(f"{device} could not be erased ({error.sentence}): "
                               "check that nothing uses it (mounted, LVM, a running guest)") from error
