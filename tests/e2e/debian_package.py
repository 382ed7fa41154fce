"""A Debian package's files, fetched with `apt-get download` (the test host's apt sources, as for the image) into
a cache folder and unpacked there with dpkg-deb: both are on any Debian machine."""
from __future__ import annotations

import subprocess
from pathlib import Path


def unpacked(package: str, cache: Path, wanted: str, keep_deb: bool = True) -> Path:
    """The file `wanted` (a path inside the package) once the package is unpacked under cache/PACKAGE/root;
    fetched and unpacked only when that file is not there yet."""
    folder = cache / package
    root = folder / "root"
    if (root / wanted).is_file():
        return root / wanted
    folder.mkdir(parents=True, exist_ok=True)
    download = ["apt-get", "download", package]
    if subprocess.run(download, cwd=folder, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)     # a fresh machine
        subprocess.run(download, cwd=folder, check=True, capture_output=True)
    deb = sorted(folder.glob(f"{package}_*.deb"))[-1]
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    if not keep_deb:
        deb.unlink()
    return root / wanted
