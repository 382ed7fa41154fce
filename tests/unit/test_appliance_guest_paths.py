"""The guest path gate (hypervisor/appliances/guest_paths.py) on real files, links and device nodes.

Device-mapper cannot run here (no driver in this kernel), so a data store volume is laid out as
dom0 has it: /dev/xenbox/NAME a link to a block device node (made with mknod), and sysfs naming that
device's mapping (/sys/dev/block/MAJOR:MINOR/dm/name), in a temporary /dev and /sys.
"""
import os
import stat
from pathlib import Path

import pytest

from hypervisor.appliances.guest_paths import DATA_VOLUME, Host, Refused, check_guest, named_pool_folders, refusal
from hypervisor.appliances.launch import CannotStart, start
from hypervisor.appliances.manifest import parse_manifest
from hypervisor.xen.xl import Xl
from test_appliance_launch import DOM0_ONLY, ScriptedXl

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="device nodes are made with mknod, which needs root")


@pytest.fixture
def host(tmp_path) -> Host:
    """A /dev with the data store's volumes data (253:0) and web.xvda (253:1), a host disk sda (8:0),
    and a pool folder."""
    dev, sys = tmp_path / "dev", tmp_path / "sys"
    (dev / "xenbox").mkdir(parents=True)
    for name, major, minor, mapped in (("dm-0", 253, 0, "xenbox-data"), ("dm-1", 253, 1, "xenbox-web.xvda"),
                                       ("dm-2", 253, 2, "xenbox-my--web.xvda"), ("sda", 8, 0, None)):
        os.mknod(dev / name, stat.S_IFBLK | 0o600, os.makedev(major, minor))
        if mapped:
            (sys / "dev" / "block" / f"{major}:{minor}" / "dm").mkdir(parents=True)
            (sys / "dev" / "block" / f"{major}:{minor}" / "dm" / "name").write_text(mapped + "\n")
    for volume, node in (("data", "dm-0"), ("web.xvda", "dm-1"), ("my-web.xvda", "dm-2")):
        (dev / "xenbox" / volume).symlink_to(f"../{node}")
    pool = tmp_path / "nas"
    pool.mkdir()
    return Host(pools=lambda: [pool], dev=dev, sys=sys)


def test_a_guest_volume_of_the_data_store_passes_by_its_name(host):
    for volume in ("web.xvda", "my-web.xvda"):
        path = host.dev / "xenbox" / volume
        assert refusal(path, host=host) is None
        assert check_guest([("disk xvda", path)], host=host) == {"disk xvda": path}
    assert refusal(host.dev / "xenbox" / "later.xvda", host=host) is None     # activated at boot; the start says


def test_the_data_volume_is_refused_by_any_name(host):
    for path in (host.dev / "xenbox" / "data", host.dev / "dm-0", host.dev / "xenbox" / "web.xvda" / ".." / "data"):
        assert refusal(path, host=host) == DATA_VOLUME
    (host.dev / "xenbox" / "web.xvdb").symlink_to("../dm-0")        # a guest volume's name, the data volume
    assert refusal(host.dev / "xenbox" / "web.xvdb", host=host) == DATA_VOLUME


def test_a_volume_name_leading_to_a_host_disk_is_refused(host):
    (host.dev / "xenbox" / "evil.xvda").symlink_to("../sda")
    assert refusal(host.dev / "xenbox" / "evil.xvda", host=host).startswith(
        f"is not a volume of the data store (it leads to {host.dev}/sda): use device = ")
    assert refusal(host.dev / "sda", host=host).startswith("is a host device: use device = ")


def test_images_on_a_pool_pass_and_what_is_no_image_does_not(host, tmp_path):
    pool = host.pools()[0]
    (pool / "web.xvda.qcow2").write_bytes(b"QFI")
    (pool / "folder").mkdir()
    (pool / "shadow.raw").symlink_to("/etc/shadow")
    assert refusal(pool / "web.xvda.qcow2", host=host) is None
    assert refusal(pool / "not-made-yet.raw", host=host) is None
    assert refusal(pool / "folder", host=host) == "is not an image file on its pool"
    assert refusal(pool / "shadow.raw", host=host).startswith("is outside the bundle, on no pool and no volume of the "
                                                              "data store: copy it into the bundle")


@pytest.mark.parametrize("folder", ["/", "/var/lib/xenbox", "/var/lib/xenbox/config", "/var/lib/xenbox/saved/x"])
def test_a_pool_folder_holding_the_data_stores_own_folders_is_no_pool(host, folder):
    wide = Host(pools=lambda: [Path(folder)], dev=host.dev, sys=host.sys)
    for path in ("/var/lib/xenbox/config/console.toml", "/var/lib/xenbox/saved/x/web.save"):
        assert refusal(path, host=wide).startswith("is outside the bundle, on no pool")
    assert refusal("/var/lib/xenbox/more/web.raw", host=Host(pools=lambda: [Path("/var/lib/xenbox/more")])) is None


def test_pools_added_by_name_are_read_from_pools_toml_and_a_name_leading_out_is_none(tmp_path):
    config = tmp_path / "pools.toml"
    config.write_text('[[pools]]\nname = "nas"\ntype = "nfs"\nshare = "nas:/x"\n'
                      '[[pools]]\nname = "more"\ntype = "file"\npath = "/srv/more"\n')
    assert named_pool_folders(config) == [Path("/run/xenbox/pools/nas"), Path("/srv/more")]
    # A name leading out makes the whole file one the boot does not use (it says so): no pool is a pool.
    config.write_text(config.read_text() + '[[pools]]\nname = "../../../etc"\ntype = "nfs"\nshare = "nas:/y"\n')
    assert named_pool_folders(config) == []
    config.write_text("[[pools]]\nname = 1\n")
    assert named_pool_folders(config) == []         # unreadable: the boot and the pool screen say why


def test_a_link_loop_cannot_be_looked_up(host, tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert refusal(tmp_path / "a", tmp_path, host).startswith("cannot be looked up")


def test_check_guest_names_every_path_refused_and_gives_files_where_their_links_lead(host, tmp_path):
    bundle = tmp_path / "web"
    bundle.mkdir()
    (bundle / "vmlinuz-6.1").write_bytes(b"kernel")
    (bundle / "vmlinuz").symlink_to("vmlinuz-6.1")
    assert check_guest([("kernel", bundle / "vmlinuz")], bundle, host) == {"kernel": bundle / "vmlinuz-6.1"}
    with pytest.raises(Refused) as refused:
        check_guest([("kernel", bundle / "vmlinuz"), ("disk xvda", "/etc/shadow"),
                     ("disk xvdb", host.dev / "xenbox" / "data")], bundle, host)
    assert list(refused.value.reasons) == ["disk xvda", "disk xvdb"]
    assert str(refused.value).startswith("its disk xvda (/etc/shadow) is outside the bundle, on no pool")
    assert f"; its disk xvdb ({host.dev}/xenbox/data) is the data store's own volume" in str(refused.value)


def test_a_start_checks_again_where_the_paths_lead_now(tmp_path):
    """A disk checked when the manifest was read, swapped for a link to /etc/shadow before the start."""
    bundle = tmp_path / "web"
    bundle.mkdir()
    for name in ("vmlinuz", "data.img"):
        (bundle / name).write_bytes(b"x")
    manifest = parse_manifest('name = "sample-web"\ntype = "pv"\n[memory]\ninitial_mib = 96\n'
                              '[boot]\nkernel = "vmlinuz"\n[[disks]]\nfile = "data.img"\n', bundle)
    (bundle / "data.img").unlink()
    (bundle / "data.img").symlink_to("/etc/shadow")
    xl = ScriptedXl(DOM0_ONLY)
    with pytest.raises(CannotStart) as refused:
        start(manifest, Xl(run=xl), config_dir=tmp_path / "xl")
    assert str(refused.value) == (f"sample-web: its disk xvda ({bundle}/data.img) must stay inside the bundle "
                                  "(it leads to /etc/shadow): no '..', no links out of it")
    assert xl.actions == [] and not (tmp_path / "xl" / "sample-web.cfg").exists()


def test_a_start_names_files_where_their_links_lead_then(tmp_path):
    bundle = tmp_path / "web"
    bundle.mkdir()
    for name in ("vmlinuz", "data.img"):
        (bundle / name).write_bytes(b"x")
    manifest = parse_manifest('name = "sample-web"\ntype = "pv"\n[memory]\ninitial_mib = 96\n'
                              '[boot]\nkernel = "vmlinuz"\n[[disks]]\nfile = "data.img"\n', bundle)
    (bundle / "data.img").rename(bundle / "disk-1.img")
    (bundle / "data.img").symlink_to("disk-1.img")      # what the guest is given is where the link leads now
    cfg = start(manifest, Xl(run=ScriptedXl(DOM0_ONLY)), config_dir=tmp_path / "xl")
    assert f"target={bundle}/disk-1.img'" in cfg.read_text()


def test_an_iso_of_the_iso_library_is_given_only_as_a_cd(host, tmp_path):
    from hypervisor.appliances.guest_paths import ISO_ONLY_AS_CD
    library = host.pools()[0] / "isos"
    library.mkdir()
    (library / "debian.iso").write_text("an installer\n")
    iso = library / "debian.iso"
    assert check_guest([("disk hdc", iso)], host=host, cdroms=["disk hdc"]) == {"disk hdc": iso}
    with pytest.raises(Refused) as refused:
        check_guest([("disk hdc", iso), ("disk hda", iso)], host=host, cdroms=["disk hdc"])
    assert refused.value.reasons == {"disk hda": f"({iso}) {ISO_ONLY_AS_CD}"}
    (tmp_path / "sneaky.img").symlink_to(iso)        # a link to it is the ISO all the same
    assert refusal(tmp_path / "sneaky.img", host=host) == f"{ISO_ONLY_AS_CD} (it leads to {iso})"
