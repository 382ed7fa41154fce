"""xl.cfg out of a manifest, the xl.cfg language read back, and /etc/xen/*.cfg imported as appliances."""
import copy
import tomllib
from pathlib import Path

import pytest

from hypervisor.appliances.manifest import parse_manifest
from hypervisor.appliances.xlcfg import manifest_from_xl_cfg, parse_xl_cfg, to_xl_cfg
from hypervisor.appliances.xlsyntax import DiskSpec, parse_disk_spec, parse_vif_spec, quote
from hypervisor.settings.problems import FileProblems
from hypervisor.settings.tomlwrite import dumps

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appliances"
SAMPLE = FIXTURES / "sample-web"


def test_pv_xl_cfg():
    manifest = parse_manifest((SAMPLE / "appliance.toml").read_text(), SAMPLE)
    assert to_xl_cfg(manifest) == f"""\
# Written by XenBox from appliance sample-web: change its appliance.toml, not this file.
name = "sample-web"
type = "pv"
memory = 128
maxmem = 256
vcpus = 1
maxvcpus = 2
kernel = "{SAMPLE}/vmlinuz"
ramdisk = "{SAMPLE}/initrd.img"
extra = "console=hvc0 root=/dev/xvda ro"
disk = [
    'format=raw, vdev=xvda, access=rw, script=/usr/lib/xenbox/block-phy, target={SAMPLE}/data.img',
]
vif = [
    'mac=00:16:3e:12:34:56,bridge=xenbr0',
    'mac=00:16:3e:58:c1:c3,bridge=xenbr1',
]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "restart"
"""


def test_pvh_xl_cfg_with_pygrub(tmp_path):
    (tmp_path / "root.img").write_text("x")
    manifest = parse_manifest("""
name = "pvh-box"
type = "pvh"
[memory]
initial_mib = 512
[vcpus]
initial = 2
[boot]
bootloader = "pygrub"
cmdline = "console=hvc0"
[[disks]]
file = "root.img"
[[disks]]
file = "/dev/xenbox/pvh-box.xvdb"
mode = "ro"
[policy]
on_crash = "rename-restart"
""", tmp_path)
    root = tmp_path.resolve()
    assert to_xl_cfg(manifest) == f"""\
# Written by XenBox from appliance pvh-box: change its appliance.toml, not this file.
name = "pvh-box"
type = "pvh"
memory = 512
maxmem = 512
vcpus = 2
maxvcpus = 2
bootloader = "pygrub"
extra = "console=hvc0"
disk = [
    'format=raw, vdev=xvda, access=rw, script=/usr/lib/xenbox/block-phy, target={root}/root.img',
    'format=raw, vdev=xvdb, access=ro, script=/usr/lib/xenbox/block-phy, target=/dev/xenbox/pvh-box.xvdb',
]
on_poweroff = "destroy"
on_reboot = "restart"
on_crash = "rename-restart"
"""


def test_hvm_xl_cfg_is_headless_with_a_serial_console(tmp_path):
    (tmp_path / "disk.img").write_text("x")
    (tmp_path / "debian.iso").write_text("x")
    manifest = parse_manifest("""
name = "hvm-box"
type = "hvm"
[memory]
initial_mib = 1024
maximum_mib = 2048
[vcpus]
initial = 2
maximum = 4
[boot]
order = ["cd", "disk", "network"]
[[disks]]
file = "disk.img"
target = "hda"
[[disks]]
file = "debian.iso"
cdrom = true
target = "hdc"
[[network]]
bridge = "xenbr0"
mac = "00:16:3e:00:00:01"
[policy]
on_poweroff = "preserve"
""", tmp_path)
    root = tmp_path.resolve()
    assert to_xl_cfg(manifest) == f"""\
# Written by XenBox from appliance hvm-box: change its appliance.toml, not this file.
name = "hvm-box"
type = "hvm"
memory = 1024
maxmem = 2048
vcpus = 2
maxvcpus = 4
boot = "dcn"
serial = "pty"
vnc = 0
disk = [
    'format=raw, vdev=hda, access=rw, target={root}/disk.img',
    'format=raw, vdev=hdc, access=ro, devtype=cdrom, target={root}/debian.iso',
]
vif = [
    'mac=00:16:3e:00:00:01,bridge=xenbr0',
]
on_poweroff = "preserve"
on_reboot = "restart"
on_crash = "destroy"
"""


def test_qcow2_disks_name_qemus_backend_for_every_guest_type(tmp_path):
    (tmp_path / "data.qcow2").write_text("x")
    (tmp_path / "vmlinuz").write_text("x")
    for kind, boot in (("pv", 'kernel = "vmlinuz"'), ("hvm", 'order = ["disk"]')):
        manifest = parse_manifest(f'name = "q"\ntype = "{kind}"\n[memory]\ninitial_mib = 64\n[boot]\n{boot}\n'
                                  '[[disks]]\nfile = "data.qcow2"\nformat = "qcow2"\n', tmp_path)
        spec = f"'format=qcow2, vdev=xvda, access=rw, backendtype=qdisk, target={tmp_path.resolve()}/data.qcow2'"
        assert spec in to_xl_cfg(manifest), kind
        assert parse_disk_spec(spec.strip("'")).others == ("backendtype=qdisk",)


def test_quotes_and_backslashes_in_paths_are_escaped_and_read_back(tmp_path):
    odd = tmp_path / "it's a \"disk\" \\ here.img"
    odd.write_text("x")
    (tmp_path / "k").write_text("x")
    manifest = parse_manifest('name = "q"\ntype = "pv"\n[memory]\ninitial_mib = 64\n[boot]\nkernel = "k"\n'
                              'cmdline = "say \\"hi\\" \\\\o/"\n' f"[[disks]]\nfile = '''{odd.name}'''\n", tmp_path)
    settings = parse_xl_cfg(to_xl_cfg(manifest))
    assert settings["extra"] == 'say "hi" \\o/'
    assert settings["disk"] == [f"format=raw, vdev=xvda, access=rw, script=/usr/lib/xenbox/block-phy, target={odd.resolve()}"]


def test_quote_refuses_control_characters():
    assert quote('a"b\\c') == '"a\\"b\\\\c"'
    assert quote("it's", "'") == "'it\\'s'"
    with pytest.raises(ValueError):
        quote("two\nlines")


# --- the xl.cfg language -------------------------------------------------------------------------------------

def test_xl_cfg_values_comments_and_multiline_lists():
    text = """# a comment
name = "web" # trailing comment
memory = 512; vcpus = 0x2
maxmem = 0100
cpus = '0-3'
vif = [ 'bridge=xenbr0',
        "bridge=xenbr1", # second card
      ]
empty = []
nested = [ [ "pnode=0", "size=512" ], [ "pnode=1" ] ]
extra = "a\\tb\\x41\\101\\"'"
extra += " more"
disk = [ 'a' ]
disk += [ 'b' ]
name = "later wins"
"""
    assert parse_xl_cfg(text) == {
        "name": "later wins", "memory": 512, "vcpus": 2, "maxmem": 64, "cpus": "0-3",
        "vif": ["bridge=xenbr0", "bridge=xenbr1"], "empty": [],
        "nested": [["pnode=0", "size=512"], ["pnode=1"]], "extra": "a\tbAA\"' more", "disk": ["a", "b"]}


def test_xl_cfg_errors_name_each_line():
    text = 'name = "web"\nmemory 512\nvcpus = 2 3\nkernel = "unterminated\nboot = "\\q"\nType = "pv"\nx = [1, 2\n'
    with pytest.raises(FileProblems) as raised:
        parse_xl_cfg(text, "/etc/xen/web.cfg")
    assert str(raised.value) == """\
/etc/xen/web.cfg: 6 problems
  line 2 = 'memory 512': expected `name = value`
  line 3 = '3': unexpected after the value
  line 4 = '"': is not part of xl.cfg syntax
  line 5 = '"\\\\q"': has an invalid escape \\q
  line 6 = 'T': is not part of xl.cfg syntax
  line 7: has a '[' that is never closed"""


def test_xl_cfg_plus_equals_needs_matching_types():
    with pytest.raises(FileProblems, match="line 2 = 'memory': \\+= needs two strings or two lists"):
        parse_xl_cfg("memory = 5\nmemory += 6\n")
    assert parse_xl_cfg("extra += 'alone'") == {"extra": "alone"}


@pytest.mark.parametrize("spec", [
    "/dev/vg/guest-volume,,hda",
    "/dev/vg/guest-volume,raw,hda,rw",
    "format=raw, vdev=hda, access=rw, target=/dev/vg/guest-volume",
    "raw:/dev/vg/guest-volume,hda,w",
    "phy:/dev/vg/guest-volume,hda,w",
    "tap:aio:/dev/vg/guest-volume,hda,w",
])
def test_equivalent_disk_specs_from_the_manual(spec):
    assert parse_disk_spec(spec) == DiskSpec("/dev/vg/guest-volume", "raw", "hda", "rw", False)


@pytest.mark.parametrize("spec", [
    "/root/image.iso,,hdc,cdrom",
    "/root/image.iso,,hdc,,cdrom",
    "/root/image.iso,raw,hdc,devtype=cdrom",
    "format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/image.iso",
    "raw:/root/image.iso,hdc:cdrom,ro",
])
def test_equivalent_cdrom_specs_from_the_manual(spec):
    assert parse_disk_spec(spec) == DiskSpec("/root/image.iso", "raw", "hdc", "ro", True)


def test_disk_spec_corners():
    assert parse_disk_spec(",hdc:cdrom,r") == DiskSpec(None, "raw", "hdc", "ro", True)
    assert parse_disk_spec("vdev=xvdb, target=/a,b c") == DiskSpec("/a,b c", "raw", "xvdb", "rw", False)
    assert parse_disk_spec("/x.qcow2,qcow2,xvda,rw,backendtype=qdisk,discard") == DiskSpec(
        "/x.qcow2", "qcow2", "xvda", "rw", False, ("backendtype=qdisk", "discard"))
    assert parse_disk_spec("nbd:host:1234,xvda,w").others == ("script=block-nbd",)
    assert parse_disk_spec("/x,raw,xvda,rw,").others == ()


def test_vif_specs():
    assert parse_vif_spec("") == {}
    assert parse_vif_spec("mac=00:16:3e:00:00:01, bridge=xenbr0 ,ip=192.0.2.1") == {
        "mac": "00:16:3e:00:00:01", "bridge": "xenbr0", "ip": "192.0.2.1"}


# --- importing /etc/xen/*.cfg -------------------------------------------------------------------------------

def imported(name: str):
    return manifest_from_xl_cfg((FIXTURES / name).read_text(), f"/etc/xen/{name}")


def test_import_xens_pv_example():
    result = imported("xlexample.pvlinux")
    assert result.warnings == ()
    assert result.toml_text == """\
# Imported by XenBox from /etc/xen/xlexample.pvlinux.

name = "example.pvlinux"
type = "pv"
disks = [
    { file = "/dev/vg/guest-volume", format = "raw", target = "xvda", mode = "rw" },
]
network = [
    {},
]

[memory]
initial_mib = 128

[vcpus]
initial = 2

[boot]
kernel = "/boot/vmlinuz"
cmdline = "root=/dev/xvda1"
"""


def test_import_xens_hvm_example_reports_what_it_drops():
    result = imported("xlexample.hvm")
    assert result.warnings == ("sdl = 1 is not carried over: appliances are headless, with the serial port as "
                               "console",)
    assert result.toml_text.startswith("# Imported by XenBox from /etc/xen/xlexample.hvm.\n# Not carried over:\n"
                                       "#   sdl = 1 is not carried over: appliances are headless")
    doc = result.doc
    assert (doc["type"], doc["boot"], doc["vcpus"]) == ("hvm", {"order": ["disk", "cd"]}, {"initial": 2})


def test_import_xens_pvh_example():
    doc = imported("xlexample.pvhlinux").doc
    assert (doc["type"], doc["memory"]["initial_mib"], doc["boot"]["kernel"]) == ("pvh", 512, "/boot/vmlinuz")
    assert doc["disks"][0]["file"] == "/dev/zvol/tank/guest-volume"


def test_import_a_xen_tools_config():
    result = imported("legacy-debian.cfg")
    assert result.warnings == (
        "vif[0]: ip=192.0.2.10 not carried over",
        "uuid = '5d6f2e1a-3c4b-4e8f-9a7b-1c2d3e4f5a6b' is not carried over: xl makes a new one at each start")
    doc = result.doc
    assert (doc["name"], doc["memory"], doc["vcpus"]) == ("web01", {"initial_mib": 512, "maximum_mib": 1024},
                                                          {"initial": 2})
    assert doc["boot"] == {"cmdline": "root=/dev/xvda2 ro", "bootloader": "pygrub"}
    assert [(d["file"], d["target"], d["mode"]) for d in doc["disks"]] == [
        ("/dev/vg0/web01-disk", "xvda2", "rw"), ("/dev/vg0/web01-swap", "xvda1", "rw")]
    assert doc["network"][0]["mac"] == "00:16:3E:5A:01:02"      # the manifest reads it in lower case
    assert doc["policy"]["on_crash"] == "restart"


def test_import_an_hvm_installer():
    result = imported("installer.hvm")
    assert result.warnings == (
        "vnc = 1 is not carried over: appliances are headless, with the serial port as console",
        "vnclisten = '0.0.0.0' is not carried over: appliances are headless, with the serial port as console",
        "usbdevice = 'tablet' is not carried over: appliances have no such setting yet")
    doc = result.doc
    assert (doc["type"], doc["boot"], doc["hvm"]) == ("hvm", {"order": ["cd", "disk"]}, {"nic_model": "e1000"})
    assert doc["disks"] == [{"file": "/srv/xen/win.qcow2", "format": "qcow2", "target": "hda", "mode": "rw"},
                            {"file": "/srv/iso/install, disc 1.iso", "format": "raw", "target": "hdc", "mode": "ro",
                             "cdrom": True}]


def test_import_resolves_relative_paths_like_xl():
    text = 'name = "rel"\nmemory = 64\nkernel = "kernels/vmlinuz"\ndisk = [ "vg0/rel,raw,xvda,rw" ]\n'
    doc = manifest_from_xl_cfg(text, "/etc/xen/rel.cfg").doc
    assert (doc["boot"]["kernel"], doc["disks"][0]["file"]) == ("/etc/xen/kernels/vmlinuz", "/dev/vg0/rel")


def test_import_without_a_name_or_memory_leaves_the_manifest_to_say_so(tmp_path):
    result = manifest_from_xl_cfg('bootloader = "pygrub"\nboot = "x"\n', "/etc/xen/nameless.cfg")
    assert result.warnings == ("no name: the appliance is called 'nameless' after the file",
                               "boot = 'x' is not carried over: appliances have no such setting yet")
    with pytest.raises(FileProblems, match="memory.initial_mib: missing"):
        parse_manifest(result.toml_text, tmp_path)


def test_import_reports_xl_syntax_errors_with_the_file():
    with pytest.raises(FileProblems, match="^/etc/xen/bad.cfg: 1 problem\n  line 1"):
        manifest_from_xl_cfg("memory = = 5\n", "/etc/xen/bad.cfg")


def test_warnings_with_newlines_stay_comments():
    text = 'name = "w"\nmemory = 64\nkernel = "/k"\nvif = [ "bridge=xenbr0,script=a\\nb = 1" ]\nodd = "x\\ny"\n'
    result = manifest_from_xl_cfg(text, "/etc/xen/w.cfg")
    assert tomllib.loads(result.toml_text)["name"] == "w"
    assert "script=a\\x0ab = 1" in result.toml_text


def in_bundle(result, bundle: Path) -> str:
    """The imported manifest with each host path a file of its name in `bundle`, as importing copies
    them there (hypervisor/appliances/importing.py): what the guest path gate lets a guest have."""
    doc = copy.deepcopy(result.doc)

    def moved(path: str) -> str:
        (bundle / Path(path).name).write_text("x")
        return str(bundle / Path(path).name)
    for key in ("kernel", "ramdisk"):
        if key in doc.get("boot", {}):
            doc["boot"][key] = moved(doc["boot"][key])
    for disk in doc.get("disks", []):
        disk["file"] = moved(disk["file"])
    return dumps(doc)


@pytest.mark.parametrize("name", ["xlexample.pvlinux", "xlexample.hvm", "xlexample.pvhlinux", "legacy-debian.cfg",
                                  "installer.hvm"])
def test_round_trip_is_stable(name, tmp_path):
    first_toml = in_bundle(imported(name), tmp_path)
    first_cfg = to_xl_cfg(parse_manifest(first_toml, tmp_path))
    second_toml = manifest_from_xl_cfg(first_cfg, f"/etc/xen/{name}").toml_text
    second_cfg = to_xl_cfg(parse_manifest(second_toml, tmp_path))
    assert second_cfg == first_cfg
    assert manifest_from_xl_cfg(second_cfg, f"/etc/xen/{name}").toml_text == second_toml


def test_round_trip_from_a_bundle():
    manifest = parse_manifest((SAMPLE / "appliance.toml").read_text(), SAMPLE)
    cfg = to_xl_cfg(manifest)
    again = parse_manifest(manifest_from_xl_cfg(cfg, "/etc/xen/sample-web.cfg").toml_text, SAMPLE)
    assert to_xl_cfg(again) == cfg
    assert (again.memory, again.vcpus, again.boot, again.disks, again.network, again.policy) == (
        manifest.memory, manifest.vcpus, manifest.boot, manifest.disks, manifest.network, manifest.policy)


HVM_HEAD = 'name = "w"\ntype = "hvm"\n[memory]\ninitial_mib = 512\n[[network]]\nmac = "00:16:3e:00:00:02"\n'


def test_an_hvm_table_becomes_xls_firmware_bus_card_and_windows_settings(tmp_path):
    windows = parse_manifest(HVM_HEAD + '[hvm]\nfirmware = "uefi"\ndisk_bus = "ahci"\nwindows = true\n', tmp_path)
    assert to_xl_cfg(windows).split("\n")[7:] == [
        'boot = "cd"', 'bios = "ovmf"', 'hdtype = "ahci"', "viridian = 1", "stdvga = 1", "usb = 1",
        "usbdevice = [", "    'tablet',", "]", "localtime = 1", 'serial = "pty"', "vnc = 0",
        "vif = [", "    'mac=00:16:3e:00:00:02,bridge=xenbr0,model=e1000',", "]",
        'on_poweroff = "destroy"', 'on_reboot = "restart"', 'on_crash = "destroy"', ""]
    for model, card in (("pv", ",type=vif"), ("rtl8139", ",model=rtl8139"), ("e1000", ",model=e1000")):
        cfg = to_xl_cfg(parse_manifest(HVM_HEAD + f'[hvm]\nnic_model = "{model}"\n', tmp_path))
        assert f"'mac=00:16:3e:00:00:02,bridge=xenbr0{card}'" in cfg, model
    plain = to_xl_cfg(parse_manifest(HVM_HEAD + '[hvm]\nserial = false\ndisk_bus = "ide"\n', tmp_path))
    assert "serial" not in plain and "bios" not in plain and "hdtype" not in plain and "vnc = 0" in plain
    assert parse_xl_cfg(to_xl_cfg(windows), "w.cfg")["usbdevice"] == ["tablet"]     # xl reads it back


def test_an_empty_cd_drive_is_xls_empty_target(tmp_path):
    manifest = parse_manifest(HVM_HEAD + '[[disks]]\ncdrom = true\ntarget = "hdc"\n', tmp_path)
    spec = "vdev=hdc, access=ro, devtype=cdrom, target="
    assert f"'{spec}'" in to_xl_cfg(manifest)
    parsed = parse_disk_spec(spec)
    assert (parsed.vdev, parsed.cdrom, parsed.target or "") == ("hdc", True, "")


def test_import_carries_hvm_firmware_bus_cards_and_the_windows_profile(tmp_path):
    cfg = ('name = "w"\nbuilder = "hvm"\nmemory = 2048\nbios = "ovmf"\nhdtype = "ahci"\nviridian = 1\nstdvga = 1\n'
           'usb = 1\nusbdevice = ["tablet"]\nlocaltime = 1\nvif = ["bridge=xenbr0,type=vif", "bridge=xenbr1,type=vif"]\n')
    result = manifest_from_xl_cfg(cfg, "/etc/xen/w.cfg")
    assert result.warnings == ()
    assert result.doc["hvm"] == {"firmware": "uefi", "disk_bus": "ahci", "windows": True, "nic_model": "pv"}
    mixed = manifest_from_xl_cfg('name = "m"\nbuilder = "hvm"\nviridian = 1\nvif = ["model=e1000", "model=rtl8139"]\n', "/x.cfg")
    assert mixed.warnings == (
        "vif: cards of models e1000, rtl8139: an appliance's cards share one model; xl's own (rtl8139) is used",
        "viridian = 1 is not carried over: appliances have no such setting yet")
    assert "hvm" not in mixed.doc
    round_trip = to_xl_cfg(parse_manifest(result.toml_text, tmp_path))
    assert manifest_from_xl_cfg(round_trip, "/etc/xen/w.cfg").doc["hvm"] == result.doc["hvm"]
