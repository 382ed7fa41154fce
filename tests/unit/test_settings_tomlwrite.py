"""Every settings file XenBox writes, written by tomli-w and read back by tomllib to the same document,
and by XenBox's own strict reader of that file to the same settings. Real files in a temporary folder."""
import tomllib
from pathlib import Path

from hypervisor.answer.compose import FirstBootAnswers, answer_text
from hypervisor.answer.network_settings import save
from hypervisor.answer.parse import check_answer, parse_answer
from hypervisor.appliances.install import install_bundle
from hypervisor.appliances.manifest import load_bundle
from hypervisor.appliances.staging import RECORD, Staging
from hypervisor.appliances.xlcfg import manifest_from_xl_cfg
from hypervisor.network.config import Addressing, Bridge, NetworkConfig
from hypervisor.settings.tomlwrite import dumps, key_text
from hypervisor.storage.iscsi import Chap
from hypervisor.storage.iscsi_targets import IscsiTarget, read_targets, write_targets
from hypervisor.storage.named_pools import NamedPool, read_pools, write_pools

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NETWORK = NetworkConfig("eth1", Addressing("static", "10.0.2.60/24", "10.0.2.2"),
                        Addressing("static", "2001:db8::20/64", "fe80::1"), "edge-01", ("10.0.2.3", "9.9.9.9"),
                        (Bridge("xenbr1", vlan=20), Bridge("lab", host_only=True), Bridge("dmz", nic="eth2")))


def test_network_toml(tmp_path):
    path = tmp_path / "network.toml"
    save(NETWORK, path)
    document = tomllib.loads(path.read_text())
    assert document["network"]["bridges"] == [{"name": "xenbr1", "vlan": 20}, {"name": "lab", "host_only": True},
                                              {"name": "dmz", "nic": "eth2"}]
    assert document["network"]["dns"] == ["10.0.2.3", "9.9.9.9"] and document["host"] == {"hostname": "edge-01"}
    assert check_answer(path).network == NETWORK


def test_the_first_boot_answer_file():
    answers = FirstBootAnswers(NetworkConfig(hostname="edge-01", dns=("10.0.2.3",)),
                               ("/dev/disk/by-id/virtio-XB-DISK-0", "/dev/disk/by-id/wwn-0x5000c50015ea71ac"),
                               True, "$y$j9T$iuMyB.FwXnYCR9Rg.E215.$64ELharyTbQiYuV/t0D1x5ngpwHDthbxHr.4jyWg3AB")
    text = answer_text(answers)
    assert tomllib.loads(text)["storage"] == {
        "data_disks": ["/dev/disk/by-id/virtio-XB-DISK-0", "/dev/disk/by-id/wwn-0x5000c50015ea71ac"],
        "wipe_disks_with_data": True}
    answer = parse_answer(text, "answer.toml")
    assert answer.network == answers.network
    assert (answer.storage.data_disks, answer.storage.wipe_disks_with_data) == (answers.data_disks, True)
    assert answer.password_hash == answers.password_hash


def test_pools_toml(tmp_path):
    path = tmp_path / "pools.toml"
    kept = [NamedPool("nas", "nfs", "[2001:db8::5]:/srv/xen", "3", 2049), NamedPool("more", "file", path="/mnt/x y"),
            NamedPool("long", "file", path="/var/lib/xenbox/a folder name long enough to go past one hundred characters")]
    write_pools(kept, path)
    text = path.read_text()
    assert text.startswith("# Storage pools for appliance disks.")
    assert [pool["name"] for pool in tomllib.loads(text)["pools"]] == ["nas", "more", "long"]
    assert read_pools(path) == kept


def test_iscsi_toml(tmp_path):
    path = tmp_path / "iscsi.toml"
    kept = [IscsiTarget("san", "10.0.0.5:3260", "iqn.2004-01.com.example:store", Chap("xenbox", 'se"cr\\et')),
            IscsiTarget("lab", "[2001:db8::7]:3260", "iqn.2025-11.org.xenbox.test:store1")]
    write_targets(kept, path)
    assert tomllib.loads(path.read_text())["targets"][0]["chap_password"] == 'se"cr\\et'
    assert read_targets(path) == kept


def test_an_imported_xl_cfg(tmp_path):
    for name in ("xlexample.pvlinux", "xlexample.hvm", "xlexample.pvhlinux", "legacy-debian.cfg", "installer.hvm"):
        imported = manifest_from_xl_cfg((FIXTURES / "appliances" / name).read_text(), f"/etc/xen/{name}")
        assert tomllib.loads(imported.toml_text) == imported.doc, name


def test_an_install_record(tmp_path):
    source = tmp_path / "stick" / "web \udcff.tar"        # a file name that is not UTF-8
    (tmp_path / "appliances").mkdir()
    with Staging(tmp_path / "appliances", source, replace=True) as staging:
        staging.named("web")
        record = tomllib.loads((staging.folder / RECORD).read_text(encoding="utf-8"))
    assert record == {"source": str(tmp_path / "stick" / "web ?.tar"), "replace": True, "name": "web"}


def test_a_manifest_rewritten_for_autostart(tmp_path):
    folder = install_bundle(FIXTURES / "appliances" / "sample-web", tmp_path / "installed",
                            autostart={"enabled": True, "order": 3})
    written = tomllib.loads((folder / "appliance.toml").read_text())
    original = tomllib.loads((FIXTURES / "appliances" / "sample-web" / "appliance.toml").read_text())
    assert written == original | {"autostart": original.get("autostart", {}) | {"enabled": True, "order": 3}}
    assert (load_bundle(folder).autostart.enabled, load_bundle(folder).autostart.order) == (True, 3)


def test_keys_are_quoted_only_when_they_must_be():
    assert [key_text(key) for key in ("initial_mib", "my key", "", 'a"b')] == ["initial_mib", '"my key"', '""',
                                                                                '"a\\"b"']
    assert tomllib.loads(dumps({"\u00e9t\u00e9": {"a b": 1}})) == {"\u00e9t\u00e9": {"a b": 1}}
