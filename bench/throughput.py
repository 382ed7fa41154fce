"""Issue 17's throughput figures: what a PV guest gets from its disk and from dom0's network, each beside
dom0's own in the same boot, so what is printed is a ratio and never a timed assertion.

- disk: a PV guest (the sample appliance's kernel and busybox initramfs, with a 256 MiB volume on the data
  store as its xvda) writes and then reads the whole volume with busybox `dd bs=1M oflag=direct conv=fsync` /
  `iflag=direct`; dom0 does the same with the same busybox on an identical volume (same size, same volume
  group, made by the same `lvcreate` as XenBox's). Caches are dropped before each on both sides, and O_DIRECT
  keeps both on the disk path.
- network: the guest fetches a 64 MiB file from dom0's busybox httpd over the guest bridge (busybox `wget -O
  /dev/null`); the baseline is dom0 fetching it from the same server with the same busybox over 127.0.0.1.

Commands run in the guest through its console (`xl console`, from dom0's shell on the serial line) and are
timed by its own /proc/uptime, dom0's by dom0's. Measured in the storage boot (bench/storage.py), after its
figures and before the HVM ones, or alone with `--only throughput`.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from bench import shell
from bench.shell import ProbeError
from bench.report import Figure

NAME = "bench-io"
VOLUME_MIB = 256            # the volume on each side, and what dd writes and reads on it
FILE_MIB = 64               # what wget fetches
PORT = 8088
GROUP_VG = "xenbox"
DOM0_VOLUME = f"/dev/{GROUP_VG}/bench-dom0"
SAMPLE = "/usr/share/xenbox/appliances/sample-web"
BUNDLE = f"/tmp/{NAME}"
WWW = "/tmp/bench-www"
GUEST_START = 600           # xl create and the guest's own boot (DHCP included), TCG
TARGET = 0.7                # issue 17: a PV guest's disk at least 70 % of dom0's
# The sample's kernel and initramfs with a data store volume as its first disk and a NIC on the guest
# bridge. 128 MiB: the sample's 96 was not always enough for blkfront's rings beside the rest (test_storage).
MANIFEST = f"""name = "{NAME}"
type = "pv"
[memory]
initial_mib = 128
[boot]
kernel = "vmlinux"
ramdisk = "initrd.img"
cmdline = "console=hvc0 quiet"
[[disks]]
pool = "local"
size_mib = {VOLUME_MIB}
[[network]]
bridge = "xenbr0"
"""
DROP = "sync; echo 3 > /proc/sys/vm/drop_caches"
ADDRESS = re.compile(r"\binet (\d+\.\d+\.\d+\.\d+)/\d+")


@dataclass(frozen=True)
class Side:
    write_s: float      # dd of the whole volume, O_DIRECT, fsync'd
    read_s: float       # dd of it back, O_DIRECT
    fetch_s: float      # wget of the file to /dev/null


@dataclass(frozen=True)
class ThroughputRun:
    dom0: Side
    guest: Side
    dom0_address: str   # the guest fetched from here (xenbr0); dom0 from 127.0.0.1
    volume_mib: int = VOLUME_MIB
    file_mib: int = FILE_MIB


def write(device: str) -> str:
    return f"busybox dd if=/dev/zero of={device} bs=1M count={VOLUME_MIB} oflag=direct conv=fsync"


def read(device: str) -> str:
    return f"busybox dd if={device} of=/dev/null bs=1M count={VOLUME_MIB} iflag=direct"


def fetch(address: str) -> str:
    return f"busybox wget -q -O /dev/null http://{address}:{PORT}/big"


def bridge_address(output: str) -> str:
    """dom0's IPv4 address from `ip -4 -o addr show xenbr0`."""
    found = ADDRESS.search(output)
    if not found:
        raise ProbeError(f"xenbr0 has no IPv4 address, so the guest has nothing to fetch from:\n{output[-800:]}")
    return found.group(1)


def side(console, who: str, device: str, address: str) -> Side:
    """The three measurements, caches dropped before each, in the shell `console` is typing into."""
    shell.run(console, DROP)
    write_s = shell.timed(console, f"{who}-write", write(device))
    shell.run(console, DROP)
    read_s = shell.timed(console, f"{who}-read", read(device))
    shell.run(console, DROP)
    fetch_s = shell.timed(console, f"{who}-fetch", fetch(address))
    return Side(write_s, read_s, fetch_s)


def start_guest(console) -> None:
    """The bench guest made from the sample's files and started; its volume is made at that first start."""
    lines = " ".join(f"'{line}'" for line in MANIFEST.splitlines())
    shell.run(console, f"rm -rf {BUNDLE}; mkdir -p {BUNDLE} && cp {SAMPLE}/vmlinux {SAMPLE}/initrd.img {BUNDLE}/")
    shell.run(console, f"printf '%s\\n' {lines} > {BUNDLE}/appliance.toml")
    said = shell.run(console, f"xenbox appliance add {BUNDLE}; echo BENCH-ADD $?", 300)
    if "BENCH-ADD 0" not in said:
        raise ProbeError(f"`xenbox appliance add {BUNDLE}` failed:\n{said[-1500:]}")
    said = shell.run(console, f"xenbox appliance start {NAME}; echo BENCH-START $?", GUEST_START)
    if "BENCH-START 0" not in said:
        raise ProbeError(f"`xenbox appliance start {NAME}` failed:\n{said[-1500:]}")
    # its rc has brought eth0 up by DHCP once it says it serves
    shell.run(console, f"until grep -q 'serving http' /var/log/xen/console/guest-{NAME}.log 2>/dev/null; "
                       "do sleep 2; done", GUEST_START)


def attach(console) -> None:
    """From dom0's shell onto the guest's. Its busybox shell asks where the cursor is at each prompt; the
    answer, split on a loaded host, would land on its command line as text, so none is given while attached
    (as tests/e2e/test_storage.py does)."""
    console.answers_queries = False
    console.type_line(f"xl console {NAME}")
    console.settle(3)
    console.press("\x15", pause=1)             # Ctrl-U: whatever is on the guest's command line goes
    said = shell.run(console, "echo IN-$(hostname)", 120)
    if "IN-sample-web" not in said:
        raise ProbeError(f"`xl console {NAME}` did not reach the guest's shell:\n{said[-800:]}")


def detach(console) -> None:
    """Ctrl-] back to dom0's shell, whose terminal answers queries again."""
    console.press("\x1d")
    console.settle(3)
    console.answers_queries = True
    console.type_line("")
    console.settle(2)


def measure(console) -> ThroughputRun:
    """In the booted dom0, a shell open and a data store made (its volume group is GROUP_VG)."""
    def say(text: str) -> None:
        print(f"bench: throughput: {text}", file=sys.stderr, flush=True)
    # the autostarted sample guest would share the emulated CPUs
    shell.run(console, "xl destroy sample-web 2>/dev/null; true", 120)
    say(f"starting {NAME} with a {VOLUME_MIB} MiB volume on the data store")
    start_guest(console)
    lvs = shell.run(console, f"lvs --noheadings --units b -o lv_name,lv_size {GROUP_VG}")
    size = re.search(rf"{re.escape(NAME)}\.xvda\s+(\d+)B", lvs)
    if not size:
        raise ProbeError(f"no volume {NAME}.xvda in {GROUP_VG}:\n{lvs}")
    # the same command XenBox made the guest's with (storage/lvm.py create_lv), so the same size and group
    said = shell.run(console, f"lvcreate --yes --name {DOM0_VOLUME.rsplit('/', 1)[1]} --size {size.group(1)}b "
                              f"{GROUP_VG}; echo BENCH-LV $?", 120)
    if "BENCH-LV 0" not in said:
        raise ProbeError(f"dom0's volume was not made:\n{said[-1500:]}")
    address = bridge_address(shell.run(console, "ip -4 -o addr show xenbr0"))
    shell.run(console, f"mkdir -p {WWW} && busybox dd if=/dev/zero of={WWW}/big bs=1M count={FILE_MIB} 2>/dev/null; "
                       f"busybox httpd -f -p {PORT} -h {WWW} & echo $! > {WWW}.pid")
    try:
        dom0 = side(console, "dom0", DOM0_VOLUME, "127.0.0.1")
        say(f"dom0: write {dom0.write_s:.1f} s, read {dom0.read_s:.1f} s, fetch {dom0.fetch_s:.1f} s")
        try:
            attach(console)
            guest = side(console, "guest", "/dev/xvda", address)
        finally:
            detach(console)
        say(f"guest: write {guest.write_s:.1f} s, read {guest.read_s:.1f} s, fetch {guest.fetch_s:.1f} s")
    finally:
        shell.run(console, f"kill $(cat {WWW}.pid); rm -rf {WWW} {WWW}.pid; xl destroy {NAME}; "
                           f"lvremove -y {DOM0_VOLUME}", 120)
    return ThroughputRun(dom0, guest, address)


GROUP_DISK = (f"Guest disk (issue 17), MiB/s: a PV guest's busybox dd bs=1M of its whole {VOLUME_MIB} MiB data store "
              f"volume, O_DIRECT;\n  baseline: dom0's, the same dd on an identical volume, same boot")
GROUP_NET = (f"Guest <-> dom0 network (issue 17), MiB/s: the guest's busybox wget of a {FILE_MIB} MiB file from "
             f"dom0's busybox httpd over xenbr0;\n  baseline: dom0 fetching it from the same server over 127.0.0.1")


def rate(mib: int, took: float | None) -> float | None:
    return mib / took if took else None


def figures(run: ThroughputRun | None) -> list[Figure]:
    """Higher is better here: the target is a floor under the guest's rate."""
    def disk(key: str, label: str, attribute: str) -> Figure:
        base = rate(VOLUME_MIB, getattr(run.dom0, attribute)) if run else None
        return Figure(GROUP_DISK, key, label, "MiB/s", base,
                      rate(VOLUME_MIB, getattr(run.guest, attribute)) if run else None,
                      f">= {TARGET:.0%} of dom0's", base * TARGET if base else None, "dom0, identical volume",
                      at_least=True)
    return [
        disk("guest_disk_write_mibs", "PV guest: sequential write", "write_s"),
        disk("guest_disk_read_mibs", "PV guest: sequential read", "read_s"),
        Figure(GROUP_NET, "guest_net_from_dom0_mibs", "PV guest fetches from dom0", "MiB/s",
               rate(FILE_MIB, run.dom0.fetch_s) if run else None, rate(FILE_MIB, run.guest.fetch_s) if run else None,
               baseline="dom0 over its loopback"),
    ]
