"""Disk images brought from elsewhere (qcow2, vmdk, vhd, vhdx, raw), checked and converted by `qemu-img`.

An image is untrusted input, so before anything is written:
- its format is the one its name says, and the bytes agree (read here, before qemu-img sees it): a raw
  image is never probed, so a "raw" file holding a qcow2 header cannot make qemu-img open the files
  that header names;
- a vmdk descriptor's extents, a qcow2's external data file and any backing file stay inside the
  package (the image's folder, or its OVA), read from the descriptor here and from `qemu-img info`;
- `qemu-img check` finds no corruption where the format has a check (qcow2, vmdk, vhdx); a vhd's
  truncation is found when qemu-img opens it.
qemu-img always runs under a memory limit (prlimit --as) and a time limit, with the format given
(`--image-opts driver=...`), never guessed. An image inside an OVA is read in place (raw driver offset
and size): the OVA is never unpacked into dom0's memory.

Conversion writes a data store volume (raw, -n onto the LVM volume) or a pool's image file (sparse:
-S, and the zeros of a new file skipped), with qemu-img's progress said once per 10 %. An LVM volume
is not known to read zeros (it holds what an earlier volume left), so zeros are written there:
skipping them would hand the guest another guest's old data.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

from hypervisor import runner
from hypervisor.runner import ParseError
from hypervisor.storage import human_size

Say = Callable[[str], None]
MIB = 1024 * 1024
# The names an image may have, and the format qemu-img calls each (vhd is its "vpc").
SUFFIXES = {".qcow2": "qcow2", ".vmdk": "vmdk", ".vhd": "vpc", ".vhdx": "vhdx", ".img": "raw", ".raw": "raw"}
SHOWN = {"qcow2": "qcow2", "vmdk": "vmdk", "vpc": "vhd", "vhdx": "vhdx", "raw": "raw"}
SUFFIX_OF = {"qcow2": ".qcow2", "vmdk": ".vmdk", "vpc": ".vhd", "vhdx": ".vhdx", "raw": ".img"}
CHECKED = ("qcow2", "vmdk", "vhdx")                 # the formats `qemu-img check` can check
# qemu-img's address space. It is threaded (its I/O pool, up to 64 threads of 8 MiB stacks) and glibc
# reserves 64 MiB per malloc arena, so the limit counts reservations more than use: with two arenas,
# 256 MiB has been enough for a vmdk conversion and 192 MiB not (seen here, qemu-img 7.2).
MEMORY_LIMIT = 1024 * MIB
INFO_SECONDS = 60
CHECK_SECONDS = 600                                 # a check reads every table of a big image
CONVERT_BYTES_PER_SECOND = 8 * MIB                  # the slowest pace allowed before it counts as hung
DESCRIPTOR = b"# Disk DescriptorFile"
MOST_BACKING = 8                                    # a backing chain longer than this is refused
EXTENT = re.compile(r'^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+(\w+)(?:\s+"([^"]*)")?', re.MULTILINE)
PROGRESS = re.compile(r"\(\s*([0-9]+(?:\.[0-9]+)?)/100%\)")


class ImageRefused(Exception):
    """The image cannot be imported; the sentence names the file and the fix. Nothing was written."""


@dataclass(frozen=True)
class Source:
    """Where an image's bytes are: a file, or a member of an OVA at an offset of it."""
    name: str                       # as a person knows it: the file, or "package.ova:disk1.vmdk"
    path: Path                      # the file to open
    offset: int = 0
    size: int | None = None         # None: the whole file
    package: Path | None = None     # the folder its backing files and extents must stay in; None: no such files

    def options(self, driver: str) -> str:
        """`--image-opts` for qemu-img: the format given, the bytes where they are."""
        filename = str(self.path).replace(",", ",,")
        if self.size is None:
            return f"driver={driver},file.driver=file,file.filename={filename}"
        if driver == "raw":
            return f"driver=raw,offset={self.offset},size={self.size},file.driver=file,file.filename={filename}"
        return (f"driver={driver},file.driver=raw,file.offset={self.offset},file.size={self.size},"
                f"file.file.driver=file,file.file.filename={filename}")


@dataclass(frozen=True)
class Facts:
    """What `qemu-img info --output=json` says about an image."""
    format: str
    virtual_size: int
    actual_size: int
    backing_file: str | None = None
    backing_format: str | None = None
    data_file: str | None = None
    extents: tuple[str, ...] = field(default=())       # vmdk: the files its data is in


@dataclass(frozen=True)
class Image:
    """An image that passed every check: ready to convert."""
    source: Source
    format: str
    virtual_size: int

    @property
    def size_mib(self) -> int:
        return max(1, math.ceil(self.virtual_size / MIB))


def format_for_name(name: str) -> str | None:
    """qemu-img's format for a file's name (disk.vhd -> vpc), or None for no image name."""
    return SUFFIXES.get(PurePosixPath(name).suffix.lower())


def sniff(head: bytes, tail: bytes) -> str:
    """The format the bytes are in: `head` is the file's first 4 KiB (or less), `tail` its last 512 bytes."""
    if head.startswith(b"QFI\xfb"):
        return "qcow2"
    if head.startswith(b"KDMV") or head.startswith(b"COWD") or head.startswith(DESCRIPTOR):
        return "vmdk"
    if head.startswith(b"vhdxfile"):
        return "vhdx"
    if head.startswith(b"conectix") or tail.startswith(b"conectix") or tail[1:].startswith(b"conectix"):
        return "vpc"            # a dynamic vhd has its footer's copy first; a fixed one only at the end
    return "raw"


def descriptor_extents(text: str) -> list[str]:
    """The files a vmdk descriptor's extent lines name (a ZERO extent names none)."""
    return [match[3] for match in EXTENT.finditer(text) if match[3] is not None]


def parse_info(text: str) -> Facts:
    """`qemu-img info --output=json`."""
    try:
        info = json.loads(text)
        specific = (info.get("format-specific") or {}).get("data") or {}
        extents = tuple(extent["filename"] for extent in specific.get("extents", []))
        return Facts(info["format"], int(info["virtual-size"]), int(info.get("actual-size", 0)),
                     info.get("backing-filename"), info.get("backing-filename-format"),
                     specific.get("data-file"), extents)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ParseError(f"unexpected `qemu-img info --output=json` output: {text[:200]!r}") from error


def check_problem(returncode: int, output: str) -> str | None:
    """What `qemu-img check --output=json` found wrong, or None. Leaked clusters (exit 3) only waste
    room in the image, and are not a problem; exit 63 is a format without a check."""
    if returncode in (0, 3, 63):
        return None
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR").strip(" :") for line in lines if line.startswith("ERROR")]
    if errors:      # said on standard error, ahead of the JSON report
        return f"qemu-img check found {len(errors)} error{'s' * (len(errors) > 1)}, the first: {errors[0]}"
    try:
        found = json.loads(output[output.index("{"):])
        corrupt, errors = int(found.get("corruptions", 0)), int(found.get("check-errors", 0))
    except (ValueError, TypeError):
        return lines[-1].removeprefix("qemu-img: ") if lines else f"qemu-img check failed (exit {returncode})"
    if corrupt:
        return f"it has {corrupt} corrupt cluster{'s' * (corrupt > 1)}"
    return f"qemu-img could not check it ({errors} error{'s' * (errors != 1)} reading it)"


def progress(line: str) -> float | None:
    """The percentage in a line of `qemu-img convert -p`: "    (12.50/100%)"."""
    match = PROGRESS.search(line)
    return float(match[1]) if match else None


def limited(argv: list[str]) -> list[str]:
    """qemu-img with a ceiling on the memory it may map: a hostile header cannot make it eat dom0's."""
    return ["prlimit", f"--as={MEMORY_LIMIT}", "--", "env", "MALLOC_ARENA_MAX=2", *argv]


class DiskImages:
    def __init__(self, run: runner.Runner = runner.run, follow: runner.Follower = runner.follow) -> None:
        self._run = run
        self._follow = follow

    def probe(self, source: Source, format: str | None = None) -> Image:
        """Every check of the module's docstring, or ImageRefused naming the file and the fix. `format`:
        the one a bundle's manifest says, instead of the one its name says."""
        return self._probe(source, depth=0, expected=format)

    def _probe(self, source: Source, depth: int, expected: str | None = None) -> Image:
        name = source.name
        expected = expected or format_for_name(name)
        if expected is None:
            raise ImageRefused(f"{name} is not named as a disk image: name it after its format "
                               f"({', '.join(SUFFIXES)}), then import it again")
        if source.size is None:
            self._plain_file(source)
        head, tail, descriptor = read_ends(source)
        found = sniff(head, tail)
        if found != expected:
            suffix = SUFFIX_OF[found]
            raise ImageRefused(f"{name} is named as a {SHOWN[expected]} image, but its contents are {SHOWN[found]}: "
                               f"rename it to {PurePosixPath(name).stem}{suffix} if it is one, then import it again")
        if descriptor is not None:          # a vmdk descriptor: its extents before qemu-img opens them
            for extent in descriptor_extents(descriptor):
                self._inside(source, extent, "its extent")
        facts = self._info(source, expected)
        if facts.format != expected:
            raise ImageRefused(f"{name}: qemu-img read it as {facts.format}, not {SHOWN[expected]}: check the file")
        for extent in facts.extents:
            if descriptor is None and (extent == str(source.path) or source.size is not None):
                continue            # a sparse vmdk holding its own data: its one extent is itself
            self._inside(source, extent, "its extent")
        if facts.data_file:
            self._inside(source, facts.data_file, "its external data file")
        if facts.backing_file:
            self._backing(source, facts, depth)
        if expected in CHECKED:
            self._check(source, expected)
        if facts.virtual_size <= 0:
            raise ImageRefused(f"{name} is an empty disk (0 bytes): give the image that holds the guest")
        return Image(source, expected, facts.virtual_size)

    def _plain_file(self, source: Source) -> None:
        """A file, in its package: not a link out of it (to /etc/shadow, or a host disk), not a device."""
        real = source.path.resolve()
        if source.package is not None and not real.is_relative_to(source.package.resolve()):
            raise ImageRefused(f"{source.name} is a link to {real}, outside {source.package}: copy the image itself "
                               "there, then import it again")
        if not real.is_file():
            raise ImageRefused(f"{source.name} is not a file (a device, a folder or a pipe, or it is missing): give "
                               "an image file")

    def _inside(self, source: Source, named: str, what: str) -> Path:
        """The file `named` (relative to the image's folder), which must be inside its package."""
        outside = (f"{source.name} names {what} {named}, which is outside "
                   f"{source.package or 'the package'}: an imported image must carry all its data; convert it to "
                   "one self-contained file first (qemu-img convert -O qcow2 ...), then import that")
        if source.package is None or ":" in named.split("/")[0] or not named:    # json:, nbd://, an OVA member
            raise ImageRefused(outside)
        full = (source.path.parent / named).resolve()
        if not full.is_relative_to(source.package.resolve()):
            raise ImageRefused(outside)
        if not full.is_file():
            raise ImageRefused(f"{source.name} names {what} {named}, which is not in {source.package}: bring that "
                               "file too, beside the image, then import it again")
        return full

    def _backing(self, source: Source, facts: Facts, depth: int) -> None:
        backing = self._inside(source, facts.backing_file, "its backing file")
        if depth + 1 >= MOST_BACKING:
            raise ImageRefused(f"{source.name} has a chain of more than {MOST_BACKING} backing files: convert it to "
                               "one file first (qemu-img convert), then import that")
        if facts.backing_format is None:        # qemu-img would guess its format: it is never guessed here
            raise ImageRefused(f"{source.name} names its backing file {facts.backing_file} without its format: "
                               "convert it to one file first (qemu-img convert), then import that")
        self._probe(Source(f"{backing.name} (backing file of {source.name})", backing, package=source.package),
                    depth + 1, facts.backing_format)

    def _info(self, source: Source, driver: str) -> Facts:
        try:
            text = self._run(limited(["qemu-img", "info", "--output=json", "--image-opts", source.options(driver)]),
                             timeout=INFO_SECONDS)
        except runner.CommandError as error:
            raise ImageRefused(f"{source.name} cannot be read as a {SHOWN[driver]} image ({_said(error)}): it is "
                               "damaged or cut short; copy it again from where it came from") from None
        try:
            return parse_info(text)
        except ParseError as error:
            raise ImageRefused(f"{source.name}: {error}") from None

    def _check(self, source: Source, driver: str) -> None:
        argv = limited(["qemu-img", "check", "--output=json", "--image-opts", source.options(driver)])
        try:
            self._run(argv, timeout=CHECK_SECONDS)
            return
        except runner.CommandError as error:
            problem = check_problem(error.returncode, error.output)
        if problem:
            raise ImageRefused(f"{source.name} is damaged: {problem}; copy it again from where it came from (or "
                               f"repair a copy with `qemu-img check -r all`), then import it again")

    def convert(self, image: Image, target: Path, target_format: str, fresh: bool, say: Say) -> None:
        """Write `image` onto `target`, which exists and is at least its size: a volume (not fresh: every
        zero written) or an image file made just now (fresh: it reads as zeros, which are skipped)."""
        argv = ["qemu-img", "convert", "-p", "-n", "--image-opts", image.source.options(image.format),
                "-O", target_format, "-S", "4k"]
        if fresh:
            argv.append("--target-is-zero")
        argv.append(str(target))
        said = [-10.0]

        def each(line: str) -> None:
            done = progress(line)
            if done is not None and (done - said[0] >= 10 or done >= 100 > said[0]):
                said[0] = done
                say(f"converting {image.source.name}: {done:.0f}% of {human_size(image.virtual_size)}")
        seconds = 600 + image.virtual_size / CONVERT_BYTES_PER_SECOND
        try:
            self._follow(limited(argv), each, timeout=seconds)
        except runner.CommandError as error:
            raise ImageRefused(f"{image.source.name} could not be converted onto {target} ({_said(error)}): "
                               "nothing was kept; check the image and the pool, then import it again") from None


def read_ends(source: Source) -> tuple[bytes, bytes, str | None]:
    """The first 4 KiB, the last 512 bytes, and a vmdk descriptor's text when qemu would read its extents
    from one: a descriptor file, or a sparse vmdk of capacity 0 (its embedded descriptor names them)."""
    try:
        with open(source.path, "rb") as file:
            size = source.size if source.size is not None else file.seek(0, 2)
            file.seek(source.offset)
            head = file.read(min(4096, size))
            file.seek(source.offset + max(0, size - 512))
            tail = file.read(min(512, size))
            descriptor = None
            if head.startswith(DESCRIPTOR):
                file.seek(source.offset)
                descriptor = file.read(min(size, 64 * 1024)).decode("utf-8", "replace")
            elif head.startswith(b"KDMV") and len(head) >= 44 and not int.from_bytes(head[12:20], "little"):
                # No capacity of its own: qemu reads its embedded descriptor's extents instead.
                sector, count = int.from_bytes(head[28:36], "little"), int.from_bytes(head[36:44], "little")
                if 0 < count <= 2048 and sector * 512 < size:
                    file.seek(source.offset + sector * 512)
                    descriptor = file.read(count * 512).split(b"\0")[0].decode("utf-8", "replace")
    except OSError as error:
        raise ImageRefused(f"{source.name} cannot be read: {error.strerror}") from None
    return head, tail, descriptor


def _said(error: runner.CommandError) -> str:
    """qemu-img's own words, without its name, the options string or the file name said twice."""
    text = error.sentence.removeprefix("qemu-img: ")
    return re.sub(r"Could not open '[^']*': ", "", text).rstrip(".")


@dataclass(frozen=True)
class NewGuest:
    """What an image or a package says the guest is, before anything is made."""
    name: str
    disks: tuple[Source, ...]
    memory_mib: int = 512
    vcpus: int = 1
    firmware: str = "bios"                  # "bios" or "uefi"
    nics: int = 1
    warnings: tuple[str, ...] = ()
    origin: str = ""                        # the file it came from, for the manifest's description


def guest_name(stem: str) -> str:
    """An appliance name from a file's or a package's name: what NAME allows, the rest made '-'."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).lstrip("_.-")[:64].rstrip("-")
    return name or "imported"
