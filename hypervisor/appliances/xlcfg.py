"""Manifests to xl.cfg for `xl create`, and existing /etc/xen/*.cfg files to manifests.

Importing never drops a setting silently: what has no place in a manifest comes
back as a warning, and is written at the top of the new appliance.toml.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hypervisor.appliances.manifest import Disk, Hvm, Manifest
from hypervisor.appliances.xlsyntax import XlValue, parse_disk_spec, parse_vif_spec, parse_xl_cfg, quote
from hypervisor.settings.tomlwrite import dumps

__all__ = ["ImportedAppliance", "manifest_from_xl_cfg", "parse_xl_cfg", "to_xl_cfg"]

BLOCK_SCRIPT = "/usr/lib/xenbox/block-phy"
VIF_SCRIPT = "/usr/lib/xenbox/vif-bridge"      # every guest's network card's: xl.conf's vif.default.script
BOOT_LETTERS = {"disk": "c", "cd": "d", "network": "n"}
# An HVM appliance is headless: its console is the emulated serial port (`xl console -t serial`).
HVM_CONSOLE = {"serial": "pty", "vnc": 0}
# ... unless its [display] is on: then its VNC server listens on dom0's loopback alone, on the first free
# display from :0 (QEMU's `to=99`; libxl writes the port it took to xenstore), and is reached only
# through websockify with TLS and a token (display.py). The serial console stays.
VNC_LISTEN = "127.0.0.1"
HVM_DISPLAY = {"serial": "pty", "vnc": 1, "vnclisten": VNC_LISTEN, "vncunused": 1}
_HEADLESS = "appliances are headless, with the serial port as console"
NOT_CARRIED = {"uuid": "xl makes a new one at each start", "vnc": _HEADLESS, "sdl": _HEADLESS,
               "vnclisten": _HEADLESS, "vncpasswd": _HEADLESS}


def to_xl_cfg(manifest: Manifest) -> str:
    m = manifest
    settings: list[tuple[str, XlValue]] = [
        ("name", m.name), ("type", m.type),
        ("memory", m.memory.initial_mib), ("maxmem", m.memory.maximum_mib),
        ("vcpus", m.vcpus.initial), ("maxvcpus", m.vcpus.maximum)]
    if m.type == "hvm":
        settings += [("boot", "".join(BOOT_LETTERS[device] for device in m.boot.order)), *hvm_settings(m.hvm or Hvm(), m.display.enabled)]
    elif m.boot.bootloader:
        settings += [("bootloader", m.boot.bootloader)]
    else:
        settings += [("kernel", str(m.boot.kernel))] + ([("ramdisk", str(m.boot.ramdisk))] if m.boot.ramdisk else [])
    if m.type != "hvm" and m.boot.cmdline:
        settings += [("extra", m.boot.cmdline)]      # pygrub passes it on with --args
    if m.disks:
        settings += [("disk", [disk_spec(disk, hvm=m.type == "hvm") for disk in m.disks])]
    if m.network:
        card = vif_card(m.hvm) if m.type == "hvm" else ""
        settings += [("vif", [f"mac={nic.mac},bridge={nic.bridge}{card}" for nic in m.network])]
    settings += [("on_poweroff", m.policy.on_poweroff), ("on_reboot", m.policy.on_reboot),
                 ("on_crash", m.policy.on_crash)]
    header = f"# Written by XenBox from appliance {m.name}: change its appliance.toml, not this file."
    return "\n".join([header, *(f"{key} = {_xl_value(value)}" for key, value in settings)]) + "\n"


def hvm_settings(hvm: Hvm, display: bool = False) -> list[tuple[str, XlValue]]:
    """[hvm] as xl.cfg(5) says it: the firmware, the disk controller, the Windows profile, the console;
    and the screen, on dom0's loopback only when its [display] is on."""
    settings: list[tuple[str, XlValue]] = [("bios", "ovmf")] if hvm.firmware == "uefi" else []
    if hvm.disk_bus == "ahci":
        settings += [("hdtype", "ahci")]
    if hvm.windows:
        settings += [("viridian", 1), ("stdvga", 1), ("usb", 1), ("usbdevice", ["tablet"]), ("localtime", 1)]
    if hvm.serial:
        settings += [("serial", HVM_CONSOLE["serial"])]
    if display:
        return settings + [(key, value) for key, value in HVM_DISPLAY.items() if key != "serial"]
    return settings + [("vnc", HVM_CONSOLE["vnc"])]


def vif_card(hvm: Hvm | None) -> str:
    """An HVM guest's network card: PV only (type=vif), or an emulated model beside the PV one until the
    guest's PV drivers take over; nothing for xl's own (an rtl8139)."""
    card = (hvm or Hvm()).card
    return "" if card is None else ",type=vif" if card == "pv" else f",model={card}"


def disk_spec(disk: Disk, hvm: bool = False) -> str:
    """xl-disk-configuration(5) with every parameter named; target= takes the rest, so it is last."""
    if disk.file is None and disk.cdrom and disk.pool is None and disk.device is None:
        return f"vdev={disk.target}, access=ro, devtype=cdrom, target="      # an empty drive: xl's empty format
    if disk.file is None:
        raise ValueError(f"disk {disk.target} is on pool {disk.pool or 'host'}: launch names its volume first")
    params = [f"format={disk.format}", f"vdev={disk.target}", f"access={disk.mode}"]
    # Raw disks go to the kernel's block backend through XenBox's small hotplug script: Xen's is
    # too slow under load and needs util-linux's losetup for image files. An HVM guest's image
    # files are left to its device model, which opens them itself; block devices never are, but for
    # a host CD/DVD drive: libxl 4.17 has no backend for a CD-ROM given a script ("no suitable
    # backend for disk hdc"), and the device model reads the drive as it reads an ISO.
    host_drive = disk.cdrom and disk.device is not None
    uses_script = disk.format == "raw" and not host_drive and (disk.pool is not None or disk.device is not None
                                                                or not hvm)
    script = [f"script={BLOCK_SCRIPT}"] if uses_script else []
    # qcow2 is read by QEMU: libxl starts one in dom0 for a PV/PVH guest's qcow2 disks (and an HVM
    # guest's device model serves its own). Named, so the xl.cfg says which backend a disk has.
    qdisk = ["backendtype=qdisk"] if disk.format == "qcow2" else []
    return ", ".join(params + ["devtype=cdrom"] * disk.cdrom + qdisk + script + [f"target={disk.file}"])


def _xl_value(value: XlValue) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    return "[\n" + "".join("    " + quote(item, "'") + ",\n" for item in value) + "]"


@dataclass(frozen=True)
class ImportedAppliance:
    doc: dict                     # the appliance.toml's tables, host paths as the xl.cfg names them
    warnings: tuple[str, ...]     # settings that were not carried over, and why
    source: Path                  # the xl.cfg

    @property
    def toml_text(self) -> str:
        """The appliance.toml, with what was not carried over at its top."""
        return _with_comments(self.doc, self.source, list(self.warnings))


def manifest_from_xl_cfg(text: str, cfg_path: Path | str) -> ImportedAppliance:
    """Paths stay absolute, as the xl.cfg's host has them; relative ones are taken from the
    config file's folder, except disk targets, which xl takes under /dev. Placing them where a
    guest may have them is importing's (hypervisor.appliances.importing)."""
    cfg_path = Path(cfg_path)
    left = parse_xl_cfg(text, str(cfg_path))
    warnings: list[str] = []
    name = left.pop("name", None)
    if name is None:
        name = cfg_path.stem
        warnings.append(f"no name: the appliance is called {name!r} after the file")
    builder = left.pop("builder", None)      # xend's way of saying type = "hvm"
    kind = left.pop("type", None) or ("hvm" if builder == "hvm" else "pv")
    pop = left.pop
    sections = {
        "memory": _present(initial_mib=_integer(pop("memory", None)), maximum_mib=_integer(pop("maxmem", None))),
        "vcpus": _present(initial=_integer(pop("vcpus", None)), maximum=_integer(pop("maxvcpus", None))),
        "boot": _hvm_boot(left, warnings) if kind == "hvm" else _pv_boot(left, cfg_path.parent),
        "disks": _disks(pop("disk", []), warnings),
        "network": _nics(pop("vif", []), warnings, cards := [] if kind == "hvm" else None),
        "policy": _present(**{key: pop(key, None) for key in ("on_crash", "on_poweroff", "on_reboot")})}
    # An empty [memory] or [boot] stays, so that reading the manifest says what is missing.
    doc = {"name": name, "type": kind, **{key: value for key, value in sections.items()
                                           if value or key in ("memory", "boot")}}
    if kind == "hvm":
        hvm = _hvm_table(left, cards, warnings)
        if hvm:
            doc["hvm"] = hvm
        for key, ours in HVM_CONSOLE.items():      # what XenBox writes anyway is no loss
            if left.get(key) == ours:
                del left[key]
    warnings += [f"{key} = {value!r} is not carried over: {NOT_CARRIED.get(key, 'appliances have no such setting yet')}"
                 for key, value in left.items()]
    return ImportedAppliance(doc, tuple(warnings), cfg_path)


def _present(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None and value != ""}


def _integer(value: XlValue | None) -> XlValue | None:
    """xl reads numbers with strtol, so memory = "512" is 512."""
    return int(value) if isinstance(value, str) and re.fullmatch(r"[0-9]+", value) else value


def _host_path(value: XlValue | None, folder: Path) -> XlValue | None:
    if not isinstance(value, str) or not value:
        return value
    return os.path.normpath(folder / value) if not value.startswith("/") else value


def _pv_boot(left: dict, folder: Path) -> dict:
    cmdline = left.pop("cmdline", None)
    root, extra = left.pop("root", None), left.pop("extra", None)
    if cmdline is None and (root or extra):      # xl.cfg(5): cmdline wins over root and extra
        cmdline = " ".join(([f"root={root}"] if root else []) + ([str(extra)] if extra else []))
    bootloader = left.pop("bootloader", None)
    if isinstance(bootloader, str) and os.path.basename(bootloader) == "pygrub":
        bootloader = "pygrub"          # Debian's configs name it by its full path
    return _present(kernel=_host_path(left.pop("kernel", None), folder),
                    ramdisk=_host_path(left.pop("ramdisk", None), folder), cmdline=cmdline, bootloader=bootloader)


def _hvm_boot(left: dict, warnings: list[str]) -> dict:
    letters = left.pop("boot", "cd")
    devices = {letter: device for device, letter in BOOT_LETTERS.items()}
    if not isinstance(letters, str):
        warnings.append(f"boot = {letters!r} is not carried over: xl wants letters such as \"cd\"")
        return {}
    unknown = [letter for letter in letters if letter not in devices]
    if unknown:
        warnings.append(f"boot = {letters!r}: {''.join(unknown)!r} dropped; appliances boot from c, d or n")
    return {"order": [devices[letter] for letter in letters if letter in devices]}


def _disks(specs: XlValue, warnings: list[str]) -> list[dict]:
    disks = []
    for index, spec in _strings(specs, "disk", warnings):
        parsed = parse_disk_spec(spec)
        if parsed.others:
            warnings.append(f"disk[{index}]: {', '.join(parsed.others)} not carried over")
        if parsed.target is None:
            warnings.append(f"disk[{index}] = {spec!r} is not carried over: it names no file or device")
            continue
        target = parsed.target if parsed.target.startswith("/") else "/dev/" + parsed.target
        disks.append(_present(file=target, format=parsed.format, target=parsed.vdev, mode=parsed.access)
                     | ({"cdrom": True} if parsed.cdrom else {}))
    return disks


# The Windows profile's settings, as xl.cfg gives them; all of them present make windows = true.
WINDOWS = {"viridian": (1, "1"), "stdvga": (1, "1"), "usb": (1, "1"), "usbdevice": ("tablet", ["tablet"]),
           "localtime": (1, "1")}


def _hvm_table(left: dict, cards: list[str], warnings: list[str]) -> dict:
    """[hvm] from xl.cfg's firmware, disk controller, network card models and Windows settings."""
    hvm = {}
    if left.get("bios") in ("ovmf", "seabios"):
        hvm["firmware"] = "uefi" if left.pop("bios") == "ovmf" else "bios"
    if left.get("hdtype") in ("ahci", "ide"):
        hvm["disk_bus"] = left.pop("hdtype")
    if all(left.get(key) in values for key, values in WINDOWS.items()):
        hvm["windows"] = True
        for key in WINDOWS:
            del left[key]
    models = set(cards)
    if len(models) == 1:
        hvm["nic_model"] = models.pop()
    elif models:
        warnings.append(f"vif: cards of models {', '.join(sorted(models))}: an appliance's cards share one model; "
                        "xl's own (rtl8139) is used")
    return hvm


def _nics(specs: XlValue, warnings: list[str], cards: list[str] | None = None) -> list[dict]:
    """The cards' bridges and MACs; each card's model goes into `cards` (pv, e1000, rtl8139)."""
    nics = []
    for index, spec in _strings(specs, "vif", warnings):
        settings = parse_vif_spec(spec)
        card = "pv" if settings.get("type") == "vif" else settings.get("model")
        if cards is not None and card in ("pv", "e1000", "rtl8139"):
            cards.append(card)
            settings.pop("model", None)
            settings.pop("type", None)
        elif cards is not None and settings.get("type") == "ioemu":
            settings.pop("type")            # an HVM card's default: emulated beside the PV one
        others = [f"{key}={value}" for key, value in settings.items() if key not in ("bridge", "mac")]
        if others:
            warnings.append(f"vif[{index}]: {', '.join(others)} not carried over")
        nics.append(_present(bridge=settings.get("bridge"), mac=settings.get("mac")))
    return nics


def _strings(specs: XlValue, key: str, warnings: list[str]):
    for index, spec in enumerate(specs if isinstance(specs, list) else [specs]):
        if isinstance(spec, str):
            yield index, spec
        else:
            warnings.append(f"{key}[{index}] = {spec!r} is not carried over: each {key} is described by a string")


def _with_comments(doc: dict, cfg_path: Path, warnings: list[str]) -> str:
    lines = [f"# Imported by XenBox from {cfg_path}."]
    lines += ["# Not carried over:", *(f"#   {warning}" for warning in warnings)] if warnings else []
    return "".join(_comment_safe(line) + "\n" for line in lines) + "\n" + dumps(doc)


def _comment_safe(line: str) -> str:
    """TOML comments end at a newline and allow no control characters but tab."""
    line = line.encode("utf-8", "replace").decode("utf-8")
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", lambda match: f"\\x{ord(match[0]):02x}", line)
