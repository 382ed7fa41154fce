"""Boot a XenBox image under QEMU: `make run`, the end-to-end tests and `make bench` all come here.

KVM is used only where it really runs a guest (tried, not guessed from /dev/kvm);
otherwise TCG with a CPU that offers AMD-V and nested paging (board/qemu/qemu.toml).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from firmware.board import BOARDS, REPO
from firmware.run import on_terminal, probe

SETTINGS = BOARDS / "qemu" / "qemu.toml"
XEN_KEYS_SKU = "xenbox-xen-keys"      # board/pc/grub.cfg looks for it


def settings() -> dict:
    with SETTINGS.open("rb") as f:
        return tomllib.load(f)


def kvm_works(kernel: Path, timeout: float = 20) -> bool:
    """Boot the dom0 kernel alone under KVM and see whether it gets as far as its panic.

    Here /dev/kvm exists but guests hang on it, so the device node proves nothing.
    """
    if not os.access("/dev/kvm", os.R_OK | os.W_OK) or not kernel.exists():
        return False
    argv = ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults",
            "-display", "none", "-serial", "stdio", "-no-reboot", "-kernel", str(kernel),
            "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent"]
    said = probe(argv, timeout=timeout)
    return "Kernel panic" in said or "VFS:" in said


@dataclass
class Machine:
    """One QEMU machine booting the ISO. `argv()` is the command line."""
    iso: Path
    uefi: bool = False
    usb_stick: bool = False          # attach the image as a USB disk instead of a CD
    cpu: str | None = None
    accel: str = "tcg"
    memory_mib: int | None = None
    vga: bool = False
    disks: list[Path] = field(default_factory=list)
    cdroms: list[Path] = field(default_factory=list)    # more CD-ROM drives on IDE, each holding an image
    monitor: Path | None = None      # a unix socket for QEMU's monitor (tests unplug disks there)
    scsi: bool = False               # a virtio-scsi controller (scsi0), empty: tests plug LUNs into it
    serial: str = "stdio"
    serial_on_com2: bool = False     # `serial` on the second port (COM2), the first one connected to nothing
    reboot: bool = False             # a guest reboot restarts the machine; else QEMU exits (tests see it end)
    host_forwards: list[str] = field(default_factory=list)   # user-net hostfwd rules: "tcp:127.0.0.1:8080-10.0.2.16:80"
    nics: int = 1                    # e1000 NICs (eth0, eth1, ...), each on a user network of its own
    nic_models: list[str] = field(default_factory=list)   # instead: one NIC per QEMU model named, in order
    devices: list[str] = field(default_factory=list)      # more QEMU arguments: controllers and their disks
    # One more e1000 NIC (after the others) wired to one other machine: (this machine's UDP port, the other's),
    # QEMU's dgram netdev on the loopback (multicast would need a loopback with MULTICAST, which CI lacks).
    # The two need different MACs there.
    lan: tuple[int, int] | None = None
    lan_mac: str = "52:54:00:4c:00:01"
    # Xen's serial keys (Ctrl-A three times) stay on only when the firmware asks: board/pc/grub.cfg
    # reads this SMBIOS system SKU. A developer's `make run` and the e2e tests' hang diagnosis want them.
    xen_serial_keys: bool = False

    def argv(self, workdir: Path) -> list[str]:
        s = settings()
        cpu = self.cpu or (s["cpu_kvm"] if self.accel == "kvm" else s["cpu_tcg"])
        argv = ["qemu-system-x86_64", "-accel", self.accel, "-cpu", cpu,
                "-smp", str(s["cpus"]), "-m", str(self.memory_mib or s["memory_mib"]),
                *([] if self.reboot else ["-no-reboot"]),
                *(["-serial", "null"] if self.serial_on_com2 else []), "-serial", self.serial]
        if self.xen_serial_keys:
            argv += ["-smbios", f"type=1,sku={XEN_KEYS_SKU}"]
        if self.serial.startswith("mon:"):
            argv += ["-echr", "0x14"]    # QEMU's escape is Ctrl-T: Ctrl-A belongs to Xen
        argv += ["-vga", "std"] if self.vga else ["-display", "none", "-vga", "std"]
        if self.uefi:
            vars_copy = workdir / "OVMF_VARS.fd"
            shutil.copy(s["ovmf_vars"], vars_copy)
            argv += ["-drive", f"if=pflash,format=raw,readonly=on,file={s['ovmf_code']}",
                     "-drive", f"if=pflash,format=raw,file={vars_copy}"]
        if self.usb_stick:
            argv += ["-device", "qemu-xhci", "-drive", f"if=none,id=stick,format=raw,readonly=on,file={self.iso}",
                     "-device", "usb-storage,drive=stick,bootindex=0"]
        else:
            # The CD first: SeaBIOS tries hard disks before it, and a partitioned one (a GPT's
            # protective MBR carries the boot signature) would be jumped into and hang, silent.
            argv += ["-drive", f"media=cdrom,format=raw,readonly=on,file={self.iso}", "-boot", "order=d"]
        for cdrom in self.cdroms:
            argv += ["-drive", f"media=cdrom,format=raw,readonly=on,file={cdrom}"]
        for number, disk in enumerate(self.disks):
            argv += ["-drive", f"if=none,id=disk{number},format=raw,file={disk}",
                     "-device", f"virtio-blk-pci,drive=disk{number},id=vdisk{number},serial=XB-DISK-{number}"]
        if self.scsi:
            argv += ["-device", "virtio-scsi-pci,id=scsi0"]
        if self.monitor:
            argv += ["-monitor", f"unix:{self.monitor},server,nowait"]
        for number, model in enumerate(self.nic_models or ["e1000"] * self.nics):
            forwards = "".join(f",hostfwd={rule}" for rule in self.host_forwards) if number == 0 else ""
            argv += ["-netdev", f"user,id=net{number}{forwards}", "-device", f"{model},netdev=net{number}"]
        if self.lan:
            here, there = self.lan
            argv += ["-netdev", f"dgram,id=lan,local.type=inet,local.host=127.0.0.1,local.port={here},"
                                f"remote.type=inet,remote.host=127.0.0.1,remote.port={there}",
                     "-device", f"e1000,netdev=lan,mac={self.lan_mac}"]
        return argv + self.devices


def pick_accel(iso_tree_kernel: Path) -> str:
    return "kvm" if kvm_works(iso_tree_kernel) else "tcg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Boot the XenBox ISO in QEMU, serial console in this terminal.")
    parser.add_argument("--iso", type=Path, default=REPO / "images" / "xenbox.iso")
    parser.add_argument("--uefi", action="store_true", help="boot with UEFI firmware (OVMF) instead of BIOS")
    parser.add_argument("--usb", action="store_true", help="attach the image as a USB stick instead of a CD")
    parser.add_argument("--vga", action="store_true", help="show the VGA screen in a window as well")
    parser.add_argument("--cpu", help="QEMU CPU model (e.g. Haswell-noTSX for a host without VT-x/AMD-V)")
    parser.add_argument("--tcg", action="store_true", help="don't try KVM")
    parser.add_argument("--com2", action="store_true",
                        help="this terminal on COM2, COM1 connected to nothing (a server's remote console); key 2 in the menu")
    args = parser.parse_args(argv)
    if not args.iso.exists():
        print(f"{args.iso} does not exist: run `make` first", file=sys.stderr)
        return 1
    kernel = REPO / "images" / "build" / "pc" / "iso" / "boot" / "vmlinuz"
    accel = "tcg" if args.tcg or args.cpu else pick_accel(kernel)
    print(f"XenBox under QEMU ({accel.upper()}). Quit: Ctrl-T X.  "
          "Ctrl-A three times switches the serial input between dom0 and Xen (kept on here: the\n"
          "machine's SMBIOS asks for it; an image booted as shipped has Xen's serial keys off).", file=sys.stderr)
    machine = Machine(iso=args.iso, uefi=args.uefi, usb_stick=args.usb, cpu=args.cpu, accel=accel,
                      vga=args.vga, serial="mon:stdio", serial_on_com2=args.com2, xen_serial_keys=True)
    with tempfile.TemporaryDirectory(prefix="xenbox-run-") as workdir:
        return on_terminal(machine.argv(Path(workdir)))


if __name__ == "__main__":
    sys.exit(main())
