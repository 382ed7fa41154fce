"""Device firmware and CPU microcode, derived from the kernel modules the image keeps.

Every kept module names the firmware files it may ask for (`modinfo -F firmware`, read here straight from
the module's .modinfo ELF section). Those files, and only those, stay in /usr/lib/firmware: Debian's
non-free-firmware packages (board.toml) bring many more. What was taken and what no package had is
written to /usr/share/xenbox/firmware-manifest.txt and printed.

CPU microcode is not for dom0 at all: Xen loads it at boot (`ucode=scan`) from an uncompressed early
cpio among its boot modules, with kernel/x86/microcode/GenuineIntel.bin and AuthenticAMD.bin inside.
"""
from __future__ import annotations

import fnmatch
import lzma
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

from firmware.context import Context
from firmware.run import die
from firmware.trim import kernel_version

FIRMWARE_DIR = "usr/lib/firmware"
MANIFEST = "usr/share/xenbox/firmware-manifest.txt"
# Microcode packages' folders: they go into the early cpio for Xen, never into dom0's /usr/lib/firmware.
MICROCODE = {"GenuineIntel.bin": "intel-ucode", "AuthenticAMD.bin": "amd-ucode"}
UCODE_CPIO = "boot/ucode.cpio"


def modinfo_firmware(data: bytes) -> list[str]:
    """The `firmware=` entries of a kernel module's .modinfo section (what `modinfo -F firmware` prints)."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian 64-bit ELF file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)

    def section(index: int) -> tuple[int, int, int]:
        name, _type, _flags, _addr, offset, size = struct.unpack_from("<IIQQQQ", data, shoff + index * shentsize)
        return name, offset, size

    _, names_at, _ = section(shstrndx)
    for index in range(shnum):
        name, offset, size = section(index)
        if data[names_at + name:data.index(b"\0", names_at + name)] == b".modinfo":
            entries = data[offset:offset + size].split(b"\0")
            return [e[len(b"firmware="):].decode() for e in entries if e.startswith(b"firmware=")]
    return []


def read_module(path: Path) -> bytes:
    if path.name.endswith(".ko.xz"):
        return lzma.decompress(path.read_bytes())
    if path.name.endswith(".ko"):
        return path.read_bytes()
    die(f"{path}: a kernel module compressed in a way the build cannot read",
        "teach firmware/device_firmware.py read_module this compression (Debian bookworm's are plain .ko)")
    return b""


def wanted_by_modules(modules_dir: Path) -> dict[str, list[str]]:
    """Firmware name (maybe a pattern) -> the modules that name it, for every module under modules_dir."""
    wanted: dict[str, list[str]] = {}
    for path in sorted(modules_dir.rglob("*.ko*")):
        module = path.name.split(".ko")[0]
        try:
            names = modinfo_firmware(read_module(path))
        except (ValueError, struct.error) as error:
            die(f"{path}: cannot read its .modinfo section ({error})", "is the kernel package damaged?")
        for name in names:
            wanted.setdefault(name, []).append(module)
    return wanted


@dataclass
class Selection:
    took: dict[str, list[str]] = field(default_factory=dict)     # wanted name -> files kept for it
    missing: list[str] = field(default_factory=list)             # wanted names no package had
    keep: set[str] = field(default_factory=set)                  # every path kept, symlink targets included


def select(available: dict[str, str | None], wanted: list[str]) -> Selection:
    """Match wanted names against the files present (relative path -> symlink target or None).

    A name may be a pattern (a few drivers name "foo/*.bin"); a symlink keeps what it points at."""
    chosen = Selection()
    for name in sorted(wanted):
        hits = ([p for p in available if fnmatch.fnmatchcase(p, name)] if any(c in name for c in "*?[")
                else [name] if name in available else [])
        if not hits:
            chosen.missing.append(name)
            continue
        chosen.took[name] = sorted(hits)
        for hit in hits:
            path: str | None = hit
            while path is not None and path in available and path not in chosen.keep:
                chosen.keep.add(path)
                target = available[path]
                path = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else None
    return chosen


def manifest(selection: Selection, wanted: dict[str, list[str]]) -> str:
    lines = ["# Firmware files kept in /usr/lib/firmware: those some kept kernel module names (modinfo -F firmware).",
             "# took  <file>  <modules>   /   missing  <name>  <modules>  (in none of the packages board.toml installs)"]
    for name, files in selection.took.items():
        lines += [f"took {path} {','.join(sorted(set(wanted[name])))}" for path in files]
    lines += [f"missing {name} {','.join(sorted(set(wanted[name])))}" for name in selection.missing]
    return "\n".join(lines) + "\n"


def present_files(firmware: Path) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for dirpath, _dirs, files in os.walk(firmware):
        for name in files:
            path = Path(dirpath, name)
            found[str(path.relative_to(firmware))] = os.readlink(path) if path.is_symlink() else None
    return found


def newc_cpio(members: list[tuple[str, bytes | None]]) -> bytes:
    """An uncompressed cpio archive (newc, as the kernel and Xen read): (path, data) or (path, None) for a folder."""
    out = bytearray()

    def entry(ino: int, name: str, mode: int, data: bytes) -> None:
        encoded = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out.extend(b"070701" + b"".join(b"%08X" % f for f in fields) + encoded)
        out.extend(b"\0" * (-len(out) % 4) + data)
        out.extend(b"\0" * (-len(out) % 4))

    for ino, (name, data) in enumerate(members, start=1):
        entry(ino, name, 0o40755 if data is None else 0o100644, data or b"")
    entry(0, "TRAILER!!!", 0, b"")
    return bytes(out)


def distinct_intel_updates(data: bytes) -> list[bytes]:
    """Intel's update files, split into their updates, each update once. Debian's intel-ucode/ holds one file per
    CPU signature, and an update serving several signatures (its extended signature table) is in each of their
    files: 19 of 166 updates, 6.2 MiB, in 3.20251111. Xen matches extended signatures too (intel.c), so once is
    enough. An update is a 48-byte header, its total size at offset 32 (0 meaning 2048 bytes)."""
    updates: list[bytes] = []
    seen: set[bytes] = set()
    at = 0
    while at < len(data):
        if len(data) - at < 48 or struct.unpack_from("<I", data, at)[0] != 1:
            die(f"Intel microcode: no update header at byte {at}", "is the intel-microcode package damaged?")
        total = struct.unpack_from("<I", data, at + 32)[0] or 2048
        update = data[at:at + total]
        if len(update) != total:
            die(f"Intel microcode: the update at byte {at} is cut short", "is the intel-microcode package damaged?")
        if update not in seen:
            seen.add(update)
            updates.append(update)
        at += total
    return updates


def microcode_cpio(firmware: Path) -> tuple[bytes, dict[str, int]]:
    """Xen's early microcode cpio from the Intel and AMD packages' files (Intel's updates once each, AMD's files whole)."""
    members: list[tuple[str, bytes | None]] = [("kernel", None), ("kernel/x86", None), ("kernel/x86/microcode", None)]
    sizes = {}
    for blob, folder in MICROCODE.items():
        files = sorted(p for p in (firmware / folder).glob("*") if p.is_file()) if (firmware / folder).is_dir() else []
        if not files:
            die(f"no CPU microcode in {firmware / folder}",
                "board.toml's packages must include intel-microcode and amd64-microcode (component non-free-firmware)")
        data = b"".join(p.read_bytes() for p in files)
        if blob == "GenuineIntel.bin":
            data = b"".join(distinct_intel_updates(data))
        members.append((f"kernel/x86/microcode/{blob}", data))
        sizes[blob] = len(data)
    return newc_cpio(members), sizes


def install_firmware(ctx: Context) -> None:
    firmware = ctx.rootfs / FIRMWARE_DIR
    cpio, sizes = microcode_cpio(firmware)
    (ctx.iso_tree / UCODE_CPIO).write_bytes(cpio)
    print("    microcode for Xen: " + ", ".join(f"{k} {v // 1024} KiB" for k, v in sizes.items()), flush=True)
    wanted = wanted_by_modules(ctx.rootfs / "usr/lib/modules" / kernel_version(ctx))
    chosen = select(present_files(firmware), list(wanted))
    for dirpath, _dirs, files in os.walk(firmware, topdown=False):
        for name in files:
            path = Path(dirpath, name)
            if str(path.relative_to(firmware)) not in chosen.keep:
                path.unlink()
        if not os.listdir(dirpath) and Path(dirpath) != firmware:
            os.rmdir(dirpath)
    target = ctx.rootfs / MANIFEST
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(manifest(chosen, wanted))
    size = sum((firmware / p).stat().st_size for p in chosen.keep if not (firmware / p).is_symlink())
    print(f"    firmware: took {len(chosen.keep)} files ({size / 2**20:.1f} MiB) for {len(chosen.took)} names, "
          f"missing {len(chosen.missing)}: {_first(chosen.missing)} (all of it: /{MANIFEST} in the image)", flush=True)
    shutil.rmtree(firmware / "intel-ucode", ignore_errors=True)
    shutil.rmtree(firmware / "amd-ucode", ignore_errors=True)


def _first(names: list[str], count: int = 8) -> str:
    """A build line's worth of names; the manifest in the image has them all."""
    shown = " ".join(names[:count]) or "-"
    return shown + (f" and {len(names) - count} more" if len(names) > count else "")
