"""A new guest from an operator's choices (hypervisor/appliances/new_guest.py): the checks against the
host, the appliance.toml it makes (read back through the strict manifest reader), and `create` on real
folders: the appliance installed as `appliance add` installs one, its disk made on a real file pool, and
started through launch's real path with `xl` answering from captures (Xen cannot run here)."""
from pathlib import Path

import pytest

from hypervisor import runner
from hypervisor.appliances import guest_paths
from hypervisor.appliances.launch import start
from hypervisor.appliances.manifest import Disk, Hvm, parse_manifest
from hypervisor.appliances.new_guest import (GuestChoices, HostOffer, InstallSource, NewDisk, NewGuestRefused,
                                             PoolOffer, bridges, create, manifest_document, problems)
from hypervisor.settings.tomlwrite import dumps
from hypervisor.storage import StorageError
from hypervisor.storage.pools import FilePool
from hypervisor.xen.xl import Xl
from test_appliance_launch import DOM0_ONLY, ScriptedXl

OFFER = HostOffer(hvm_available=True, hvm_reason="", memory_mib=3000, cpus=2, bridges=("xenbr0",),
                  pools=(PoolOffer("local", 10_000, ("raw",)), PoolOffer("files", 20_000, ("raw", "qcow2"))),
                  isos=("rescue.iso",), names_taken=("sample-web",))
NO_HVM = HostOffer(False, "this CPU has no VT-x/AMD-V", 3000, 2, ("xenbr0",), OFFER.pools, OFFER.isos)


def hvm(**changes) -> GuestChoices:
    choices = dict(name="installer", kind="hvm", source=InstallSource("iso", iso="rescue.iso"),
                   disk=NewDisk(4096, "files"), memory_mib=512)
    return GuestChoices(**{**choices, **changes})


def test_choices_this_host_can_make_have_no_problems():
    assert problems(hvm(), OFFER) == []
    assert problems(hvm(firmware="uefi", nic_model="e1000", disk_bus="ahci", windows=True, vcpus=2), OFFER) == []
    pv = GuestChoices("pv1", "pv", InstallSource("kernel", kernel="/var/lib/xenbox/images/vmlinuz"), None, 128)
    assert problems(pv, OFFER) == []


def test_every_problem_is_named_with_its_fix():
    assert problems(hvm(name="sample-web", memory_mib=4000, vcpus=3, bridge="xenbr9"), OFFER) == [
        "name sample-web: there is already an appliance or guest called sample-web; choose another name",
        "memory 4000 MiB: give 1 to 3000 MiB, what this host can give a guest",
        "vCPUs 3: give 1 to 2, this host's CPUs",
        "bridge xenbr9: this host has xenbr0; choose one of them"]
    assert problems(hvm(name="../x"), OFFER) == [
        "name '../x' cannot name an appliance: use 1-64 letters, digits, '_', '.' or '-', starting with a letter "
        "or digit"]
    assert problems(hvm(disk=NewDisk(4096, "files", "vmdk")), OFFER) == ["disk format vmdk: pool files takes raw, qcow2"]
    assert problems(hvm(disk=NewDisk(20_001, "files")), OFFER) == [
        "disk size 20001 MiB: pool files has 20000 MiB free; give a smaller disk, or choose another pool"]
    assert problems(hvm(disk=NewDisk(100, "local", "qcow2")), OFFER) == [
        "disk format qcow2: pool local takes raw; qcow2 images go on the files pool or a pool added by name"]
    assert problems(hvm(disk=NewDisk(100, "nas")), OFFER) == [
        "disk pool nas: not a pool that can take disks now (ready: local, files); `xenbox storage pool list` says why"]
    assert problems(hvm(source=InstallSource("iso", iso="gone.iso")), OFFER) == [
        "ISO gone.iso: the ISO library has no such ISO (it has: rescue.iso); add it with `xenbox iso add`"]


def test_hvm_where_the_host_has_none_says_the_overviews_reason():
    assert problems(hvm(), NO_HVM) == [
        "kind hvm: HVM guests need hardware virtualization, and on this host HVM is unavailable — this CPU has no "
        "VT-x/AMD-V; choose PV"]
    assert problems(hvm(kind="pvh", source=InstallSource("kernel", kernel="/k")), NO_HVM)[0].startswith(
        "kind pvh: PVH guests need hardware virtualization")


def test_combinations_that_cannot_be_are_refused():
    pv = hvm(kind="pv", firmware="uefi", windows=True, nic_model="e1000")
    assert problems(pv, OFFER) == [
        "NIC model e1000: is for HVM guests; a PV guest has PV devices and no firmware: choose HVM, or leave it out",
        "firmware uefi: is for HVM guests; a PV guest has PV devices and no firmware: choose HVM, or leave it out",
        "the Windows profile: is for HVM guests; a PV guest has PV devices and no firmware: choose HVM, or leave it out",
        "install source ISO: a CD-ROM boots only in an HVM guest; choose HVM, or a PV kernel"]
    assert problems(hvm(source=InstallSource("kernel", kernel="/k")), OFFER) == [
        "install source kernel: an HVM guest boots from its firmware; choose PV or PVH, or an ISO"]
    assert problems(hvm(source=InstallSource("none"), disk=None), OFFER) == [
        "install source none and no disk: the guest would have nothing to boot; add a disk or a source"]
    assert problems(hvm(firmware="coreboot"), OFFER) == ["firmware 'coreboot': choose one of bios, uefi"]


@pytest.fixture
def library(tmp_path, monkeypatch) -> Path:
    """A files pool folder with rescue.iso in its ISO library, as this host's only pool."""
    pool = tmp_path / "images"
    (pool / "isos").mkdir(parents=True)
    (pool / "isos" / "rescue.iso").write_bytes(bytes(0x8001) + b"CD001" + bytes(2043))   # a disc's descriptor
    monkeypatch.setattr(guest_paths, "HOST", guest_paths.Host(pools=lambda: [pool]))
    return pool


def test_the_document_reads_back_as_the_appliance_chosen(library, tmp_path):
    choices = hvm(firmware="uefi", disk_bus="ahci", windows=True, autostart=True, vcpus=2)
    document = manifest_document(choices, iso_path=lambda name: library / "isos" / name)
    m = parse_manifest(dumps(document), tmp_path)
    assert (m.name, m.type, m.memory.initial_mib, m.vcpus.initial, m.boot.order) == (
        "installer", "hvm", 512, 2, ("cd", "disk"))
    assert m.hvm == Hvm("uefi", "e1000", "ahci", True, True)       # Windows: an e1000 until PV drivers are in
    assert m.disks == (Disk(None, "raw", "hda", "rw", False, "files", 4096),
                       Disk(library / "isos" / "rescue.iso", "raw", "hdc", "ro", True))
    assert (m.network[0].bridge, m.autostart.enabled) == ("xenbr0", True)
    local = manifest_document(hvm(disk=NewDisk(100, "local")), iso_path=lambda name: library / "isos" / name)
    assert local["disks"][0] == {"pool": "local", "size_mib": 100, "target": "xvda"}      # raw: no format there
    pv = GuestChoices("pv1", "pv", InstallSource("kernel", kernel="/vmlinuz", cmdline="console=hvc0"), None, 128)
    assert manifest_document(pv)["boot"] == {"kernel": "/vmlinuz", "cmdline": "console=hvc0"}


def test_create_installs_makes_the_disk_and_starts_through_launch(library, tmp_path):
    into, said = tmp_path / "appliances", []
    xl = ScriptedXl(DOM0_ONLY)
    files = FilePool(runner.run, library, problem=lambda: None)
    folder = create(hvm(firmware="uefi"), said.append, offer=OFFER, into=into, pools=lambda name: files,
                    iso_path=lambda name: library / "isos" / name,
                    launch=lambda m: start(m, Xl(run=xl), config_dir=tmp_path / "xl", pools=lambda name: files))
    assert folder == into / "installer" and (folder / "appliance.toml").is_file()
    assert (library / "installer.xvda.raw").stat().st_size == 4096 * 1024 * 1024
    assert xl.actions == [["create", str(tmp_path / "xl" / "installer.cfg")]]
    cfg = (tmp_path / "xl" / "installer.cfg").read_text()
    assert 'bios = "ovmf"' in cfg and f"devtype=cdrom, target={library}/isos/rescue.iso'" in cfg
    assert said[-3:] == [f"appliance installer written to {folder}/appliance.toml",
                         f"creating its 4096 MiB raw image {library}/installer.xvda.raw", "installer started"]
    assert [p.name for p in into.iterdir()] == ["installer"]        # no work folder left behind


def test_create_refused_makes_nothing(library, tmp_path):
    into = tmp_path / "appliances"
    with pytest.raises(NewGuestRefused, match=r"^installer was not made: vCPUs 9: give 1 to 2"):
        create(hvm(vcpus=9), offer=OFFER, into=into, start=False)
    assert not into.exists()

    def full(name):
        raise StorageError("its disk xvda needs 4 GiB and the pool has 1 GiB free")
    files = type("Full", (), {"volume": lambda self, *args: full(args)})()
    with pytest.raises(NewGuestRefused, match=r"installer was not made: its disk xvda needs 4 GiB"):
        create(hvm(), offer=OFFER, into=into, start=False, pools=lambda name: files,
               iso_path=lambda name: library / "isos" / name)
    assert list(into.iterdir()) == []           # the appliance went with the disk it could not have


def test_bridges_are_the_interfaces_with_a_bridge_folder(tmp_path):
    for name, bridge in (("xenbr0", True), ("eth0", False), ("xenbr1", True)):
        (tmp_path / name).mkdir()
        if bridge:
            (tmp_path / name / "bridge").mkdir()
    assert bridges(tmp_path) == ("xenbr0", "xenbr1")
