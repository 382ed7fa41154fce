"""The early-boot initramfs: static busybox, initramfs/init, and the modules to find the medium."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from firmware.board import REPO
from firmware.context import Context
from firmware.run import die, output, run
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


def install_busybox(tree: Path, busybox: Path) -> None:
    """A static busybox in /bin with a link per applet: the whole userland of a small initramfs."""
    (tree / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, tree / "bin" / "busybox")
    applets = run([busybox, "--list"], capture=True).split()
    for applet in applets:
        if applet != "busybox":
            os.symlink("busybox", tree / "bin" / applet)


def install_modules(tree: Path, source_modules: Path, version: str, names: list[str]) -> None:
    """The named kernel modules, their dependencies, and a modules.dep for modprobe."""
    for rel in module_closure(source_modules, names):
        target = tree / "lib/modules" / version / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_modules / rel, target)
    for meta in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if (source_modules / meta).exists():
            shutil.copy2(source_modules / meta, tree / "lib/modules" / version / meta)
    run(["depmod", "-b", tree, version], quiet=True)
    (tree / "etc").mkdir(exist_ok=True)
    (tree / "etc" / "modules").write_text("\n".join(names) + "\n")


def pack(tree: Path, out: Path) -> int:
    """A zstd-compressed newc cpio of `tree`, owned by root, as the kernel unpacks it. Returns its size."""
    files = output(["find", ".", "-mindepth", "1"], cwd=tree)
    cpio = output(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=tree, input=files)
    compressed = output(["zstd", "-19", "-q", "-c"], input=cpio)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(compressed)
    return len(compressed)


def build_initramfs(ctx: Context) -> None:
    tree = ctx.work / "initramfs"
    if tree.exists():
        shutil.rmtree(tree)
    for d in ("etc", "proc", "sys", "dev", "medium", "lower", "overlay", "root"):
        (tree / d).mkdir(parents=True)
    install_busybox(tree, ctx.rootfs / "bin" / "busybox")
    shutil.copy2(SOURCE / "init", tree / "init")
    version = kernel_version(ctx)
    install_modules(tree, ctx.rootfs / "usr/lib/modules" / version, version, wanted_modules())
    size = pack(tree, ctx.iso_tree / "boot" / "initrd.img")
    print(f"    initramfs: {size // 1024} KiB", flush=True)
