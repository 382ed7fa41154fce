"""The catalog: which folders are appliances."""
import shutil
from pathlib import Path

from hypervisor.appliances.catalog import discover

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"


def test_the_catalog_never_reads_a_work_folder(tmp_path):
    """A dot-folder sorts first, and Path.glob's `*` matches it: a copy cut short used to be the appliance."""
    into = tmp_path / "appliances"
    shutil.copytree(SAMPLE, into / ".installing-web")          # its manifest whole, its image maybe not
    shutil.copytree(SAMPLE, into / "sample-web")
    assert [(e.name, e.folder.name) for e in discover((into,))] == [("sample-web", "sample-web")]
    shutil.rmtree(into / "sample-web")
    assert discover((into,)) == []


def test_a_folder_without_a_manifest_or_no_folder_at_all_holds_no_appliance(tmp_path):
    (tmp_path / "appliances" / "empty").mkdir(parents=True)
    assert discover((tmp_path / "appliances", tmp_path / "missing")) == []
