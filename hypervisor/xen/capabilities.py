"""Can this host run fully virtualized (HVM) guests, and if not, why not?

Under Xen, dom0's /proc/cpuinfo hides vmx/svm, so the answer comes from Xen:
its boot log (`xl dmesg`) is the only place that tells a CPU without VT-x/AMD-V
from one where the firmware switched it off (Xen clears the feature bit either
way). `xl info virt_caps` and /sys/hypervisor/properties/capabilities confirm.
The log lines are quoted from Xen 4.17 (xen/arch/x86/hvm/{vmx,svm}/*.c, hvm.c).
"""
from __future__ import annotations

from dataclasses import dataclass

AMD = "AMD-V"
INTEL = "Intel VT-x"

NO_SUPPORT = "this CPU has no VT-x/AMD-V"
NO_HAP = ("no hardware-assisted paging (this CPU lacks EPT/NPT, which this Xen needs for HVM guests)")


def firmware_off(vendor: str) -> str:
    return (f"{vendor} is switched off in the firmware "
            "(enable Virtualization Technology in BIOS setup, then power-cycle)")


# Xen's own words when the firmware has disabled the feature.
FIRMWARE_OFF_LINES = {
    "VMX disabled by BIOS": INTEL,
    "VMXON failed": INTEL,
    "AMD SVM Extension is disabled in BIOS": AMD,
}
ENABLED_LINES = {"HVM: VMX enabled": INTEL, "HVM: SVM enabled": AMD}
NO_HAP_LINES = ("Hardware Assisted Paging (HAP) not detected",
                "Hardware Assisted Paging (HAP) detected but disabled")


@dataclass(frozen=True)
class HvmSupport:
    available: bool
    vendor: str | None      # AMD-V or Intel VT-x, when known
    reason: str = ""        # why not, when unavailable

    @property
    def line(self) -> str:
        """The overview's line: exactly `HVM: available (...)` or `HVM: unavailable — ...`."""
        if self.available:
            return f"HVM: available ({self.vendor})" if self.vendor else "HVM: available"
        return f"HVM: unavailable — {self.reason}"


def vendor_from_cpuinfo(cpuinfo: str) -> str | None:
    for line in cpuinfo.splitlines():
        if line.startswith("vendor_id"):
            value = line.split(":", 1)[1].strip()
            return {"AuthenticAMD": AMD, "HygonGenuine": AMD, "GenuineIntel": INTEL}.get(value)
    return None


def hvm_support(*, xen_log: str, virt_caps: str, sys_capabilities: str, cpuinfo: str = "") -> HvmSupport:
    """Decide from Xen's log, `xl info virt_caps` and /sys/hypervisor/properties/capabilities."""
    caps = set(virt_caps.split())
    xen_says_hvm = "hvm" in caps or "hvm-3.0" in sys_capabilities
    enabled_vendor = next((v for line, v in ENABLED_LINES.items() if line in xen_log), None)
    vendor = enabled_vendor or vendor_from_cpuinfo(cpuinfo)

    for line, off_vendor in FIRMWARE_OFF_LINES.items():
        if line in xen_log and not xen_says_hvm:
            return HvmSupport(False, off_vendor, firmware_off(off_vendor))
    if xen_says_hvm:
        if not caps or "hap" in caps or "shadow" in caps:
            return HvmSupport(True, vendor)
        return HvmSupport(False, vendor, NO_HAP)
    if enabled_vendor and any(line in xen_log for line in NO_HAP_LINES):
        return HvmSupport(False, enabled_vendor, NO_HAP)
    if enabled_vendor:
        # Xen enabled it, then turned HVM off again (its log says why).
        return HvmSupport(False, enabled_vendor, NO_HAP if "paging" in xen_log.lower() else
                          f"Xen enabled {enabled_vendor} but reports no HVM support (see Xen's log)")
    return HvmSupport(False, vendor, NO_SUPPORT)
