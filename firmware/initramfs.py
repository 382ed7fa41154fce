"""The early-boot initramfs: static busybox, initramfs/init, and the modules to find the medium."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from firmware.board import REPO
from firmware.context import Context
from firmware.run import die, run
from firmware.trim import kernel_version

SOURCE = REPO / "initramfs"


def wanted_modules() -> list[str]:
    lines = (SOURCE / "modules.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def module_closure(modules_dir: Path, names: list[str]) -> list[str]:
    """Relative paths of the named modules and everything they depend on."""
    deps: dict[str, list[str]] = {}
    by_name: dict[str, str] = {}
    for line in (modules_dir / "modules.dep").read_text().splitlines():
        path, _, rest = line.partition(":")
        deps[path] = rest.split()
        by_name[_module_name(path)] = path
    missing = [n for n in names if n.replace("-", "_") not in by_name]
    if missing:
        die(f"initramfs/modules.txt names modules this kernel lacks: {', '.join(missing)}",
            "remove them from the list, or check they are not excluded in board.toml (modules_exclude)")
    todo = [by_name[n.replace("-", "_")] for n in names]
    seen: list[str] = []
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.append(path)
            todo.extend(deps[path])
    return seen


def _module_name(path: str) -> str:
    return Path(path).name.split(".ko")[0].replace("-", "_")


def build_initramfs(ctx: Context) -> None:
    tree = ctx.work / "initramfs"
    if tree.exists():
        shutil.rmtree(tree)
    for d in ("bin", "etc", "proc", "sys", "dev", "medium", "lower", "overlay", "root"):
        (tree / d).mkdir(parents=True)
    busybox = ctx.rootfs / "bin" / "busybox"
    shutil.copy2(busybox, tree / "bin" / "busybox")
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", tree / "bin" / applet)
    shutil.copy2(SOURCE / "init", tree / "init")

    version = kernel_version(ctx)
    source_modules = ctx.rootfs / "usr/lib/modules" / version
    for rel in module_closure(source_modules, wanted_modules()):
        target = tree / "lib/modules" / version / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_modules / rel, target)
    for meta in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if (source_modules / meta).exists():
            shutil.copy2(source_modules / meta, tree / "lib/modules" / version / meta)
    run(["depmod", "-b", tree, version], quiet=True)
    (tree / "etc" / "modules").write_text("\n".join(wanted_modules()) + "\n")

    out = ctx.iso_tree / "boot" / "initrd.img"
    files = subprocess.run(["find", ".", "-mindepth", "1"], cwd=tree, capture_output=True, text=True, check=True)
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=tree,
                          input=files.stdout.encode(), capture_output=True, check=True).stdout
    compressed = subprocess.run(["zstd", "-19", "-q", "-c"], input=cpio, capture_output=True, check=True).stdout
    out.write_bytes(compressed)
    print(f"    initramfs: {len(compressed) // 1024} KiB", flush=True)
