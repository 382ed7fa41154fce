"""Start one appliance: check it can run here, write its xl.cfg, `xl create` it."""
from __future__ import annotations

from pathlib import Path

from hypervisor.appliances.manifest import Manifest
from hypervisor.appliances.xlcfg import to_xl_cfg
from hypervisor.xl import Xl

CONFIG_DIR = Path("/run/xenbox/xl")     # generated, never edited: the manifest is the source


class CannotStart(Exception):
    """The appliance was not started; the message says why and what to do."""


def start(manifest: Manifest, xl: Xl, config_dir: Path = CONFIG_DIR) -> Path:
    running = xl.domain(manifest.name)
    if running is not None:
        raise CannotStart(f"{manifest.name} is already running (domain {running.domid})")
    free = xl.info().free_memory_mib
    if manifest.memory.initial_mib > free:
        raise CannotStart(f"{manifest.name} needs {manifest.memory.initial_mib} MiB but Xen has only {free} MiB "
                          f"free: stop another guest or lower memory.initial_mib in its appliance.toml")
    missing = [str(d.file) for d in manifest.disks if d.file is not None and not d.file.exists()]
    if missing:
        raise CannotStart(f"{manifest.name}'s disk {missing[0]} is missing: attach it or fix disks in appliance.toml")
    config_dir.mkdir(parents=True, exist_ok=True)
    cfg = config_dir / f"{manifest.name}.cfg"
    cfg.write_text(to_xl_cfg(manifest))
    xl.create(str(cfg))
    return cfg
