"""OVF packages as an exporter makes them (VMware's shape: References, DiskSection, NetworkSection, one
VirtualSystem with its VirtualHardwareSection), written here from real disk images: an .ovf beside its
disks and an .mf of their digests, and the same files in an .ova tar (the .ovf first, as DSP0243 says)."""
from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

ENVELOPE = """<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-123" xmlns="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common"
 xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
 xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
 xmlns:vmw="http://www.vmware.com/schema/ovf"
 xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
{files}
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
{disks}
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network"><Description>The VM Network network</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="{name}">
    <Info>A virtual machine</Info>
    <Name>{name}</Name>
    <OperatingSystemSection ovf:id="1" vmw:osType="otherGuest"><Info>The kind of installed guest</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>{name}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>{vcpus} virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>{vcpus}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>{memory_mib}MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>{memory_mib}</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Description>IDE Controller</rasd:Description>
        <rasd:ElementName>ideController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceType>5</rasd:ResourceType>
      </Item>
{disk_items}
      <Item>
        <rasd:AddressOnParent>7</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection>
        <rasd:Description>E1000 ethernet adapter on "VM Network"</rasd:Description>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>20</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
{firmware}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
"""
FILE = '    <File ovf:href="{href}" ovf:id="file{n}" ovf:size="{size}"/>'
DISK = ('    <Disk ovf:capacity="{capacity}" ovf:capacityAllocationUnits="byte" ovf:diskId="vmdisk{n}" '
        'ovf:fileRef="file{n}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>')
DISK_ITEM = """      <Item>
        <rasd:AddressOnParent>{n}</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk {n}</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk{n}</rasd:HostResource>
        <rasd:InstanceID>{id}</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>"""
VMW_FIRMWARE = '      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="{value}"/>'


def ovf_text(name: str, disks: list[tuple[str, int, int]], vcpus: int = 1, memory_mib: int = 256,
             firmware: str | None = None) -> str:
    """`disks`: (file name, file size, capacity in bytes) each, in the guest's order."""
    return ENVELOPE.format(
        name=name, vcpus=vcpus, memory_mib=memory_mib,
        files="\n".join(FILE.format(href=href, n=n, size=size) for n, (href, size, _) in enumerate(disks, 1)),
        disks="\n".join(DISK.format(capacity=capacity, n=n) for n, (_, _, capacity) in enumerate(disks, 1)),
        disk_items="\n".join(DISK_ITEM.format(n=n, id=10 + n) for n in range(1, len(disks) + 1)),
        firmware=VMW_FIRMWARE.format(value=firmware) if firmware else "")


def digest_line(path: Path, algorithm: str = "SHA256") -> str:
    return f"{algorithm}({path.name})= {hashlib.new(algorithm.lower(), path.read_bytes()).hexdigest()}\n"


def write_ovf(folder: Path, name: str, images: list[Path], capacities: list[int], algorithm: str | None = "SHA256",
              **options) -> Path:
    """The .ovf beside `images` (already in `folder`) and its .mf; returns the .ovf."""
    ovf = folder / f"{name}.ovf"
    ovf.write_text(ovf_text(name, [(image.name, image.stat().st_size, capacity)
                                   for image, capacity in zip(images, capacities)], **options))
    if algorithm:
        (folder / f"{name}.mf").write_text("".join(digest_line(path, algorithm) for path in [ovf, *images]))
    return ovf


def write_ova(ovf: Path, ova: Path) -> Path:
    """The .ovf, its .mf and its disks in one tar, in that order."""
    names = [ovf.name] + [p.name for p in sorted(ovf.parent.iterdir()) if p.suffix == ".mf"]
    names += [p.name for p in sorted(ovf.parent.iterdir()) if p.name not in names and p.suffix not in (".ovf", ".mf")]
    with tarfile.open(ova, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name in names:
            tar.add(ovf.parent / name, arcname=name)
    return ova
