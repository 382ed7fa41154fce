"""appliance.toml: every rule, and the message a person reads when it is broken."""
import json
import os
import stat
from pathlib import Path

import pytest

from hypervisor.appliances.manifest import (Autostart, Boot, Disk, HostLimits, Memory, NetworkInterface, Policy,
                                            Vcpus, parse_manifest, parse_manifest_bytes)
from hypervisor.appliances.manifest import generated_mac, xvd_name
from hypervisor.settings.problems import FileProblems

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "appliances"
SAMPLE = FIXTURES / "sample-web"

MINIMAL_PV = """
name = "web"
type = "pv"
[memory]
initial_mib = 128
[boot]
kernel = "vmlinuz"
"""


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    for name in ("vmlinuz", "initrd.img", "data.img", "data2.img", "install.iso"):
        (tmp_path / name).write_text("placeholder\n")
    return tmp_path


def problems(text: str, bundle_dir: Path, host: HostLimits | None = None) -> dict[str, str]:
    """field -> 'value: message' as printed, for the problems of a broken manifest."""
    with pytest.raises(FileProblems) as raised:
        parse_manifest(text, bundle_dir, host)
    return {problem.field: str(problem).partition(problem.field)[2] for problem in raised.value.problems}


def test_the_sample_bundle_reads_into_every_dataclass():
    m = parse_manifest((SAMPLE / "appliance.toml").read_text(), SAMPLE)
    assert (m.name, m.type) == ("sample-web", "pv")
    assert m.description == "A small web server, booted straight from its kernel."
    assert (m.memory, m.vcpus) == (Memory(128, 256), Vcpus(1, 2))
    assert m.boot == Boot(SAMPLE / "vmlinuz", SAMPLE / "initrd.img", "console=hvc0 root=/dev/xvda ro")
    assert m.disks == (Disk(SAMPLE / "data.img", "raw", "xvda", "rw", False),)
    assert m.network == (NetworkInterface("xenbr0", "00:16:3e:12:34:56"),
                         NetworkInterface("xenbr1", generated_mac("sample-web", 1)))
    assert m.policy == Policy(on_crash="restart", on_poweroff="destroy", on_reboot="restart")
    assert m.autostart == Autostart(enabled=True, order=10, delay_s=5)


def test_defaults_of_a_minimal_manifest(bundle):
    m = parse_manifest(MINIMAL_PV, bundle)
    assert (m.memory, m.vcpus, m.description, m.disks, m.network) == (Memory(128, 128), Vcpus(1, 1), "", (), ())
    assert m.policy == Policy("destroy", "destroy", "restart")      # Xen's defaults
    assert m.autostart == Autostart(False, 0, 0)
    assert m.boot.kernel == bundle.resolve() / "vmlinuz"


def test_the_error_starts_with_the_manifest_path_and_lists_every_problem(bundle):
    with pytest.raises(FileProblems) as raised:
        parse_manifest('name = "-bad"\ntype = "xen"\n[memory]\ninitial_mib = 0\n', bundle)
    assert isinstance(raised.value, ValueError)
    assert str(raised.value) == "\n".join([
        f"{bundle / 'appliance.toml'}: 3 problems",
        "  name = '-bad': must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        '  type = \'xen\': must be one of "pv", "pvh", "hvm"',
        "  memory.initial_mib = 0: must be at least 1 MiB"])


@pytest.mark.parametrize("name", ["a", "web-01", "example.pvlinux", "A_b.c-d", "x" * 64, "9lives"])
def test_valid_names(bundle, name):
    assert parse_manifest(MINIMAL_PV.replace('"web"', f'"{name}"'), bundle).name == name


@pytest.mark.parametrize("name", ["", "-web", ".hidden", "x" * 65, "web server", "wéb", "web/1", "web\n"])
def test_invalid_names(bundle, name):
    text = MINIMAL_PV.replace('"web"', json.dumps(name, ensure_ascii=False))
    assert "must be 1-64 letters" in problems(text, bundle)["name"]


def test_missing_required_keys_say_how_to_add_them(bundle):
    found = problems("", bundle)
    assert found == {
        "name": ': missing: add name = "my-appliance"',
        "type": ': missing: add type = "pv", "pvh" or "hvm"',
        "memory": ": missing: add [memory] with initial_mib = <MiB>",
    }
    assert problems('name = "a"\ntype = "pv"\n[memory]\n[boot]\nkernel = "vmlinuz"', bundle) == {
        "memory.initial_mib": ": missing: add initial_mib = <MiB>"}


def test_a_pv_guest_without_boot_is_told_both_ways_to_boot(bundle):
    assert problems('name = "a"\ntype = "pvh"\n[memory]\ninitial_mib = 64\n', bundle) == {
        "boot": ': missing: add [boot] with kernel = "<file in the bundle>" or bootloader = "pygrub"'}
    assert problems('name = "a"\ntype = "pv"\n[memory]\ninitial_mib = 64\n[boot]\ncmdline = "quiet"', bundle) == {
        "boot.kernel": ': missing: a pv or pvh guest needs kernel = "<file in the bundle>" or bootloader = "pygrub"'}


def test_unknown_keys_at_every_level_suggest_the_closest(bundle):
    text = MINIMAL_PV.replace("initial_mib = 128", "initial_mb = 128\ninitial_mib = 128") + \
        'nmae = "x"\n[[disks]]\nfile = "data.img"\nfromat = "raw"\n[polcy]\n'
    found = problems(text, bundle)
    assert found["memory.initial_mb"] == (' = 128: unknown key; did you mean "initial_mib"? '
                                          "valid keys here: initial_mib, maximum_mib")
    assert found["boot.nmae"].startswith(" = 'x': unknown key; valid keys here: ")
    assert 'did you mean "format"?' in found["disks[0].fromat"]
    assert 'did you mean "policy"?' in found["polcy"]


def test_wrong_types_name_what_was_found(bundle):
    text = """name = 5\ntype = "pv"\nmemory = 128\nvcpus = {initial = "two"}\n[boot]\nkernel = "vmlinuz"
    [autostart]\nenabled = "yes"\ndelay_s = 1.5\n"""
    assert problems(text, bundle) == {
        "name": " = 5: must be text in quotes (found a number)",
        "memory": " = 128: must be a table, written [memory] (found a number)",
        "vcpus.initial": " = 'two': must be a whole number of vCPUs (found text)",
        "autostart.enabled": " = 'yes': must be true or false (found text)",
        "autostart.delay_s": " = 1.5: must be a whole number of seconds (found a decimal number)",
    }


def test_true_is_not_a_number(bundle):
    assert problems(MINIMAL_PV.replace("128", "true"), bundle) == {
        "memory.initial_mib": " = True: must be a whole number of MiB (found true/false)"}


def test_memory_maximum_below_initial_and_above_the_host(bundle):
    text = MINIMAL_PV.replace("initial_mib = 128", "initial_mib = 256\nmaximum_mib = 128")
    assert problems(text, bundle) == {
        "memory.maximum_mib": " = 128: must be at least initial_mib (256): the guest balloons between"}
    text = MINIMAL_PV.replace("initial_mib = 128", "initial_mib = 256\nmaximum_mib = 4096")
    assert problems(text, bundle, HostLimits(memory_mib=2048, cpus=4)) == {
        "memory.maximum_mib": " = 4096: is more than the 2048 MiB this host can give a guest"}
    assert problems(MINIMAL_PV, bundle, HostLimits(memory_mib=64, cpus=4)) == {
        "memory.initial_mib": " = 128: is more than the 64 MiB this host can give a guest"}
    assert parse_manifest(MINIMAL_PV, bundle, HostLimits(memory_mib=128, cpus=1)).memory == Memory(128, 128)


def test_vcpus_maximum_below_initial_and_above_the_host(bundle):
    assert problems(MINIMAL_PV + "[vcpus]\ninitial = 4\nmaximum = 2\n", bundle) == {
        "vcpus.maximum": " = 2: must be at least vcpus.initial (4)"}
    assert problems(MINIMAL_PV + "[vcpus]\ninitial = 1\nmaximum = 8\n", bundle, HostLimits(4096, 4)) == {
        "vcpus.maximum": " = 8: is more than this host's 4 CPUs"}
    assert problems(MINIMAL_PV + "[vcpus]\ninitial = 3\n", bundle, HostLimits(4096, 2)) == {
        "vcpus.initial": " = 3: is more than this host's 2 CPUs"}
    assert problems(MINIMAL_PV + "[vcpus]\ninitial = 0\n", bundle) == {
        "vcpus.initial": " = 0: must be at least 1 vCPUs"}


def test_bundle_files_must_exist_and_stay_inside(bundle, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "kernel").write_text("x")
    (bundle / "escape").symlink_to(outside / "kernel")
    found = problems(MINIMAL_PV.replace('"vmlinuz"', '"missing"') + 'ramdisk = "../outside/kernel"\n'
                     '[[disks]]\nfile = "escape"\n[[disks]]\nfile = ""\n', bundle)
    assert found["boot.kernel"] == f" = 'missing': is not a file in the bundle (looked for {bundle.resolve()}/missing)"
    assert found["boot.ramdisk"] == " = '../outside/kernel': must stay inside the bundle (no '..', no links out of it)"
    assert found["disks[0].file"] == " = 'escape': must stay inside the bundle (no '..', no links out of it)"
    assert found["disks[1].file"] == " = '': must name a file"


def test_a_folder_is_not_a_file(bundle):
    (bundle / "images").mkdir()
    assert "is not a file in the bundle" in problems(MINIMAL_PV.replace('"vmlinuz"', '"images"'), bundle)["boot.kernel"]


DEVICE_FIX = ('use device = "<stable id>" for a host disk (the ID column of `xenbox storage disks`), which '
              "checks it is not the boot medium and no one else uses it")
OUTSIDE = ("is outside the bundle, on no pool and no volume of the data store: copy it into the bundle and name "
           "it there (a path relative to the bundle), or put the image on a pool")


def disk_problem(bundle: Path, path: str) -> str:
    """The message for disks[0].file = path (the value it quotes is cut short in a long temporary folder)."""
    with pytest.raises(FileProblems) as raised:
        parse_manifest(MINIMAL_PV + f"[[disks]]\nfile = '''{path}'''\n", bundle)
    return next(problem.message for problem in raised.value.problems if problem.field == "disks[0].file")


@pytest.mark.parametrize("path, message", [
    ("/dev/sda", f"is a host device: {DEVICE_FIX}"),
    ("/dev/xenbox/data", "is the data store's own volume, which holds this host's configuration and every "
                         'appliance: no guest is given it; give the guest a volume of its own with pool = "local"'),
    ("/dev/xenbox/../sda", f"is a host device: {DEVICE_FIX}"),
    ("/dev/mapper/xenbox-data", f"is a host device: {DEVICE_FIX}"),
    ("/etc/shadow", OUTSIDE),
    ("/sys/kernel/notes", "is one of the kernel's files, not a disk image: copy the image into the bundle"),
])
def test_a_full_path_reaches_only_a_pool_image_or_a_data_store_volume(bundle, path, message):
    assert disk_problem(bundle, path) == message
    kernel = MINIMAL_PV.replace('"vmlinuz"', f"'''{path}'''")
    assert problems(kernel, bundle)["boot.kernel"] == f" = {path!r}: {message}"


def test_proc_is_the_kernels_wherever_its_links_lead(bundle):
    assert disk_problem(bundle, "/proc/self/mem").startswith("is one of the kernel's files (it leads to /proc/")


def test_a_link_or_dots_out_of_the_bundle_are_refused_by_where_they_lead(bundle):
    (bundle / "shadow.img").symlink_to("/etc/shadow")
    (bundle / "sda.img").symlink_to("/dev/sda")
    assert disk_problem(bundle, f"{bundle}/shadow.img") == (
        "must stay inside the bundle (it leads to /etc/shadow): no '..', no links out of it")
    assert disk_problem(bundle, f"{bundle}/../../etc/shadow") == OUTSIDE
    assert disk_problem(bundle, f"{bundle}/sda.img") == f"is a host device (it leads to /dev/sda): {DEVICE_FIX}"


def test_a_device_node_in_the_bundle_is_no_file(bundle):
    os.mknod(bundle / "null.img", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    os.mknod(bundle / "loop.img", stat.S_IFBLK | 0o600, os.makedev(7, 0))
    assert disk_problem(bundle, f"{bundle}/null.img") == f"is a device node, not a file: {DEVICE_FIX}"
    assert disk_problem(bundle, f"{bundle}/loop.img") == f"is a host device: {DEVICE_FIX}"
    assert "is not a file in the bundle" in disk_problem(bundle, "loop.img")


def test_full_paths_a_guest_may_have(bundle):
    m = parse_manifest(MINIMAL_PV.replace('"vmlinuz"', f'"{bundle}/vmlinuz"') +
                       '[[disks]]\nfile = "/dev/xenbox/web.xvda"\n'
                       '[[disks]]\nfile = "/var/lib/xenbox/images/web.qcow2"\nformat = "qcow2"\n', bundle)
    assert (m.boot.kernel, m.disks[0].file, m.disks[1].file) == (
        bundle / "vmlinuz", Path("/dev/xenbox/web.xvda"), Path("/var/lib/xenbox/images/web.qcow2"))


def test_kernel_or_bootloader_not_both(bundle):
    assert problems(MINIMAL_PV + 'bootloader = "pygrub"\n', bundle) == {
        "boot.bootloader": " = 'pygrub': choose one: boot.kernel or boot.bootloader"}
    pygrub = MINIMAL_PV.replace('kernel = "vmlinuz"', 'bootloader = "pygrub"\ncmdline = "ro"')
    assert parse_manifest(pygrub, bundle).boot == Boot(bootloader="pygrub", cmdline="ro")
    assert problems(pygrub.replace('"pygrub"', '"grub"'), bundle) == {
        "boot.bootloader": " = 'grub': must be one of \"pygrub\""}
    assert problems(pygrub + 'ramdisk = "initrd.img"\n', bundle) == {
        "boot.ramdisk": " = 'initrd.img': goes with boot.kernel; pygrub finds its own ramdisk"}


HVM = 'name = "win"\ntype = "hvm"\n[memory]\ninitial_mib = 1024\n'


def test_hvm_boot_order(bundle):
    assert parse_manifest(HVM, bundle).boot == Boot(order=("disk", "cd"))
    assert parse_manifest(HVM + '[boot]\norder = ["cd", "network", "disk"]', bundle).boot.order == (
        "cd", "network", "disk")
    for order in ('[]', '["disk", "disk"]', '["floppy"]', '[1]', '[["disk"]]'):
        assert problems(HVM + f"[boot]\norder = {order}", bundle)["boot.order"].endswith(
            'must list some of "disk", "cd", "network", each once')


def test_hvm_refuses_a_kernel_and_pv_refuses_a_boot_order(bundle):
    assert problems(HVM + '[boot]\nkernel = "vmlinuz"\n', bundle) == {"boot.kernel": (
        " = 'vmlinuz': hvm guests boot from their disks (boot.order); kernel, ramdisk, cmdline and bootloader "
        "are for pv/pvh")}
    assert problems(MINIMAL_PV + 'order = ["disk"]\n', bundle) == {"boot.order": (
        " = ['disk']: is for hvm guests only; pv and pvh guests boot boot.kernel or boot.bootloader")}


def test_disks_defaults_and_targets(bundle):
    m = parse_manifest(MINIMAL_PV + '[[disks]]\nfile = "data.img"\ntarget = "xvda"\n[[disks]]\nfile = "data2.img"\n'
                       'format = "raw"\nmode = "ro"\n[[disks]]\nfile = "install.iso"\ncdrom = true\n', bundle)
    root = bundle.resolve()
    assert m.disks == (Disk(root / "data.img", "raw", "xvda", "rw", False),
                       Disk(root / "data2.img", "raw", "xvdb", "ro", False),
                       Disk(root / "install.iso", "raw", "xvdc", "ro", True))


def test_a_qcow2_image_is_for_every_guest_type(bundle):
    """PV/PVH guests' qcow2 disks are served by a QEMU libxl starts in dom0; HVM ones by the device model."""
    for head in (MINIMAL_PV, HVM):
        assert parse_manifest(head + '[[disks]]\nfile = "data.img"\nformat = "qcow2"\n', bundle).disks[0].format == "qcow2"


def test_default_targets_skip_the_ones_taken(bundle):
    m = parse_manifest(MINIMAL_PV + '[[disks]]\nfile = "data.img"\n[[disks]]\nfile = "data2.img"\ntarget = "xvda"',
                       bundle)
    assert [disk.target for disk in m.disks] == ["xvdb", "xvda"]


def test_disk_problems(bundle):
    found = problems(MINIMAL_PV + '[[disks]]\nfile = "data.img"\nformat = "vhd"\nmode = "w"\ntarget = "vda"\n'
                     '[[disks]]\nfile = "install.iso"\ncdrom = true\nmode = "rw"\n'
                     '[[disks]]\nfile = "data2.img"\ntarget = "xvdb"\n[[disks]]\nformat = "raw"', bundle)
    assert found == {
        "disks[0].format": ' = \'vhd\': must be one of "raw", "qcow2"',
        "disks[0].mode": ' = \'w\': must be one of "rw", "ro"',
        "disks[0].target": " = 'vda': must be a device name such as xvda, xvdb, hda or sda",
        "disks[1].mode": " = 'rw': a CD-ROM is read-only: write mode = \"ro\" or leave mode out",
        "disks[3].file": ': missing: add file = "<file in the bundle>"',
    }
    assert problems(MINIMAL_PV + '[[disks]]\nfile = "data.img"\ntarget = "xvdb"\n[[disks]]\nfile = "data2.img"\n'
                    'target = "xvdb"', bundle) == {"disks[1].target": " = 'xvdb': is already used by disks[0]"}


def test_disks_must_be_an_array_of_tables(bundle):
    assert problems(MINIMAL_PV + 'disks = ["data.img"]\n', bundle) == {"boot.disks": (
        " = ['data.img']: unknown key; did you mean \"ramdisk\"? valid keys here: order, kernel, ramdisk, cmdline, "
        "bootloader")}
    assert problems(MINIMAL_PV.replace("[memory]", 'disks = ["data.img"]\n[memory]'), bundle) == {"disks": (
        " = ['data.img']: must be a list of tables, each written [[disks]]")}


def test_a_disk_on_a_pool_is_a_volume_made_at_first_start(bundle):
    m = parse_manifest(MINIMAL_PV + '[[disks]]\nfile = "data.img"\n[[disks]]\npool = "local"\nsize_mib = 64\n', bundle)
    assert m.disks[1] == Disk(None, "raw", "xvdb", "rw", False, pool="local", size_mib=64)


def test_a_disk_on_the_files_pool_is_an_image_raw_unless_qcow2_is_asked_for(bundle):
    m = parse_manifest(MINIMAL_PV + '[[disks]]\npool = "files"\nsize_mib = 64\n'
                       '[[disks]]\npool = "files"\nsize_mib = 32\nformat = "qcow2"\n', bundle)
    assert m.disks == (Disk(None, "raw", "xvda", "rw", False, pool="files", size_mib=64),
                       Disk(None, "qcow2", "xvdb", "rw", False, pool="files", size_mib=32))


def test_a_disk_on_a_pool_added_by_name_is_an_image_there(bundle):
    m = parse_manifest(MINIMAL_PV + '[[disks]]\npool = "nas"\nsize_mib = 64\nformat = "qcow2"\n', bundle)
    assert m.disks == (Disk(None, "qcow2", "xvda", "rw", False, pool="nas", size_mib=64),)


def test_pool_disks_name_what_is_wrong(bundle):
    assert problems(MINIMAL_PV + '[[disks]]\npool = "fast pool"\nfile = "data.img"\n', bundle) == {
        "disks[0].pool": " = 'fast pool': must be \"local\", \"files\", or the name of a pool added on this host "
                         "(`xenbox storage pool list`)",
        "disks[0].size_mib": ": missing: add size_mib = <MiB>, the size of the volume made at first start",
        "disks[0].file": " = 'data.img': a disk is a file in the bundle or a volume on a pool, not both: "
                         "drop file or pool"}
    assert problems(MINIMAL_PV + '[[disks]]\npool = "local"\nsize_mib = 8\nformat = "qcow2"\n', bundle) == {
        "disks[0].format": " = 'qcow2': volumes on the local pool are raw: leave format out, or use "
                           'pool = "files" for a qcow2 image'}
    assert problems(MINIMAL_PV + '[[disks]]\nfile = "data.img"\nsize_mib = 0\n', bundle) == {
        "disks[0].size_mib": ' = 0: goes with pool: a volume made on a pool, e.g. pool = "local"; '
                             "a disk image in the bundle has its own size"}
    assert problems(MINIMAL_PV + '[[disks]]\npool = "local"\nsize_mib = 0\ncdrom = true\n', bundle) == {
        "disks[0].size_mib": " = 0: must be at least 1 MiB",
        "disks[0].cdrom": " = True: a volume on a pool is a disk; a CD-ROM is an image file in the bundle"}


def test_network_defaults_and_stable_macs(bundle):
    m = parse_manifest(MINIMAL_PV + "[[network]]\n[[network]]\nbridge = \"xenbr1\"\nmac = \"00:16:3E:AA:BB:CC\"\n",
                       bundle)
    assert m.network == (NetworkInterface("xenbr0", generated_mac("web", 0)),
                         NetworkInterface("xenbr1", "00:16:3e:aa:bb:cc"))
    again = parse_manifest(MINIMAL_PV + "[[network]]\n", bundle)
    assert again.network[0].mac == m.network[0].mac


def test_generated_macs_are_xen_ones_and_differ_by_name_and_card():
    macs = {generated_mac(name, index) for name in ("web", "db", "mail") for index in range(4)}
    assert len(macs) == 12
    assert all(mac.startswith("00:16:3e:") and int(mac[9:11], 16) < 0x80 for mac in macs)
    # Pinned: a change would give every deployed appliance a new MAC, and a new DHCP lease.
    assert generated_mac("web", 0) == "00:16:3e:6e:02:e5"


def test_network_problems(bundle):
    found = problems(MINIMAL_PV + '[[network]]\nmac = "01:16:3e:00:00:01"\nbridge = "br0,script=x"\n'
                     '[[network]]\nmac = "00:16:3e:00:00"\n[[network]]\nmac = "00:16:3e:00:00:02"\n'
                     '[[network]]\nmac = "00:16:3E:00:00:02"\n', bundle)
    assert found == {
        "network[0].bridge": " = 'br0,script=x': must be a bridge name of 1-15 letters, digits, '_', '.', '-'",
        "network[0].mac": " = '01:16:3e:00:00:01': is a multicast address; a network card needs a unicast one "
                          "(even first byte)",
        "network[1].mac": " = '00:16:3e:00:00': must be six two-digit hex bytes such as 00:16:3e:12:34:56",
        "network[3].mac": " = '00:16:3e:00:00:02': is already used by another card of this appliance",
    }


def test_policy_actions(bundle):
    m = parse_manifest(MINIMAL_PV + '[policy]\non_crash = "coredump-restart"\n', bundle)
    assert m.policy == Policy("coredump-restart", "destroy", "restart")
    assert problems(MINIMAL_PV + '[policy]\non_reboot = "reboot"\n', bundle) == {"policy.on_reboot": (
        " = 'reboot': must be one of \"destroy\", \"restart\", \"preserve\", \"coredump-destroy\", "
        "\"coredump-restart\", \"rename-restart\"")}


def test_autostart(bundle):
    assert problems(MINIMAL_PV + "[autostart]\ndelay_s = -1\n", bundle) == {
        "autostart.delay_s": " = -1: must be at least 0 seconds"}
    assert parse_manifest(MINIMAL_PV + "[autostart]\nenabled = true\norder = -5\n", bundle).autostart == \
        Autostart(True, -5, 0)


def test_one_line_strings_refuse_control_characters_but_description_is_free(bundle):
    assert problems(MINIMAL_PV + 'cmdline = "a\\nb"\n', bundle) == {
        "boot.cmdline": " = 'a\\nb': must be one line without control characters"}
    assert parse_manifest('description = """two\nlines"""\n' + MINIMAL_PV, bundle).description == "two\nlines"
    # Only a Python string, never a UTF-8 file, holds a lone surrogate; an xl.cfg could not be written with it.
    assert problems(MINIMAL_PV + 'cmdline = "\ud800"\n', bundle) == {
        "boot.cmdline": " = '\\ud800': must be one line without control characters"}


def test_toml_syntax_errors_give_the_line(bundle):
    assert problems('name = "web"\ntype = "pv"\n[memory]\ninitial_mib = \n', bundle) == {
        "line 4, column 15": ": Invalid value (TOML syntax)"}
    assert "line 2" in next(iter(problems('name = "a"\nname = "b"\n', bundle)))


def test_bytes_that_are_not_utf8(bundle):
    with pytest.raises(FileProblems) as raised:
        parse_manifest_bytes(b'name = "web"\ntype = "pv\xff"\n', bundle)
    assert str(raised.value) == (f"{bundle / 'appliance.toml'}: 1 problem\n"
                                 "  line 2 = b'\\xff': is not UTF-8 text; save the file as UTF-8")


def test_a_byte_order_mark_is_forgiven(bundle):
    assert parse_manifest_bytes(b"\xef\xbb\xbf" + MINIMAL_PV.encode(), bundle).name == "web"


def test_deep_nesting_is_a_manifest_error(bundle):
    with pytest.raises(FileProblems):
        parse_manifest("x = " + "[" * 100_000 + "]" * 100_000, bundle)


def test_long_values_are_shortened_in_messages(bundle):
    with pytest.raises(FileProblems) as raised:
        parse_manifest(MINIMAL_PV.replace('name = "web"', f'name = "{"x" * 5000}"'), bundle)
    assert len(str(raised.value)) < 300


def test_xvd_names():
    assert [xvd_name(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "xvda", "xvdb", "xvdz", "xvdaa", "xvdab", "xvdaz", "xvdba", "xvdzz", "xvdaaa"]


def test_an_hvm_table_is_read_with_its_defaults(bundle):
    from hypervisor.appliances.manifest import Hvm
    assert parse_manifest(HVM, bundle).hvm == Hvm("bios", None, "pv", False, True)
    m = parse_manifest(HVM + '[hvm]\nfirmware = "uefi"\nnic_model = "rtl8139"\ndisk_bus = "ahci"\nwindows = true\n'
                       'serial = false\n', bundle)
    assert m.hvm == Hvm("uefi", "rtl8139", "ahci", True, False)
    assert parse_manifest(HVM + '[hvm]\nwindows = true\n', bundle).hvm.card == "e1000"     # Windows' own driver
    assert parse_manifest(HVM + '[hvm]\nwindows = true\nnic_model = "pv"\n', bundle).hvm.card == "pv"
    assert parse_manifest(MINIMAL_PV, bundle).hvm is None


def test_an_hvm_table_is_checked_strictly(bundle):
    assert problems(HVM + '[hvm]\nfirmware = "efi"\nnic_model = "virtio"\ndisk_bus = "scsi"\nwindows = "yes"\n'
                    'vnc = true\n', bundle) == {
        "hvm.firmware": " = 'efi': must be one of \"bios\", \"uefi\"",
        "hvm.nic_model": " = 'virtio': must be one of \"pv\", \"e1000\", \"rtl8139\"",
        "hvm.disk_bus": " = 'scsi': must be one of \"pv\", \"ide\", \"ahci\"",
        "hvm.windows": " = 'yes': must be true or false (found text)",
        "hvm.vnc": " = True: unknown key; valid keys here: firmware, nic_model, disk_bus, windows, serial"}


def test_an_hvm_table_is_refused_on_pv_and_pvh(bundle):
    for kind in ("pv", "pvh"):
        text = MINIMAL_PV.replace('"pv"', f'"{kind}"') + '[hvm]\nfirmware = "uefi"\n'
        assert problems(text, bundle) == {"hvm": " = {'firmware': 'uefi'}: is for type = \"hvm\" guests only: "
                                                 "pv and pvh guests have no emulated machine to set up"}


def test_disks_on_an_ide_or_ahci_bus_are_named_hda_to_hdd(bundle):
    disk = '[[disks]]\nfile = "data.img"\n'
    text = HVM + '[hvm]\ndisk_bus = "ahci"\n' + disk + '[[disks]]\nfile = "install.iso"\ncdrom = true\ntarget = "hdc"\n' + disk
    assert [d.target for d in parse_manifest(text, bundle).disks] == ["hda", "hdc", "hdb"]
    assert problems(HVM + '[hvm]\ndisk_bus = "ide"\n' + disk * 5, bundle) == {"disks[4].target": (
        ": has no place left: an ide bus has four, hda-hdd; give fewer disks, or disk_bus = \"pv\" in [hvm]")}
    assert [d.target for d in parse_manifest(HVM + disk * 2, bundle).disks] == ["xvda", "xvdb"]


def test_an_hvm_cd_drive_may_be_empty_but_a_pv_one_may_not(bundle):
    m = parse_manifest(HVM + '[[disks]]\ncdrom = true\ntarget = "hdc"\n', bundle)
    assert m.disks == (Disk(None, "raw", "hdc", "ro", True),)
    assert problems(MINIMAL_PV + '[[disks]]\ncdrom = true\n', bundle) == {"disks[0].file": (
        ': missing: an empty CD-ROM drive is for hvm guests; name the image, file = "<file in the bundle>"')}
    assert problems(HVM + '[[disks]]\ntarget = "hda"\n', bundle) == {"disks[0].file": (
        ': missing: add file = "<file in the bundle>"')}


def test_an_iso_of_the_iso_library_is_a_read_only_cd_only(bundle, tmp_path_factory, monkeypatch):
    from hypervisor.appliances import guest_paths
    pool = tmp_path_factory.mktemp("pool")
    (pool / "isos").mkdir()
    (pool / "isos" / "debian.iso").write_text("an installer\n")
    (pool / "web.xvda.raw").write_text("a disk\n")
    monkeypatch.setattr(guest_paths, "HOST", guest_paths.Host(pools=lambda: [pool]))
    iso = pool / "isos" / "debian.iso"
    m = parse_manifest(HVM + f'[[disks]]\nfile = "{iso}"\ncdrom = true\ntarget = "hdc"\n', bundle)
    assert m.disks == (Disk(iso, "raw", "hdc", "ro", True),)
    refused = problems(HVM + f'[[disks]]\nfile = "{iso}"\n', bundle)
    assert refused == {"disks[0].file": f" = '{iso}': " + guest_paths.ISO_ONLY_AS_CD}
    assert problems(HVM + f'[[disks]]\nfile = "{pool}/isos/gone.iso"\ncdrom = true\n', bundle) == {
        "disks[0].file": f" = '{pool}/isos/gone.iso': is not an ISO file in the ISO library"}
    # a pool's own images are disks as before, and may be CDs too
    assert parse_manifest(HVM + f'[[disks]]\nfile = "{pool}/web.xvda.raw"\n', bundle).disks[0].mode == "rw"
