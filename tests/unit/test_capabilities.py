"""HVM detection, fed with Xen output captured from real boots (tests/fixtures/xen)."""
from pathlib import Path

from hypervisor.xen.capabilities import hvm_support

FIXTURES = Path(__file__).parent.parent / "fixtures" / "xen"
AMD_CPUINFO = "vendor_id\t: AuthenticAMD\nmodel name\t: QEMU Virtual CPU version 2.5+\n"
INTEL_CPUINFO = "vendor_id\t: GenuineIntel\nmodel name\t: Intel Core Processor (Haswell, no TSX)\n"
HVM_SYS_CAPS = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"
PV_SYS_CAPS = "xen-3.0-x86_64"


def log(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_amd_v_with_nested_paging_is_available():
    hvm = hvm_support(xen_log=log("dmesg-qemu64-npt.txt"), virt_caps="pv hvm hap gnttab-v1 gnttab-v2",
                      sys_capabilities=HVM_SYS_CAPS, cpuinfo=AMD_CPUINFO)
    assert hvm.line == "HVM: available (AMD-V)"


def test_firmware_switched_off_is_told_apart_from_absent():
    hvm = hvm_support(xen_log=log("dmesg-firmware-off-amd.txt"), virt_caps="pv gnttab-v1 gnttab-v2",
                      sys_capabilities=PV_SYS_CAPS, cpuinfo=AMD_CPUINFO)
    assert not hvm.available
    assert hvm.line.startswith("HVM: unavailable — AMD-V is switched off in the firmware")
    assert "enable Virtualization Technology in BIOS setup, then power-cycle" in hvm.line


def test_intel_vmx_disabled_by_bios():
    text = "[    0.6] CPU0: VMX disabled by BIOS.\n[    0.6] VMX: failed to initialise.\n"
    hvm = hvm_support(xen_log=text, virt_caps="pv", sys_capabilities=PV_SYS_CAPS, cpuinfo=INTEL_CPUINFO)
    assert hvm.line.startswith("HVM: unavailable — Intel VT-x is switched off in the firmware")


def test_cpu_without_the_feature():
    hvm = hvm_support(xen_log=log("dmesg-haswell-notsx.txt"),
                      virt_caps="pv gnttab-v1 gnttab-v2", sys_capabilities=PV_SYS_CAPS, cpuinfo=INTEL_CPUINFO)
    assert hvm.line == "HVM: unavailable — this CPU has no VT-x/AMD-V"


def test_no_hardware_assisted_paging():
    text = "[ 0.9] HVM: SVM enabled\n[ 0.9] HVM: Hardware Assisted Paging (HAP) not detected\n"
    hvm = hvm_support(xen_log=text, virt_caps="pv gnttab-v1", sys_capabilities=PV_SYS_CAPS, cpuinfo=AMD_CPUINFO)
    assert hvm.line.startswith("HVM: unavailable — no hardware-assisted paging")
