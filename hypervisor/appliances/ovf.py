"""OVF packages: a folder holding an .ovf descriptor, its disks and an .mf manifest of digests, or the same
files in one tar (an .ova). What the guest is comes from the OVF XML (DMTF DSP0243): its name, vCPUs,
memory, disks (in the order of its hardware section) and network cards; its firmware where a vendor
says it (VMware's `vmw:Config vmw:key="firmware" vmw:value="efi"`, VirtualBox's `<Firmware type="EFI"/>`,
or a firmware key/value in VirtualSystemOtherConfigurationData), else BIOS with a warning.

Before any disk is read: every file the OVF references is in the package (a plain name, no folder out
of it, no URL), every digest the .mf lists matches (SHA-1, SHA-256 or SHA-512), and the OVA's members
pass the same rules as a bundle's tar (safe_tar.py: no member leaves, no device, no link). The OVA is
never unpacked: its disks are read where they lie in the tar (disk_images.Source offset and size).
"""
from __future__ import annotations

import hashlib
import re
import tarfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable

from hypervisor.appliances.disk_images import NewGuest, Source, guest_name
from hypervisor.appliances.safe_tar import checked_members
from hypervisor.settings.problems import FileProblems

Say = Callable[[str], None]
LARGEST_OVF = 4 * 1024 * 1024          # a descriptor is a page of XML; this is far above any seen
LARGEST_MF = 256 * 1024
# CIM_ResourceAllocationSettingData ResourceType values (DSP1041)
CPU, MEMORY, ETHERNET, DISK = "3", "4", "10", "17"
UNITS = {"byte": 0, "bytes": 0, "kilobytes": 10, "megabytes": 20, "gigabytes": 30, "terabytes": 40}
DIGEST = re.compile(r"(SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)")
DIGEST_LENGTH = {"SHA1": 40, "SHA256": 64, "SHA512": 128}
FIRMWARE_WORDS = {"efi": "uefi", "uefi": "uefi", "bios": "bios"}
CHUNK = 1024 * 1024


class PackageRefused(Exception):
    """The package cannot be imported; the sentence names the file and the fix. Nothing was written."""


@dataclass(frozen=True)
class Descriptor:
    """What an .ovf says: the pure result of parse_ovf."""
    name: str | None
    vcpus: int
    memory_mib: int | None
    firmware: str | None                # "bios", "uefi", or None: not said
    disks: tuple[str, ...]              # the files of its disks, in the hardware section's order
    files: tuple[str, ...]              # every file it references
    networks: tuple[str, ...]           # each network card's connection, as the OVF names it
    warnings: tuple[str, ...]


def local(tag: str) -> str:
    """An element's or attribute's name without its namespace: {ns}Item -> Item."""
    return tag.rsplit("}", 1)[-1]


def attribute(element: ElementTree.Element, name: str) -> str | None:
    """An attribute by its local name, whatever namespace prefix the producer gave it (or none)."""
    for key, value in element.attrib.items():
        if local(key) == name:
            return value
    return None


def children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [child for child in element if local(child.tag) == name]


def child_text(element: ElementTree.Element, name: str) -> str | None:
    found = children(element, name)
    return (found[0].text or "").strip() if found else None


def scale(units: str | None, default_shift: int) -> int:
    """Bytes per unit of `byte * 2^20`, `MegaBytes`, `byte * 1024`, ... (DSP0004's programmatic units)."""
    if not units:
        return 1 << default_shift
    text = units.replace(" ", "").lower()
    if text in UNITS:
        return 1 << UNITS[text]
    match = re.fullmatch(r"byte\*(\d+)(?:\^(\d+))?", text)
    if not match:
        raise PackageRefused(f"its unit {units!r} is not one XenBox reads: say byte * 2^20 (MiB) or MegaBytes")
    return int(match[1]) ** int(match[2] or 1)


def parse_ovf(text: str | bytes) -> Descriptor:
    """An .ovf's XML, read strictly: a reference that leaves the package, or a disk that names no file,
    raises PackageRefused with the element that says it."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise PackageRefused(f"its OVF is not well-formed XML ({error}): export it again") from None
    if local(root.tag) != "Envelope":
        raise PackageRefused(f"its OVF's root element is <{local(root.tag)}>, not an OVF <Envelope>")
    warnings: list[str] = []
    files = _references(root)
    disks = _disk_section(root, files)
    systems = [element for element in root.iter() if local(element.tag) == "VirtualSystem"]
    if len(systems) != 1:
        raise PackageRefused(f"its OVF describes {len(systems)} virtual systems; XenBox imports one guest per package "
                             "(a VirtualSystemCollection is not read): export each guest alone")
    system = systems[0]
    name = child_text(system, "Name") or attribute(system, "id")
    vcpus, memory, order, networks = 1, None, [], []
    sections = children(system, "VirtualHardwareSection")
    items = [item for section in sections for item in section
             if local(item.tag) in ("Item", "StorageItem", "EthernetPortItem")]
    for item in items:
        kind = _rasd(item, "ResourceType")
        quantity = _rasd(item, "VirtualQuantity")
        if kind == CPU:
            vcpus = _whole(quantity, "its CPU item's VirtualQuantity")
        elif kind == MEMORY:
            size = _whole(quantity, "its memory item's VirtualQuantity") * scale(_rasd(item, "AllocationUnits"), 20)
            memory = max(1, size // (1 << 20))
        elif kind == ETHERNET:
            networks.append(_rasd(item, "Connection") or "")
        elif kind == DISK:
            order.append(_host_disk(_rasd(item, "HostResource") or "", disks, files, warnings))
    firmware = _firmware(system)
    in_order = tuple(file for file in order if file is not None)
    left = [file for file in disks.values() if file is not None and file not in in_order]
    return Descriptor(name, vcpus, memory, firmware, in_order + tuple(left), tuple(files.values()),
                      tuple(networks), tuple(warnings))


def _rasd(item: ElementTree.Element, name: str) -> str | None:
    return child_text(item, name)


def _whole(text: str | None, what: str) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise PackageRefused(f"{what} is {text!r}, not a whole number: export the package again") from None
    if value < 1:
        raise PackageRefused(f"{what} is {value}; it must be at least 1")
    return value


def _references(root: ElementTree.Element) -> dict[str, str]:
    """References/File: id -> the file's name in the package, each checked to stay in it."""
    files = {}
    for section in children(root, "References"):
        for element in children(section, "File"):
            file_id, href = attribute(element, "id"), attribute(element, "href") or ""
            if attribute(element, "compression") not in (None, "", "identity"):
                raise PackageRefused(f"its file {href} is compressed ({attribute(element, 'compression')}), which "
                                     "XenBox does not import: export the package without compression")
            if attribute(element, "chunkSize"):
                raise PackageRefused(f"its file {href} is split into chunks, which XenBox does not import: export "
                                     "the package with whole files")
            path = PurePosixPath(href)
            if not href or ":" in href or path.is_absolute() or ".." in path.parts or len(path.parts) != 1:
                raise PackageRefused(f"its OVF references the file {href!r}, which is not a plain name in the "
                                     "package (no folder, no URL): every file of a package is beside its .ovf")
            files[file_id or href] = href
    return files


def _disk_section(root: ElementTree.Element, files: dict[str, str]) -> dict[str, str | None]:
    """DiskSection/Disk: diskId -> its file's name (None: a blank disk with no file)."""
    disks: dict[str, str | None] = {}
    for section in root.iter():
        if local(section.tag) != "DiskSection":
            continue
        for disk in children(section, "Disk"):
            ref = attribute(disk, "fileRef")
            if ref is not None and ref not in files:
                raise PackageRefused(f"its disk {attribute(disk, 'diskId')} names the file id {ref!r}, which its "
                                     "References section does not list: export the package again")
            disks[attribute(disk, "diskId") or ""] = files[ref] if ref is not None else None
    return disks


def _host_disk(resource: str, disks: dict[str, str | None], files: dict[str, str],
               warnings: list[str]) -> str | None:
    """A disk item's HostResource (ovf:/disk/ID or ovf:/file/ID) as the file it reads."""
    match = re.fullmatch(r"(?:ovf:)?/?(disk|file)/(.+)", resource.strip())
    if not match:
        raise PackageRefused(f"a disk item's HostResource {resource!r} names no disk of the package "
                             "(ovf:/disk/ID): export the package again")
    table = disks if match[1] == "disk" else files
    if match[2] not in table:
        raise PackageRefused(f"a disk item names {resource!r}, which the package does not describe: export it again")
    if table[match[2]] is None:
        warnings.append(f"its disk {match[2]} is a blank disk with no file; it is not imported (add a new disk later)")
    return table[match[2]]


def _firmware(system: ElementTree.Element) -> str | None:
    for element in system.iter():
        name = local(element.tag).lower()
        key, value = attribute(element, "key"), attribute(element, "value")
        if key is not None and key.lower() == "firmware" and value:
            return FIRMWARE_WORDS.get(value.lower())
        if name == "firmware":              # VirtualBox: <Firmware type="EFI"/>
            said = (attribute(element, "type") or element.text or "").strip().lower()
            if said in FIRMWARE_WORDS:
                return FIRMWARE_WORDS[said]
        if name == "virtualsystemotherconfigurationdata" and element.text:
            match = re.search(r"firmware\W+(efi|uefi|bios)", element.text, re.IGNORECASE)
            if match:
                return FIRMWARE_WORDS[match[1].lower()]
    return None


def parse_mf(text: str) -> dict[str, tuple[str, str]]:
    """An .mf: file name -> (algorithm, hex digest), from lines `SHA256(disk1.vmdk)= 3f...`."""
    digests = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = DIGEST.fullmatch(line.strip())
        if not match or len(match[3]) != DIGEST_LENGTH[match[1]]:
            raise PackageRefused(f"its .mf, line {number}, {line.strip()[:80]!r}, is not a digest line such as "
                                 "SHA256(disk1.vmdk)= <64 hex digits>: export the package again")
        digests[match[2].strip()] = (match[1], match[3].lower())
    return digests


def digest_of(stream: BinaryIO, algorithm: str) -> str:
    hashing = hashlib.new(algorithm.lower())
    while chunk := stream.read(CHUNK):
        hashing.update(chunk)
    return hashing.hexdigest()


def read_package(path: Path, say: Say = lambda line: None) -> NewGuest:
    """An .ovf (beside its files) or an .ova, checked as the module's docstring says."""
    reader = _Ova(path) if path.suffix.lower() == ".ova" else _Folder(path)
    with reader:
        ovf_name, ovf = reader.descriptor()
        try:
            found = parse_ovf(ovf)
        except PackageRefused as error:
            raise PackageRefused(f"{ovf_name}: {error}") from None
        missing = [name for name in found.files if not reader.has(name)]
        if missing:
            raise PackageRefused(f"{ovf_name} names {', '.join(missing)}, which {path.name} does not hold: bring "
                                 "every file the OVF references (export the package again), then import it")
        warnings = list(found.warnings)
        digests = reader.manifest()
        if digests is None:
            warnings.append(f"{path.name} has no .mf manifest, so its files' digests were not checked")
        else:
            unlisted = [name for name in (ovf_name, *found.files) if name not in digests]
            if unlisted:
                raise PackageRefused(f"its .mf lists no digest of {', '.join(unlisted)}: export the package again "
                                     "with a manifest of every file")
            for name, (algorithm, expected) in digests.items():
                if not reader.has(name):
                    raise PackageRefused(f"its .mf lists {name}, which {path.name} does not hold: export it again")
                say(f"checking the {algorithm} digest of {name}")
                if reader.digest(name, algorithm) != expected:
                    raise PackageRefused(f"{name} does not match its {algorithm} digest in the .mf: the file was "
                                         "changed or damaged on the way; copy the package again")
        if found.firmware is None:
            warnings.append("its OVF does not say which firmware it boots with; it is given BIOS")
        if found.networks:
            shown = ", ".join(sorted({network or "(none)" for network in found.networks}))
            warnings.append(f"its {len(found.networks)} network card(s) join xenbr0 (its OVF's networks: {shown})")
        if found.memory_mib is None:
            warnings.append("its OVF says no memory size; it is given 512 MiB")
        name = guest_name(found.name or path.stem)
        return NewGuest(name, tuple(reader.source(file) for file in found.disks), found.memory_mib or 512,
                        found.vcpus, found.firmware or "bios", len(found.networks), tuple(warnings), str(path))


class _Folder:
    """An .ovf with its files beside it."""

    def __init__(self, ovf: Path) -> None:
        self.ovf = ovf
        self.folder = ovf.resolve().parent

    def __enter__(self) -> "_Folder":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def _path(self, name: str) -> Path:
        return self.folder / name

    def descriptor(self) -> tuple[str, bytes]:
        return self.ovf.name, _bounded(self.ovf, LARGEST_OVF, "OVF")

    def has(self, name: str) -> bool:
        path = self._path(name).resolve()
        return path.is_relative_to(self.folder) and path.is_file()

    def manifest(self) -> dict[str, tuple[str, str]] | None:
        mf = self.ovf.with_suffix(".mf")
        return parse_mf(_bounded(mf, LARGEST_MF, ".mf").decode("utf-8", "replace")) if mf.is_file() else None

    def digest(self, name: str, algorithm: str) -> str:
        with open(self._path(name), "rb") as stream:
            return digest_of(stream, algorithm)

    def source(self, name: str) -> Source:
        return Source(name, self._path(name), package=self.folder)


def _bounded(path: Path, largest: int, what: str) -> bytes:
    with open(path, "rb") as file:
        data = file.read(largest + 1)
    if len(data) > largest:
        raise PackageRefused(f"{path.name} is bigger than an {what} can be ({largest:,} bytes): check the file")
    return data


class _Ova:
    """The same files in an uncompressed tar, read in place."""

    def __init__(self, ova: Path) -> None:
        self.ova = ova
        self.tar: tarfile.TarFile | None = None
        self.members: dict[str, tarfile.TarInfo] = {}

    def __enter__(self) -> "_Ova":
        try:
            self.tar = tarfile.open(self.ova, "r:")      # an OVA is a plain tar: its disks are read in place
            members = checked_members(self.tar, str(self.ova), "appliance.toml")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise PackageRefused(f"{self.ova} cannot be read as an OVA, an uncompressed tar ({error}): copy it "
                                 "again, or unpack it and import its .ovf") from None
        except FileProblems as error:
            raise PackageRefused(str(error)) from None
        for member in members:
            if member.isdir():
                continue
            if not member.isfile() or member.issparse():
                raise PackageRefused(f"{self.ova}: its member {member.name} is a link or a sparse file; an OVA holds "
                                     "plain files: export the package again")
            self.members[str(PurePosixPath(member.name))] = member
        return self

    def __exit__(self, *exc) -> None:
        if self.tar is not None:
            self.tar.close()

    def _read(self, name: str, largest: int, what: str) -> bytes:
        member = self.members[name]
        if member.size > largest:
            raise PackageRefused(f"{self.ova.name}: {name} is bigger than an {what} can be ({largest:,} bytes)")
        return self.tar.extractfile(member).read()

    def descriptor(self) -> tuple[str, bytes]:
        found = [name for name in self.members if name.lower().endswith(".ovf")]
        if len(found) != 1:
            raise PackageRefused(f"{self.ova.name} holds {len(found)} .ovf descriptors; an OVA holds exactly one")
        return found[0], self._read(found[0], LARGEST_OVF, "OVF")

    def has(self, name: str) -> bool:
        return name in self.members

    def manifest(self) -> dict[str, tuple[str, str]] | None:
        found = [name for name in self.members if name.lower().endswith(".mf")]
        if len(found) > 1:
            raise PackageRefused(f"{self.ova.name} holds {len(found)} .mf manifests; an OVA holds at most one")
        return parse_mf(self._read(found[0], LARGEST_MF, ".mf").decode("utf-8", "replace")) if found else None

    def digest(self, name: str, algorithm: str) -> str:
        return digest_of(self.tar.extractfile(self.members[name]), algorithm)

    def source(self, name: str) -> Source:
        member = self.members[name]
        return Source(f"{self.ova.name}:{name}", self.ova.resolve(), member.offset_data, member.size)
