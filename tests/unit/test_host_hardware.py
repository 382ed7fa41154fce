"""The Hardware report (`xenbox host hardware`, the Hardware screen) read from a real boot's sysfs and Xen.

tests/fixtures/hardware/qemu-mix/ is a capture in XenBox's dom0 on QEMU's mixed machine (its README says
how): rtl8139, e1000e and virtio-net NICs; AHCI, virtio-scsi, NVMe and LSI 53c895a controllers with a disk
each; a virtio-blk disk. Its sysfs is rebuilt as files (sysfs_tree.py); xl cannot run on this build host, so
its runner answers `xl info` and `xl dmesg` with the same boot's output (a boundary, not a mock of ours)."""
import contextlib
import io
import json
from pathlib import Path

import pytest

from hypervisor.cli.main import build_parser
from hypervisor.host import hardware
from hypervisor.host.missing_firmware import interfaces_by_device, missing_firmware, on_interfaces
from hypervisor.xen.xl import Xl
from sysfs_tree import rebuild

MIX = Path(__file__).parent.parent / "fixtures" / "hardware" / "qemu-mix"
KERNEL_LOG = Path(__file__).parent.parent / "fixtures" / "kernel" / "missing-firmware.log"


@pytest.fixture
def sysfs(tmp_path):
    return rebuild(MIX / "sysfs.json", tmp_path)


def answer(argv, *, input=None, timeout=60):
    if argv[1:] == ["info"]:
        return (MIX / "xl-info.txt").read_text()
    if argv[1:] == ["dmesg"]:
        return (MIX / "xl-dmesg.txt").read_text()
    raise AssertionError(f"unexpected xl call {argv}")


def test_every_storage_controller_with_the_driver_that_took_it(sysfs):
    found = {c.address: (c.kind, c.driver) for c in hardware.read_controllers(sysfs)}
    assert found == {
        "0000:00:01.1": ("IDE", "ata_piix"),            # the machine's own, with the boot CD
        "0000:00:06.0": ("SATA", "ahci"),
        "0000:00:07.0": ("SCSI", "virtio_scsi"),       # virtio-pci's device, named by the driver on top
        "0000:00:08.0": ("NVMe", "nvme"),
        "0000:00:09.0": ("SCSI", "sym53c8xx"),         # LSI 53c895a
        "0000:00:0a.0": ("virtio block", "virtio_blk"),
    }


def test_the_host_nics_with_driver_mac_link_and_the_bridge_but_no_bridges_guest_ports_or_lo(sysfs):
    nics = {n.name: n for n in hardware.read_nics(sysfs)}
    assert set(nics) == {"eth0", "eth1", "eth2"}       # xenbr0, vif1.0 (sample-web's) and lo left out
    assert (nics["eth0"].driver, nics["eth0"].mac, nics["eth0"].bridge) == ("8139cp", "52:54:00:12:34:57", "xenbr0")
    assert (nics["eth0"].link, nics["eth0"].carrier) == ("up", True)
    assert (nics["eth1"].driver, nics["eth1"].link, nics["eth1"].carrier, nics["eth1"].bridge) == \
        ("e1000e", "down", None, None)
    assert nics["eth2"].driver == "virtio_net"
    assert all(n.firmware_state == "ok" for n in nics.values())


def test_a_nics_missing_firmware_is_read_from_the_kernel_line_for_its_device(sysfs):
    # The bnx2x lines of a real report, as if that NIC were eth1's device (same format, other address).
    log = KERNEL_LOG.read_text().replace("0000:02:00.1", "0000:00:03.0")
    missing = on_interfaces(missing_firmware(log), interfaces_by_device(sysfs / "class" / "net"))
    nics = {n.name: n for n in hardware.read_nics(sysfs, missing)}
    assert nics["eth1"].firmware == ("bnx2x/bnx2x-e2-7.13.21.0.fw", "bnx2x/bnx2x-e2-7.13.15.0.fw")
    assert nics["eth1"].firmware_state.startswith("missing: bnx2x/bnx2x-e2-7.13.21.0.fw")
    assert nics["eth0"].firmware == ()


def test_each_disk_has_the_storage_screens_stable_id_its_size_and_its_controller(sysfs):
    disks = {d.name: d for d in hardware.read_disks(sysfs, hardware.read_controllers(sysfs))}
    listed = {d["name"]: d["stable_id"] for d in json.loads((MIX / "storage-disks.json").read_text())}
    assert {name: d.stable_id for name, d in disks.items()} == listed      # what `xenbox storage disks` said
    assert {name: d.controller for name, d in disks.items()} == {
        "sda": "0000:00:06.0", "sdb": "0000:00:07.0", "sdc": "0000:00:09.0", "nvme0n1": "0000:00:08.0",
        "vda": "0000:00:0a.0"}
    assert disks["sda"].size == 64 << 20 and disks["vda"].size == 8 << 20


def test_iommu_from_xens_boot_line_and_virt_caps():
    log = (MIX / "xl-dmesg.txt").read_text()
    assert hardware.iommu(log, "pv hvm hap") == hardware.Iommu(False)
    # Xen 4.17's lines on a host with VT-d (xen/drivers/passthrough/vtd/iommu.c, iommu.c format strings)
    with_vtd = "(XEN) Intel VT-d iommu 0 supported page sizes: 4kB, 2MB, 1GB\n(XEN) I/O virtualisation enabled\n"
    assert hardware.iommu(with_vtd, "pv hvm hvm_directio hap") == hardware.Iommu(True, "Intel VT-d")
    assert hardware.iommu("", "pv hvm hap").text.startswith("unknown")
    assert hardware.iommu("", "hvm hvm_directio").enabled is True


def test_the_whole_report_and_its_text(sysfs):
    report = hardware.read_hardware(Xl(run=answer), sysfs, sysfs.parent / "proc" / "cpuinfo")
    assert report.cpu.hvm.line == "HVM: available (AMD-V)" and report.cpu.hap and report.cpu.iommu.enabled is False
    assert report.cpu.cores == 2 and (report.memory_total_mib, report.memory_free_mib) == (3071, 1918)
    assert report.cpu.model == "QEMU Virtual CPU version 2.5+"      # dom0's /proc/cpuinfo of that boot
    assert report.cpu.microcode.said == "this CPU cannot load microcode under Xen"
    text = dict(hardware.sections(report))
    assert text["CPU"][2:5] == ["VT-x/AMD-V available (AMD-V)", "HAP        yes (EPT/NPT)",
                                "IOMMU      off (none, or off in the firmware; PCI passthrough needs it)"]
    assert "eth0     8139cp       52:54:00:12:34:57  link up, carrier, in xenbr0" in text["NICs"]
    assert "0000:00:09.0  SCSI (sym53c8xx, 1000:0012)" in text["Disk controllers"]
    at = text["Disks"].index("sdc         64 MiB  on 0000:00:09.0 (sym53c8xx)")
    assert text["Disks"][at + 1] == "         id scsi-0QEMU_QEMU_HARDDISK_XB-LSI"
    assert max(len(line) for _, lines in hardware.sections(report) for line in lines) <= 76    # 80 columns


def run_cli(sysfs, *flags):
    from hypervisor.cli.host import host_hardware
    args = build_parser().parse_args(["host", "hardware", *flags])
    assert args.handler is host_hardware
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert host_hardware(args, Xl(run=answer), sysfs.parent) == 0
    return out.getvalue()


def test_the_cli_prints_each_part_and_json_that_names_each_driver(sysfs):
    text = run_cli(sysfs)
    assert text.startswith("CPU\n  model      ") and "\nDisk controllers\n  0000:00:01.1  IDE (ata_piix" in text
    data = json.loads(run_cli(sysfs, "--json"))
    assert {n["name"]: n["driver"] for n in data["nics"]} == {"eth0": "8139cp", "eth1": "e1000e", "eth2": "virtio_net"}
    assert {d["name"]: d["controller"] for d in data["disks"]}["nvme0n1"] == "0000:00:08.0"
    assert data["cpu"]["iommu"]["line"].startswith("off") and data["nics"][0]["firmware_state"] == "ok"
    assert data["cpu"]["hvm"]["line"] == "HVM: available (AMD-V)"
