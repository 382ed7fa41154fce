"""The host paths a running guest's disks come from, as dom0's backends hold them in xenstore:
/local/domain/0/backend/{vbd,qdisk}/DOMID/DEVID, with `params` (the path; QEMU's qdisk prefixes the
format, "qcow2:/..."), `dev` (the guest's name for it), `mode` (w or r) and `device-type` (disk or cdrom).
This is what the guest is given now, whatever its manifest said then."""
from __future__ import annotations

import re
from dataclasses import dataclass

from hypervisor import runner

LINE = re.compile(r'^/local/domain/0/backend/(vbd|qdisk)/(\d+)/(\d+)/([\w-]+) = "(.*)"$')
FORMATS = ("raw", "qcow2", "qcow", "vhd", "aio")


@dataclass(frozen=True)
class GuestDisk:
    target: str         # xvda, hdc
    path: str           # /dev/xenbox/web.xvda, /var/lib/xenbox/images/web.xvdb.qcow2
    format: str         # raw, qcow2
    backend: str        # vbd (the kernel's blkback) or qdisk (QEMU)
    writable: bool
    cdrom: bool


def parse_backends(text: str, domid: int) -> list[GuestDisk]:
    devices: dict[tuple[str, str], dict[str, str]] = {}
    for line in text.splitlines():
        found = LINE.match(line.strip())
        if found and int(found.group(2)) == domid:
            devices.setdefault((found.group(1), found.group(3)), {})[found.group(4)] = found.group(5)
    disks = []
    for (backend, _), keys in sorted(devices.items(), key=lambda item: item[1].get("dev", "")):
        params = keys.get("params", "")
        disk_format, _, path = params.partition(":") if params.split(":", 1)[0] in FORMATS else ("raw", "", params)
        disks.append(GuestDisk(keys.get("dev", "?"), path, "raw" if disk_format == "aio" else disk_format, backend,
                               keys.get("mode", "w") == "w", keys.get("device-type") == "cdrom"))
    return disks


def guest_disks(domid: int, run: runner.Runner = runner.run) -> list[GuestDisk]:
    return parse_backends(run(["xenstore-ls", "-f", "/local/domain/0/backend"], timeout=30), domid)
