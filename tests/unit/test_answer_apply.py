"""An answer file against this host: what refuses it before anything changes, where it is found,
and how its appliances are installed. Real files in a temporary folder; the disks are lsblk captures."""
import shutil
from pathlib import Path

import pytest

from hypervisor.answer import apply as answer_apply
from hypervisor.answer.fetch import FetchError, find_answer
from hypervisor.answer.parse import parse_answer
from hypervisor.answer.sources import Volume
from hypervisor.storage.disks import Disk

GIB = 1024 ** 3
SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"
BLANK = Disk("vda", "/dev/vda", "disk", 2 * GIB, stable_id="virtio-XB-DISK-0")
USED = Disk("vdb", "/dev/vdb", "disk", GIB, fstype="ext4", stable_id="virtio-XB-DISK-1")


@pytest.fixture
def built_in(tmp_path, monkeypatch):
    folder = tmp_path / "built-in"
    folder.mkdir()
    monkeypatch.setattr(answer_apply, "BUILT_IN", folder)
    monkeypatch.setattr(answer_apply, "INSTALL_INTO", tmp_path / "installed")
    return folder


def sample_bundle(into: Path) -> Path:
    bundle = into / "sample-web"
    shutil.copytree(SAMPLE, bundle)
    return bundle


def test_every_host_problem_is_listed_before_anything_changes(tmp_path, built_in):
    answer = parse_answer("""
[storage]
data_disks = ["/dev/disk/by-id/virtio-XB-DISK-1", "/dev/disk/by-id/virtio-NOPE"]
[[storage.pools]]
name = "fast"
type = "lvm"
vg = "fast"
[[appliances]]
source = "web-2"
""", "answer.toml")
    problems = [str(p) for p in answer_apply.host_problems(answer, tmp_path, [BLANK, USED], None)]
    assert len(problems) == 4
    assert problems[0].startswith("storage.data_disks[0] = '/dev/disk/by-id/virtio-XB-DISK-1': holds an ext4 "
                                  "filesystem: set storage.wipe_disks_with_data = true")
    assert problems[1].startswith("storage.data_disks[1] = '/dev/disk/by-id/virtio-NOPE': is no disk on this host")
    assert problems[2].startswith("storage.pools[0] = 'fast': is a lvm pool, which XenBox does not keep: an "
                                  "appliance's manifest gives it a host disk")
    assert problems[3] == (f"appliances[0].source = 'web-2': is neither beside the answer file ({tmp_path}/web-2) "
                           "nor a built-in appliance (built in: none)")


def test_an_iscsi_pool_needs_a_data_store_to_be_kept_on_and_is_kept_for_the_boot_to_attach(tmp_path, monkeypatch):
    pool = """
[[storage.pools]]
name = "san"
type = "iscsi"
portal = "10.0.2.2:3261"
target = "iqn.2026-11.org.xenbox.test:san"
chap_user = "xenbox"
chap_password = "xenbox-chap-secret"
"""
    without_store = parse_answer(pool, "answer.toml")
    problems = [str(p) for p in answer_apply.host_problems(without_store, tmp_path, [BLANK], None)]
    assert problems == ["storage.pools[0] = 'san': is kept on the data store, and this answer file makes none: "
                        "add storage.data_disks"]
    answer = parse_answer('[storage]\ndata_disks = ["/dev/vda"]\n' + pool, "answer.toml")
    assert answer_apply.host_problems(answer, tmp_path, [BLANK], None) == []
    from hypervisor.storage import iscsi_targets
    kept_in = tmp_path / "config" / "iscsi.toml"
    said = []
    real = iscsi_targets.IscsiTargets      # kept in the test's folder, not the host's data store
    monkeypatch.setattr(iscsi_targets, "IscsiTargets", lambda: real(config=kept_in, stored=lambda: True))
    answer_apply._pools(answer, said.append)
    assert said == ["answer file: iSCSI target iqn.2026-11.org.xenbox.test:san at 10.0.2.2:3261 kept as san; "
                    "attached next"]
    kept = iscsi_targets.read_targets(kept_in)
    assert [(t.name, t.portal, t.chap.username) for t in kept] == [("san", "10.0.2.2:3261", "xenbox")]


def test_nfs_and_folder_pools_are_kept_for_the_boot_to_attach(tmp_path, monkeypatch):
    answer = parse_answer("""
[storage]
data_disks = ["/dev/vda"]
[[storage.pools]]
name = "nas"
type = "nfs"
server = "2001:db8::5"
export = "/export/xen"
version = "4.1"
port = 20490
[[storage.pools]]
name = "more"
type = "file"
path = "/mnt/disk2/images"
""", "answer.toml")
    assert answer_apply.host_problems(answer, tmp_path, [BLANK], None) == []
    from hypervisor.storage import named_pools
    kept_in = tmp_path / "config" / "pools.toml"
    real = named_pools.NamedPools       # kept in the test's folder, not the host's data store
    monkeypatch.setattr(named_pools, "NamedPools", lambda: real(config=kept_in, stored=lambda: True))
    said = []
    answer_apply._pools(answer, said.append)
    assert said == ["answer file: NFS share [2001:db8::5]:/export/xen (port 20490), NFS 4.1 kept as pool nas; "
                    "mounted next", "answer file: folder /mnt/disk2/images kept as pool more"]
    assert named_pools.read_pools(kept_in) == [
        named_pools.NamedPool("nas", "nfs", "[2001:db8::5]:/export/xen", "4.1", 20490),
        named_pools.NamedPool("more", "file", path="/mnt/disk2/images")]


def test_data_disks_are_matched_by_stable_id_or_kernel_name():
    answer = parse_answer('[storage]\ndata_disks = ["/dev/disk/by-id/virtio-XB-DISK-0", "/dev/vdb"]\n'
                          "wipe_disks_with_data = true\n", "answer.toml")
    assert answer_apply.resolve_disks(answer, [BLANK, USED]) == [BLANK, USED]


def test_a_built_in_appliance_is_installed_with_the_answer_files_autostart(tmp_path, built_in):
    sample_bundle(built_in)
    answer = parse_answer('[[appliances]]\nsource = "sample-web"\nautostart = false\norder = 3\n', "answer.toml")
    bundles, problems = answer_apply.find_bundles(answer, tmp_path)
    assert problems == [] and [b.path for b in bundles] == [built_in / "sample-web"]
    installed = answer_apply._install(bundles[0], lambda line: None, has_data_store=lambda: False)
    assert installed == tmp_path / "installed" / "sample-web"
    assert (installed / "data.img").is_file()           # no data store: nothing is kept, and no pool to hold it
    text = (installed / "appliance.toml").read_text()
    assert "[autostart]\nenabled = false\norder = 3" in text
    assert "enabled = true" in (built_in / "sample-web" / "appliance.toml").read_text()     # the original untouched
    assert [p.name for p in (tmp_path / "installed").iterdir()] == ["sample-web"]          # no staging left


def test_an_appliances_disk_image_goes_onto_a_volume_on_its_pool(tmp_path, built_in):
    """As `xenbox appliance add` does (test_appliance_add_volumes): a real file pool in the test's folder."""
    from hypervisor.appliances.importing import FileTarget
    from hypervisor.storage.pools import FilePool
    sample_bundle(built_in)
    answer = parse_answer('[storage]\ndata_disks = ["/dev/vda"]\n[[appliances]]\nsource = "sample-web"\n'
                          'pool = "files"\n', "answer.toml")
    assert answer_apply.host_problems(answer, tmp_path, [BLANK], None) == []
    pool, opened = tmp_path / "pool", []

    def volumes(name):
        opened.append(name)
        return FileTarget(name, FilePool(folder=pool, problem=lambda: None))
    [bundle] = answer_apply.find_bundles(answer, tmp_path)[0]
    installed = answer_apply._install(bundle, lambda line: None, has_data_store=lambda: True, volumes=volumes)
    assert opened and set(opened) == {"files"}
    assert not (installed / "data.img").exists()
    image, volume = (SAMPLE / "data.img").read_bytes(), (pool / "sample-web.xvda.raw").read_bytes()
    assert volume[:len(image)] == image and not volume[len(image):].strip(b"\0")      # a whole MiB, the rest zeros
    text = (installed / "appliance.toml").read_text()
    assert 'pool = "files"' in text and "data.img" not in text


@pytest.mark.parametrize("answer, problem", [
    ('[[appliances]]\nsource = "sample-web"\npool = "local"\n',
     "appliances[0].pool = 'local': needs a data store to put volumes on: add storage.data_disks"),
    ('[storage]\ndata_disks = ["/dev/vda"]\n[[storage.pools]]\nname = "more"\ntype = "file"\npath = "/mnt/d"\n'
     '[[appliances]]\nsource = "sample-web"\npool = "nas"\n',
     "appliances[0].pool = 'nas': must be local (the data store's volume group), files (its image folder) or the "
     'name of a type = "file" pool of this answer file (more); an NFS share is mounted after'),
])
def test_an_appliances_pool_must_be_there_by_the_appliances_step(tmp_path, built_in, answer, problem):
    sample_bundle(built_in)
    problems = [str(p) for p in answer_apply.host_problems(parse_answer(answer, "answer.toml"), tmp_path, [BLANK], None)]
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_the_answer_file_is_found_on_the_labelled_volume_before_the_boot_medium(tmp_path):
    stick, medium = tmp_path / "stick", tmp_path / "medium"
    (medium / "xenbox").mkdir(parents=True)
    (medium / "xenbox" / "answer.toml").write_text("# from the medium\n")
    stick.mkdir()
    volumes = [Volume("/dev/sr0", None, str(medium), boot_medium=True), Volume("/dev/vdb", "XENBOX", str(stick))]
    found = find_answer("quiet", volumes)
    assert (found.origin, found.data) == ("the boot medium (/dev/sr0)", b"# from the medium\n")
    (stick / "answer.toml").write_text("# from the stick\n")
    found = find_answer("quiet", volumes)
    assert (found.origin, found.data, found.folder) == ("the volume labelled XENBOX (/dev/vdb)",
                                                        b"# from the stick\n", stick)
    assert find_answer("xenbox.answer=off", volumes) is None


def test_an_answer_file_named_on_the_command_line_must_be_there(tmp_path):
    with pytest.raises(FetchError, match=r"xenbox.answer=/nope.toml\): /nope.toml cannot be read"):
        find_answer("xenbox.answer=/nope.toml", [])
    with pytest.raises(FetchError, match="takes an absolute path"):
        find_answer("xenbox.answer=answer.toml", [])


def test_a_labelled_volume_is_mounted_read_only_with_the_type_blkid_reads(tmp_path, monkeypatch):
    """The runner stands in for blkid and mount (no block devices here): it answers the type and
    'mounts' by putting the file where the volume would appear."""
    from hypervisor.answer import fetch
    monkeypatch.setattr(fetch, "MOUNT_AT", tmp_path / "volume")
    calls = []

    def run(argv, *, input=None, timeout=60):
        calls.append(list(argv))
        if argv[0] == "blkid":
            return "ext4\n"
        (tmp_path / "volume" / "answer.toml").write_text("# on the stick\n")
        return ""
    found = find_answer("quiet", [Volume("/dev/vdb", "XENBOX", None)], run)
    assert calls == [["blkid", "-o", "value", "-s", "TYPE", "/dev/vdb"],
                     ["mount", "-o", "ro", "-t", "ext4", "/dev/vdb", str(tmp_path / "volume")]]
    assert (found.data, found.folder) == (b"# on the stick\n", tmp_path / "volume")


def test_a_tar_bundle_is_checked_before_anything_changes_without_being_unpacked(tmp_path, built_in):
    import tarfile
    bundle = sample_bundle(tmp_path / "src")
    with tarfile.open(tmp_path / "web.tar", "w") as tar:
        tar.add(bundle, arcname="web")
    (bundle / "data.img").unlink()
    with tarfile.open(tmp_path / "broken.tar", "w") as tar:
        tar.add(bundle, arcname="web")
    answer = parse_answer('[[appliances]]\nsource = "web.tar"\n[[appliances]]\nsource = "broken.tar"\n', "answer.toml")
    bundles, problems = answer_apply.find_bundles(answer, tmp_path)
    assert [b.path.name for b in bundles] == ["web.tar"]
    assert [str(p) for p in problems] == [
        f"appliances[1].source = 'broken.tar': is not a valid appliance: {tmp_path}/broken.tar: 1 problem\n"
        "  disks[0].file = 'data.img': is not a file in the bundle (looked for web/data.img)"]
