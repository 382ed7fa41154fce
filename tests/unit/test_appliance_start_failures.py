"""An HVM appliance whose start fails: what `launch.start` says and keeps for the Appliances screen.

Xen cannot run here: `xl create` answers with what XenBox's dom0 printed for each failure
(tests/fixtures/xen/failures/commands.txt), and the qemu-dm log is the one it wrote then. The CD-ROM
images are real: an ISO 9660 image made by xorriso, then cut short, and random bytes.
"""
import subprocess
from pathlib import Path

import pytest

from hypervisor.appliances import why_stopped
from hypervisor.appliances.launch import CannotStart, start
from hypervisor.appliances.manifest import parse_manifest
from hypervisor.runner import CommandError
from hypervisor.xen import daemons as xen_daemons
from hypervisor.xen.xl import Xl

FIXTURES = Path(__file__).parent.parent / "fixtures" / "xen"
FAILURES = FIXTURES / "failures"
XL_LIST = "".join(line for line in (FIXTURES / "xl-list.txt").read_text().splitlines(keepends=True)
                  if "sample-web" not in line)
XL_INFO = "xen_major : 4\nxen_minor : 17\nxen_extra : .7\n" + (FIXTURES / "xl-info-memory.txt").read_text()
HVM = 'name = "installer"\ntype = "hvm"\n[memory]\ninitial_mib = 64\n[[disks]]\nfile = "install.iso"\ncdrom = true\n'


class CapturedXl:
    """`xl list` and `xl info` as captured; `xl create` answers with `create` (exit 3 when it is a failure)."""

    def __init__(self, create: str | None = None) -> None:
        self.create, self.actions = create, []

    def __call__(self, argv, *, input=None, timeout=60):
        args = list(argv[1:])
        if args == ["list"]:
            return XL_LIST
        if args == ["info"]:
            return XL_INFO
        self.actions.append(args)
        if args[0] == "create" and self.create is not None:
            raise CommandError(tuple(argv), 3, self.create)
        return ""


@pytest.fixture(scope="module")
def iso(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("iso")
    (folder / "content").mkdir()
    (folder / "content" / "hello.txt").write_text("an installer\n")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "INSTALL", "-o", str(folder / "x.iso"),
                    str(folder / "content")], check=True, capture_output=True)
    return (folder / "x.iso").read_bytes()


def bundle_with(tmp_path: Path, image: bytes):
    (tmp_path / "install.iso").write_bytes(image)
    return parse_manifest(HVM, tmp_path)


def test_a_device_model_failure_is_said_with_libxls_error_and_the_qemu_dm_logs_tail(tmp_path, iso):
    manifest = bundle_with(tmp_path, iso)
    why_stopped.QEMU_LOGS.mkdir(parents=True)
    # libxl starts the device model's log during `xl create`: here it is there before, as new as the start.
    (why_stopped.QEMU_LOGS / "qemu-dm-installer.log").write_text((FAILURES / "qemu-dm-could-not-open.log").read_text())
    xl = CapturedXl((FAILURES / "xl-create-dm-spawn-failed.txt").read_text())
    with pytest.raises(CannotStart) as refused:
        start(manifest, Xl(run=xl), config_dir=tmp_path / "xl")
    said = str(refused.value).splitlines()
    assert said[0] == ("Xen could not start installer: domain 3 device model: spawn failed (rc=-3); "
                       "Post DM startup configs failed, rc=-3")
    assert said[1].startswith("Its device model could not use /dev/mapper/bad: Could not open '/dev/mapper/bad'")
    assert said[-1].startswith("  xen-qemu-system-i386: -drive if=none,readonly=on")
    kept = why_stopped.read_run("installer")
    assert kept is not None and kept.refused == str(refused.value)
    assert why_stopped.why_not_running("installer").endswith(said[-1])


def test_a_missing_firmware_is_kept_as_the_reason(tmp_path, iso):
    manifest = bundle_with(tmp_path, iso)
    with pytest.raises(CannotStart, match=r"^Xen could not start installer: failed to read BIOS file: No such file"):
        start(manifest, Xl(run=CapturedXl((FAILURES / "xl-create-bios-file-missing.txt").read_text())),
              config_dir=tmp_path / "xl")
    assert "OVMF.fd" in why_stopped.read_run("installer").refused


@pytest.mark.parametrize("cut", ["truncated", "random"])
def test_a_cd_image_that_is_no_disc_is_refused_before_xen_is_asked(tmp_path, iso, cut):
    image = iso[:20 * 1024] if cut == "truncated" else bytes(range(256)) * 1024
    xl = CapturedXl()
    with pytest.raises(CannotStart, match=r"^installer's CD-ROM image .*install.iso is not a CD or DVD image: it has "
                                          r"no ISO 9660 or UDF descriptor at 32 KiB"):
        start(bundle_with(tmp_path, image), Xl(run=xl), config_dir=tmp_path / "xl")
    assert xl.actions == []
    assert "is not a CD or DVD image" in why_stopped.why_not_running("installer")


def test_a_started_guest_is_recorded_and_its_previous_console_log_kept_aside(tmp_path, iso):
    logs = xen_daemons.CONSOLE_LOGS
    logs.mkdir(parents=True)
    (logs / "guest-installer.log").write_text("Kernel panic - not syncing: the run before\n")
    xl = CapturedXl()
    start(bundle_with(tmp_path, iso), Xl(run=xl), config_dir=tmp_path / "xl")
    assert xl.actions == [["create", str(tmp_path / "xl" / "installer.cfg")]]
    assert why_stopped.read_run("installer").refused == ""
    assert not (logs / "guest-installer.log").exists()
    assert "the run before" in (logs / "guest-installer.log.old").read_text()
    assert why_stopped.why_not_running("installer").endswith("Its console printed nothing.")
