"""What a person types into the appliance prompts, checked before Xen is asked anything.

Each reader takes the typed text and returns the value to use, or raises Invalid
with a sentence saying what would be accepted. No Textual, no Xen: unit tested.
"""
from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from hypervisor.appliances.disk_images import guest_name
from hypervisor.appliances.importing import kind_of
from hypervisor.appliances.manifest import NAME
from hypervisor.appliances.on_media import import_kind
from hypervisor.storage.media import DEVICE_NAME, MediaError, device_path
from tui.invalid import Invalid
from tui.screens.appliance_rows import ApplianceRow

SAVED_DIR = Path("/var/lib/xenbox/saved")
CORES_DIR = Path("/var/lib/xenbox/cores")
VCPU = re.compile(r"all|\d{1,4}")
CPUS = re.compile(r"all|\^?\d{1,4}(-\d{1,4})?(,\^?\d{1,4}(-\d{1,4})?)*|nodes?:\^?\d{1,3}(-\d{1,3})?")


@dataclass(frozen=True)
class Pin:
    vcpu: str       # "all" or a vCPU number
    cpus: str       # xl's CPU list: "0", "0-1", "0,2", "all", "node:0"


def memory_mib(text: str, row: ApplianceRow) -> int:
    value = _whole_number(text.lower().removesuffix("mib").removesuffix("m").strip(), "memory in MiB, e.g. 256")
    if value < 1:
        raise Invalid("memory must be at least 1 MiB")
    maximum = row.max_memory_mib
    if maximum is not None and value > maximum:
        raise Invalid(f"{row.name} can balloon up to {maximum} MiB (memory.maximum_mib in its appliance.toml); "
                      f"{value} MiB is more: raise the maximum and restart it")
    return value


def vcpu_count(text: str, row: ApplianceRow) -> int:
    value = _whole_number(text, "a number of vCPUs, e.g. 2")
    maximum = row.max_vcpus
    if value < 1:
        raise Invalid("a guest needs at least 1 vCPU")
    if maximum is not None and value > maximum:
        raise Invalid(f"{row.name} can have 1 to {maximum} vCPUs (vcpus.maximum in its appliance.toml); "
                      f"{value} is more: raise the maximum and restart it")
    return value


def pin(text: str, row: ApplianceRow) -> Pin:
    words = text.split()
    if len(words) != 2 or not VCPU.fullmatch(words[0]) or not CPUS.fullmatch(words[1]):
        raise Invalid("type a vCPU and the CPUs it may run on, e.g. 'all 0', '0 1' or '1 0-3'")
    vcpu, cpus = words
    limit = row.max_vcpus or row.vcpus
    if vcpu != "all" and limit is not None and int(vcpu) >= limit:
        raise Invalid(f"{row.name}'s vCPUs are numbered 0 to {limit - 1}")
    return Pin(vcpu, cpus)


def new_name(text: str, row: ApplianceRow) -> str:
    if not NAME.fullmatch(text):
        raise Invalid("a name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    if text == row.name:
        raise Invalid(f"{row.name} already has that name")
    return text


def sysrq_key(text: str) -> str:
    if len(text) != 1 or not text.isascii() or not text.isalnum():
        raise Invalid("type one letter or digit, e.g. s (sync), u (remount read-only) or h (help)")
    return text


def screen_choice(text: str) -> str:
    if text.strip().lower() not in ("show", "off"):
        raise Invalid("type show (its address and a token) or off")
    return text.strip().lower()


def iso_name(text: str) -> str:
    """An ISO library name, its full path there, or nothing (eject); the library says whether it has it."""
    text = text.strip()
    if text and ("\0" in text or any(ord(ch) < 32 for ch in text)):
        raise Invalid("type the ISO's name as `xenbox iso list` shows it, or leave it empty to eject")
    return text


def file_path(text: str, folder: Path) -> Path:
    """An absolute path; a bare file name goes in the default folder."""
    if not text:
        raise Invalid("type a file name")
    path = Path(text).expanduser()
    return path if path.is_absolute() else folder / path


@dataclass(frozen=True)
class LookIn:
    """A folder that is no bundle: what is in it (bundles, files to import) is listed to pick from."""
    folder: Path


@dataclass(frozen=True)
class ToImport:
    """A file `xenbox appliance import` takes: at `path`, or at `path` on `device` (mounted to read it)."""
    path: str
    kind: str                       # "package", "image" or "xl.cfg" (on_media.KINDS)
    device: str | None = None

    @property
    def shown(self) -> str:
        return f"{self.path} on {self.device}" if self.device else self.path

    @property
    def default_name(self) -> str:
        """An image's name from its file's (as the CLI's); a package's is in its OVF: "" until it is read."""
        stem = Path(self.path).name
        return guest_name(stem.removesuffix(Path(stem).suffix)) if self.kind == "image" else ""


def bundle_path(text: str) -> Path | LookIn | ToImport:
    """A bundle to add: a folder holding appliance.toml, or a .tar of one; a file to import; or a folder
    to look in for either (absolute: there is no folder it would be relative to)."""
    path = Path(text.strip()).expanduser()
    if not path.is_absolute():
        raise Invalid("give the bundle's full path, starting with /, or the stick or partition it is on (sdb1)")
    if path.is_dir() and not (path / "appliance.toml").is_file():
        return LookIn(path)
    if not path.is_dir() and not path.is_file():
        raise Invalid(f"{path} does not exist: give a bundle folder or a .tar of one, a file to import, or a folder")
    if kind := import_kind(path):
        return ToImport(str(path), kind)
    return path


@dataclass(frozen=True)
class OnDevice:
    """A bundle on a stick or partition the console mounts itself: `sdb1`, or `sdb1 web.tar`."""
    device: str
    bundle: str | None = None       # its path on the device; None: the one there is, or ask which


def bundle_source(text: str) -> Path | OnDevice | LookIn | ToImport:
    """A bundle's full path, a file to import or a folder holding either; or a device (and the bundle's
    or the file's path on it)."""
    device, _, bundle = text.strip().partition(" ")
    if DEVICE_NAME.fullmatch(device.removeprefix("/dev/")) and not Path(text.strip()).exists():
        try:
            device_path(device)
        except MediaError as error:
            raise Invalid(str(error)) from None
        named = bundle.strip()
        kind = kind_of(named) if named else None
        if kind and (kind != "xl.cfg" or named.lower().endswith(".cfg")):
            return ToImport(named, kind, device.removeprefix("/dev/"))
        return OnDevice(device.removeprefix("/dev/"), named or None)
    return bundle_path(text)


def appliance_name(text: str, taken: frozenset[str], default: str) -> str:
    """The name to import under: typed, or "" to keep the one its package says (when it says one)."""
    if not text and not default:
        return ""
    if not NAME.fullmatch(text):
        raise Invalid("a name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    if text in taken:
        raise Invalid(f"there is an appliance {text} already: give another name")
    return text


def pool_name(text: str) -> str:
    """local, files, or a pool added by name (the import says when it cannot take the disks)."""
    if not NAME.fullmatch(text):
        raise Invalid("type local (a volume on the data store), files (an image file there), or a pool's name")
    return text


def memory_and_vcpus(text: str) -> tuple[int | None, int | None]:
    """`MIB [VCPUS]`, or nothing to keep what the file says."""
    words = text.lower().replace("mib", " ").split()
    if not words:
        return None, None
    if len(words) > 2:
        raise Invalid("type the memory in MiB and, if you like, the vCPUs: e.g. 1024 2; or leave it empty")
    memory = _whole_number(words[0], "the memory in MiB, e.g. 1024 (and the vCPUs after it, e.g. 1024 2)")
    vcpus = _whole_number(words[1], "the vCPUs after the memory, e.g. 1024 2") if len(words) > 1 else None
    if memory < 1 or (vcpus is not None and vcpus < 1):
        raise Invalid("memory and vCPUs are whole numbers above 0")
    return memory, vcpus


def existing_file(text: str, folder: Path) -> Path:
    path = file_path(text, folder)
    if not path.is_file():
        raise Invalid(f"{path} does not exist: give a file a save wrote")
    return path


def save_file(name: str, saved_dir: Path = SAVED_DIR) -> Path:
    return saved_dir / f"{name}.save"


def core_file(name: str, cores_dir: Path = CORES_DIR) -> Path:
    return cores_dir / f"{name}.core"


def restore_file(name: str, remembered: Path | None, saved_dir: Path = SAVED_DIR) -> Path:
    """The file saved last for this appliance: this session's, else the newest NAME*.save, else NAME.save."""
    if remembered is not None:
        return remembered
    candidates = []
    for found in glob.glob(str(saved_dir / f"{glob.escape(name)}*.save")):
        try:
            candidates.append((Path(found).stat().st_mtime, found))
        except OSError:
            continue
    return Path(max(candidates)[1]) if candidates else save_file(name, saved_dir)


def _whole_number(text: str, what: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise Invalid(f"type {what}")
    return int(text)
