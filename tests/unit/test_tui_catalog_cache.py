"""The console re-reads the appliance catalog only when a bundle changed, or every half minute."""
import shutil
from pathlib import Path

from tui import catalog_cache
from tui.catalog_cache import CatalogCache

SAMPLE_WEB = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"


def test_reads_again_only_when_a_bundle_changes_or_time_passes(tmp_path, monkeypatch):
    shutil.copytree(SAMPLE_WEB, tmp_path / "sample-web")
    reads = []
    real = catalog_cache.discover
    monkeypatch.setattr(catalog_cache, "discover", lambda dirs: reads.append(1) or real(dirs))
    now = [100.0]
    cache = CatalogCache((tmp_path,), clock=lambda: now[0])
    assert [e.name for e in cache.entries()] == ["sample-web"]
    cache.entries()
    assert len(reads) == 1
    shutil.copytree(SAMPLE_WEB, tmp_path / "second")
    cache.entries()
    assert len(reads) == 2
    now[0] += catalog_cache.RELOAD_SECONDS
    cache.entries()
    assert len(reads) == 3
