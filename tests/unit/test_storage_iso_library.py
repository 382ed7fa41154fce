"""The ISO library (hypervisor/storage/iso_library.py) on real files: ISOs made by xorriso, added from a
file and from a URL served on 127.0.0.1, checked, listed and deleted."""
import hashlib
import http.server
import subprocess
import threading
from pathlib import Path

import pytest

from hypervisor.storage import StorageError
from hypervisor.storage.iso_library import IsoLibrary
from hypervisor.storage.named_pools import NamedPools


def make_iso(folder: Path, name: str = "rescue.iso") -> Path:
    content = folder / "content"
    content.mkdir(exist_ok=True)
    (content / "README").write_text("a rescue CD\n" * 1000)
    iso = folder / name
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "RESCUE", "-o", str(iso), str(content)], check=True,
                   capture_output=True)
    return iso


@pytest.fixture
def library(tmp_path) -> IsoLibrary:
    ticks = iter(range(0, 10_000, 2))       # two "seconds" a chunk: every chunk gets its progress line
    return IsoLibrary(NamedPools(config=tmp_path / "pools.toml"), files_folder=tmp_path / "images",
                      files_problem=lambda: None, clock=lambda: next(ticks))


def test_an_iso_is_added_from_a_file_with_progress_and_its_checksum(library, tmp_path, monkeypatch):
    monkeypatch.setattr("hypervisor.storage.iso_library.CHUNK", 64 * 1024)
    source = make_iso(tmp_path)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    said = []
    iso = library.add(str(source), sha256=digest.upper(), say=said.append)
    assert (iso.name, iso.pool, iso.path) == ("rescue.iso", "files", tmp_path / "images" / "isos" / "rescue.iso")
    assert iso.path.read_bytes() == source.read_bytes()
    assert said[0].startswith("copying rescue.iso: 64 KiB of ") and "(" in said[0]
    assert said[-1] == f"added rescue.iso to the ISO library (pool files, {said[-1].split(', ')[1]}, sha256 {digest}"
    assert library.list() == [iso] and library.find("rescue.iso") == iso and library.find(str(iso.path)) == iso
    with pytest.raises(StorageError, match="already has rescue.iso: delete it first"):
        library.add(str(source))


def test_a_wrong_checksum_or_a_non_iso_adds_nothing(library, tmp_path):
    source = make_iso(tmp_path)
    with pytest.raises(StorageError, match=r"is not the ISO asked for: its sha256 is [0-9a-f]{64}, not 0{64}"):
        library.add(str(source), sha256="0" * 64)
    with pytest.raises(StorageError, match="is not a sha256: give its 64 hex digits"):
        library.add(str(source), sha256="abc")
    disk = tmp_path / "disk.iso"
    disk.write_bytes(b"\0" * 100_000)
    with pytest.raises(StorageError, match=r"disk.iso is not a CD or DVD image \(no ISO 9660 or UDF descriptor\)"):
        library.add(str(disk))
    with pytest.raises(StorageError, match=r"'disk.img' cannot name an ISO in the library"):
        library.add(str(tmp_path / "disk.img"))
    assert library.list() == [] and list((tmp_path / "images" / "isos").iterdir()) == []   # no .partial left


def test_an_iso_is_added_from_a_url(library, tmp_path):
    served = tmp_path / "www"
    served.mkdir()
    source = make_iso(served, "netinst.iso")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(served))   # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        assert library.add(f"{url}/netinst.iso").path.read_bytes() == source.read_bytes()
        with pytest.raises(StorageError, match=r"/gone.iso could not be fetched: HTTP 404 File not found; check"):
            library.add(f"{url}/gone.iso")
    finally:
        server.shutdown()


def test_an_iso_in_use_is_not_deleted(library, tmp_path):
    library.add(str(make_iso(tmp_path)))
    with pytest.raises(StorageError, match=r"rescue.iso is the CD of appliance web: eject it first"):
        library.delete("rescue.iso", ["web"])
    said = []
    library.delete("rescue.iso", [], said.append)
    assert library.list() == [] and said == ["deleted rescue.iso from the ISO library (pool files)"]
    with pytest.raises(StorageError, match=r"has no rescue.iso \(it has: none yet\)"):
        library.find("rescue.iso")


def test_a_pool_that_cannot_hold_isos_says_why(tmp_path):
    library = IsoLibrary(NamedPools(config=tmp_path / "pools.toml"), files_folder=tmp_path / "images",
                         files_problem=lambda: "the data store is not mounted")
    with pytest.raises(StorageError, match="pool files cannot hold ISOs now: the data store is not mounted"):
        library.add(str(make_iso(tmp_path)))
    with pytest.raises(StorageError, match=r"this host has no pool nas \(it has: files\)"):
        library.add(str(tmp_path / "rescue.iso"), pool="nas")
    assert library.list() == []
