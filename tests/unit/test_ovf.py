"""OVF and OVA packages: the guest read from the OVF XML (VMware's shape, written by tests/ova.py, and a
VirtualBox export's firmware line), the .mf digests checked, files the OVF names that the package does not
hold refused, and an OVA read in place with safe_tar's rules. Disks are real images made by qemu-img."""
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from hypervisor.appliances import importing
from hypervisor.appliances.manifest import load_bundle
from hypervisor.appliances.ovf import PackageRefused, parse_mf, parse_ovf, read_package
from hypervisor.storage.pools import FilePool
from tests.ova import digest_line, ovf_text, write_ova, write_ovf

MIB = 1024 * 1024
pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-utils (qemu-img) is not installed")


@pytest.fixture
def package(tmp_path) -> Path:
    """An exported guest's folder: web.ovf, web.mf (SHA256) and its one disk, a 16 MiB streamOptimized vmdk."""
    folder = tmp_path / "web"
    folder.mkdir()
    raw = tmp_path / "web.raw"
    with open(raw, "wb") as disk:
        disk.write(b"BOOT" * 1024)
        disk.truncate(16 * MIB)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", str(raw),
                    str(folder / "web-disk1.vmdk")], check=True)
    return write_ovf(folder, "web", [folder / "web-disk1.vmdk"], [16 * MIB], vcpus=2, memory_mib=768,
                     firmware="efi")


def test_the_guest_is_read_from_vmwares_ovf():
    found = parse_ovf(ovf_text("web", [("a.vmdk", 100, 8 << 30), ("b.vmdk", 50, 1 << 30)], vcpus=4,
                               memory_mib=2048, firmware="efi"))
    assert (found.name, found.vcpus, found.memory_mib, found.firmware) == ("web", 4, 2048, "uefi")
    assert found.disks == ("a.vmdk", "b.vmdk") and found.networks == ("VM Network",)
    assert parse_ovf(ovf_text("web", [("a.vmdk", 1, 1)])).firmware is None


VIRTUALBOX = """<?xml version="1.0"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
 xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References><File ovf:id="file1" ovf:href="nas-disk001.vmdk"/></References>
  <DiskSection><Disk ovf:capacity="8589934592" ovf:diskId="vmdisk1" ovf:fileRef="file1"
   ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/></DiskSection>
  <VirtualSystem ovf:id="nas">
    <VirtualHardwareSection>
      <Item><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^30</rasd:AllocationUnits><rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity></Item>
      <Item><rasd:HostResource>/disk/vmdisk1</rasd:HostResource><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:Connection>NAT</rasd:Connection><rasd:ResourceType>10</rasd:ResourceType></Item>
      <Item><rasd:Connection>Bridged</rasd:Connection><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
    <vbox:Machine ovf:required="false" version="1.16-linux" uuid="{1}" name="nas">
      <Hardware><Firmware type="EFI"/></Hardware>
    </vbox:Machine>
  </VirtualSystem>
</Envelope>"""


def test_a_virtualbox_export_names_its_firmware_and_memory_in_gib():
    found = parse_ovf(VIRTUALBOX)
    assert (found.name, found.memory_mib, found.firmware, found.disks) == ("nas", 2048, "uefi", ("nas-disk001.vmdk",))
    assert found.networks == ("NAT", "Bridged")


@pytest.mark.parametrize("href, says", [
    ("../etc/shadow", "which is not a plain name in the package"),
    ("/etc/shadow", "which is not a plain name in the package"),
    ("http://example.com/disk.vmdk", "which is not a plain name in the package"),
    ("sub/disk.vmdk", "which is not a plain name in the package"),
])
def test_a_reference_out_of_the_package_is_refused(href, says):
    with pytest.raises(PackageRefused, match=f"its OVF references the file {href!r}, {says}"):
        parse_ovf(ovf_text("web", [(href, 1, 1)]))


def test_what_an_ovf_cannot_say_is_refused_with_the_fix():
    text = ovf_text("web", [("a.vmdk", 1, 1)])
    with pytest.raises(PackageRefused, match=r"its file a.vmdk is compressed \(gzip\).*export the package without"):
        parse_ovf(text.replace('ovf:size="1"', 'ovf:size="1" ovf:compression="gzip"'))
    with pytest.raises(PackageRefused, match="not well-formed XML"):
        parse_ovf(text[:-30])
    with pytest.raises(PackageRefused, match=r"its memory item's VirtualQuantity is 'lots', not a whole number"):
        parse_ovf(text.replace("<rasd:VirtualQuantity>256</rasd:VirtualQuantity>",
                               "<rasd:VirtualQuantity>lots</rasd:VirtualQuantity>"))
    laughs = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi"))
              + ']><Envelope>&i;</Envelope>')
    with pytest.raises(PackageRefused, match="not well-formed XML"):       # expat's amplification limit
        parse_ovf(laughs)


def test_mf_lines_of_each_digest_are_read_and_a_bad_line_refused():
    assert parse_mf(f"SHA1(a.ovf)= {'A' * 40}\nSHA256 (b.vmdk) = {'0' * 64}\n") == \
        {"a.ovf": ("SHA1", "a" * 40), "b.vmdk": ("SHA256", "0" * 64)}
    with pytest.raises(PackageRefused, match=r"its .mf, line 1, 'MD5\(a.ovf\)= 00', is not a digest line"):
        parse_mf("MD5(a.ovf)= 00\n")


def test_an_ovf_becomes_an_hvm_appliance_with_what_it_says(package, tmp_path):
    said = []
    guest = read_package(package, said.append)
    assert (guest.name, guest.vcpus, guest.memory_mib, guest.firmware, guest.nics) == ("web", 2, 768, "uefi", 1)
    assert said == ["checking the SHA256 digest of web.ovf", "checking the SHA256 digest of web-disk1.vmdk"]
    target = importing.FileTarget("mine", FilePool(folder=tmp_path / "pool", problem=lambda: None))
    done = importing.import_guest(guest, tmp_path / "appliances", target)
    manifest = load_bundle(done.folder)
    assert (manifest.type, manifest.vcpus.initial, manifest.memory.initial_mib) == ("hvm", 2, 768)
    assert [(d.pool, d.size_mib) for d in manifest.disks] == [("mine", 16)] and len(manifest.network) == 1
    assert (tmp_path / "pool" / "web.xvda.raw").read_bytes()[:4096] == b"BOOT" * 1024
    assert any("asks for UEFI firmware" in warning for warning in done.warnings)


def test_an_ova_is_read_in_place_and_imported(package, tmp_path):
    ova = write_ova(package, tmp_path / "web.ova")
    guest = read_package(ova)
    source = guest.disks[0]
    assert (source.name, source.path, source.package) == ("web.ova:web-disk1.vmdk", ova, None)
    with open(ova, "rb") as tar:
        tar.seek(source.offset)
        assert tar.read(source.size) == (package.parent / "web-disk1.vmdk").read_bytes()
    target = importing.FileTarget("mine", FilePool(folder=tmp_path / "pool", problem=lambda: None))
    importing.import_guest(guest, tmp_path / "appliances", target)
    assert (tmp_path / "pool" / "web.xvda.raw").read_bytes()[:4096] == b"BOOT" * 1024


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
def test_a_disk_that_does_not_match_its_digest_is_refused(package, tmp_path, algorithm):
    disk = package.parent / "web-disk1.vmdk"
    (package.parent / "web.mf").write_text(digest_line(package, algorithm) + digest_line(disk, algorithm))
    with open(disk, "r+b") as changed:
        changed.seek(2000)
        changed.write(b"X")
    ova = write_ova(package, tmp_path / "web.ova")
    for given in (package, ova):
        with pytest.raises(PackageRefused) as refused:
            read_package(given)
        assert str(refused.value) == (f"web-disk1.vmdk does not match its {algorithm} digest in the .mf: the file "
                                      "was changed or damaged on the way; copy the package again")


def test_an_ovf_naming_a_file_the_package_does_not_hold_is_refused(package, tmp_path):
    (package.parent / "web-disk1.vmdk").unlink()
    with pytest.raises(PackageRefused, match=r"^web.ovf names web-disk1.vmdk, which web.ovf does not hold: bring"):
        read_package(package)
    ova = write_ova(package, tmp_path / "web.ova")
    with pytest.raises(PackageRefused, match=r"^web.ovf names web-disk1.vmdk, which web.ova does not hold"):
        read_package(ova)


def test_a_package_without_a_digest_of_its_disk_is_refused_and_one_without_mf_warned(package):
    mf = package.parent / "web.mf"
    mf.write_text(digest_line(package))
    with pytest.raises(PackageRefused, match=r"its .mf lists no digest of web-disk1.vmdk"):
        read_package(package)
    mf.unlink()
    assert "web has no .mf manifest" not in " ".join(read_package(package).warnings)
    assert "web.ovf has no .mf manifest, so its files' digests were not checked" in read_package(package).warnings


def test_an_ova_member_leaving_the_package_is_refused(package, tmp_path):
    ova = tmp_path / "evil.ova"
    with tarfile.open(ova, "w") as tar:
        tar.add(package, arcname="web.ovf")
        escape = tarfile.TarInfo("../../etc/cron.d/evil")
        escape.size = 4
        tar.addfile(escape, io.BytesIO(b"boom"))
    with pytest.raises(PackageRefused, match=r"tar member '../../etc/cron.d/evil'.*absolute path or '..'"):
        read_package(ova)


def test_a_compressed_ova_is_refused(package, tmp_path):
    ova = tmp_path / "web.ova"
    with tarfile.open(ova, "w:gz") as tar:
        tar.add(package, arcname="web.ovf")
    with pytest.raises(PackageRefused, match=r"cannot be read as an OVA, an uncompressed tar"):
        read_package(ova)
