"""Settings kept on the data store, as the boot reads them: every file checked whole, like an answer file;
a bad one said (file, key path, fix), listed on the overview and left out, and the boot goes on.

Real files in a temporary folder, read by the real readers and the real `boot()`. What cannot run here
is replaced at its boundary, each said where it is: LVM's `vgs` by a captured answer, Xen by FakeXl
(test_tui_appliances), the disk scan for answer files by none.
"""
import functools
from pathlib import Path

import pytest

from hypervisor import boot
from hypervisor.answer import apply as answer_apply
from hypervisor.answer import network_settings
from hypervisor.appliances import autostart
from hypervisor.appliances.launch import start
from hypervisor.host import boot_problems, console_password
from hypervisor.host.console_password import read_access
from hypervisor.settings.names import OutsideFolder, inside
from hypervisor.storage import StorageError, iscsi_targets, named_pools
from hypervisor.storage.config_files import KeptFileProblems
from hypervisor.storage.datastore import DataStore
from hypervisor.storage.iscsi import Chap
from hypervisor.storage.iscsi_targets import IscsiTargets, read_targets
from hypervisor.storage.named_pools import NamedPool, NamedPools, read_pools
from test_storage_datastore import Tools
from test_storage_support import fixture
from tui.widgets.autostart_panel import problem_lines

HASH = "$y$j9T$Pn3pFh0e0F4bo5JLk6nPj/$0R0EwFGgPp5JSV.iYQwJ5wBGoB6w7hpLiB5Cl6Wuqv8"


def refused(path: Path, text: str) -> KeptFileProblems:
    """What reading `text` as pools.toml or iscsi.toml raises."""
    path.write_text(text)
    with pytest.raises(KeptFileProblems) as caught:
        (read_pools if path.name == "pools.toml" else read_targets)(path)
    assert isinstance(caught.value, StorageError)      # every caller that reports a StorageError reports it
    return caught.value


# -- pools.toml -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, problems", [
    ("pools = 5", ["pools = 5: must be a list of tables, each written [[pools]] (found a number)"]),
    ('[pools]\nname = "nas"', ["pools = {'name': 'nas'}: must be a list of tables, each written [[pools]] (found a table)"]),
    ('[[pools]]\nname = 5\ntype = "file"\npath = "/mnt/x"', ["pools[0].name = 5: must be text in quotes (found a number)"]),
    ('[[pools]]\nname = "nas"\ntype = "nfs"', ['pools[0].share: missing: add share = "server:/export"']),
    ('[[pools]]\nname = "nas"\ntype = "nfs"\nshare = "h:/e"\nport = "2049"',
     ["pools[0].port = '2049': must be a whole number (found text)"]),
    ('[[pools]]\nname = "nas"\ntype = "nfs"\nshare = "h:/e"\nport = 70000',
     ["pools[0].port = 70000: must be a port, 1-65535 (leave it out for NFS's 2049)"]),
    ('[[pools]]\nname = "nas"\ntype = "nfs"\nshare = "h:/e"\nversion = 4',
     ["pools[0].version = 4: must be text in quotes (found a number)"]),
    ('[[pools]]\nname = "nas"\ntype = "nfs"\nshare = "nas/export"',
     ["pools[0].share = 'nas/export': must be server:/path, such as nas.local:/export/xen"]),
    ('[[pools]]\nname = "nas"\ntype = "nfs"\nsahre = "h:/e"',
     ['pools[0].share: missing: add share = "server:/export"',
      "pools[0].sahre = 'h:/e': unknown key; did you mean \"share\"? valid keys here: name, type, path, share, "
      "version, port"]),
    ('[[pools]]\nname = "nas"\ntype = "iscsi"', ['pools[0].type = \'iscsi\': must be one of "nfs", "file"']),
    ('[[pools]]\nname = "more"\ntype = "file"\npath = "/mnt/x"\nport = 1',
     ["pools[0].port = 1: is for type = \"nfs\" pools; this pool is type = \"file\""]),
    ('[[pools]]\nname = "more"\ntype = "file"\npath = "mnt/x"',
     ["pools[0].path = 'mnt/x': must be a folder's full path without '..', such as /var/lib/xenbox/more"]),
    ('[[pools]]\nname = "local"\ntype = "file"\npath = "/mnt/x"',
     ["pools[0].name = 'local': is the data store's own pool: choose another name"]),
    ('[[pools]]\nname = "a"\ntype = "file"\npath = "/x"\n[[pools]]\nname = "a"\ntype = "file"\npath = "/y"',
     ["pools[1].name = 'a': is already the name of pools[0]"]),
    ('[[pools]]\nname = nas\n', ["line 2, column 8: Invalid value (TOML syntax)"]),
])
def test_a_pools_toml_with_wrong_types_is_refused_with_every_problem_named(tmp_path, text, problems):
    error = refused(tmp_path / "pools.toml", text)
    assert [str(problem) for problem in error.problems] == problems
    assert str(error).startswith(f"{tmp_path / 'pools.toml'}: {len(problems)} problem")
    assert str(error).endswith("\nto fix: correct these keys")


@pytest.mark.parametrize("name", ["../../etc", "..", ".hidden", "a/b", "/etc", "x" * 65, "nas\n", ""])
def test_a_pool_name_that_could_leave_its_folder_is_refused_where_it_is_read(tmp_path, name):
    text = f'[[pools]]\nname = "{name.encode("unicode_escape").decode()}"\ntype = "nfs"\nshare = "h:/e"\n'
    error = refused(tmp_path / "pools.toml", text)
    assert [p.field for p in error.problems] == ["pools[0].name"]
    assert "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit" in str(error)


def test_text_that_is_no_utf8_is_named_by_its_line_and_not_quoted(tmp_path):
    path = tmp_path / "pools.toml"
    path.write_bytes(b'[[pools]]\nname = "n\xe4s"\n')
    with pytest.raises(KeptFileProblems, match=r"line 2: is not UTF-8 text; save the file as UTF-8"):
        read_pools(path)


class NoMounts:
    """mount(8) at its boundary: records what it was asked, mounts nothing."""
    def __init__(self):
        self.calls = []

    def __call__(self, argv, *, input=None, timeout=60):
        self.calls.append(list(argv))
        return ""


def test_a_pool_name_from_elsewhere_still_cannot_make_a_folder_outside_the_mount_root(tmp_path):
    """A NamedPool made in code (not read from a file) with a hostile name: the path check where
    the name is joined refuses it before any folder is made or anything mounted."""
    (tmp_path / "mounts").write_text("")
    run = NoMounts()
    pools = NamedPools(run, config=tmp_path / "pools.toml", mount_root=tmp_path / "run" / "pools",
                       proc_mounts=tmp_path / "mounts", stored=lambda: True)
    for name in ("../../etc", "..", "a/../../b"):
        with pytest.raises(StorageError, match="cannot be a name here: it would leave"):
            pools.attach(NamedPool(name, "nfs", "h:/e"), lambda line: None)
    assert run.calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["mounts"]


def test_a_symbolic_link_in_the_folder_does_not_lead_out_of_it(tmp_path):
    root = tmp_path / "pools"
    root.mkdir()
    (root / "nas").symlink_to(tmp_path)
    with pytest.raises(OutsideFolder):
        inside(root, "nas")
    assert inside(root, "other") == root / "other"


def test_names_from_the_command_line_obey_the_same_pattern(tmp_path):
    run = NoMounts()
    (tmp_path / "mounts").write_text("")
    pools = NamedPools(run, config=tmp_path / "pools.toml", mount_root=tmp_path / "run",
                       proc_mounts=tmp_path / "mounts", stored=lambda: True)
    with pytest.raises(StorageError, match=r"'\.\./\.\./etc' is not a usable pool name"):
        pools.add_nfs("../../etc", "h:/e", None, None, lambda line: None)
    with pytest.raises(StorageError, match=r"'/mnt/\.\./etc' is not a folder"):
        pools.add_folder("more", "/mnt/../etc")
    targets = IscsiTargets(run, config=tmp_path / "iscsi.toml", initiator=tmp_path / "iname", stored=lambda: True)
    with pytest.raises(StorageError, match=r"'\.\./x' is not a usable name"):
        targets.add("../x", "10.0.2.2", "iqn.2004-01.com.example:x", None, lambda line: None)
    # What is kept is what the boot can read back: a secret it would refuse is refused now, and not quoted.
    with pytest.raises(StorageError) as refused_now:
        targets.add("san", "10.0.2.2", "iqn.2004-01.com.example:x", Chap("xen", "pass\x01word"), lambda line: None)
    assert str(refused_now.value) == ("iSCSI target san: chap_password: must be one line without control "
                                      "characters")
    assert run.calls == [] and not (tmp_path / "pools.toml").exists() and not (tmp_path / "iscsi.toml").exists()


# -- iscsi.toml ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, problems", [
    ("targets = 5", ["targets: must be a list of tables, each written [[targets]] (found a number)"]),
    ('[[targets]]\nname = "../x"\nportal = "10.0.2.2:3260"\ntarget = "iqn.2004-01.com.example:x"',
     ["targets[0].name = '../x': must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"]),
    ('[[targets]]\nname = "san"\nportal = 3260\ntarget = "iqn.2004-01.com.example:x"',
     ["targets[0].portal: must be text in quotes (found a number)"]),
    ('[[targets]]\nname = "san"\nportal = "10.0.2.2:3260"\ntarget = "iqn.2004-01.com.example:x"\nchap_user = "u"',
     ["targets[0].chap_password: missing: CHAP needs both chap_user and chap_password, or neither"]),
    ('[[targets]]\nname = "san"\nportal = "10.0.2.2:3260"\ntarget = "iqn.2004-01.com.example:x"\nchap_user = "u"\n'
     'chap_password = 5', ["targets[0].chap_password: must be text in quotes (found a number)"]),
])
def test_an_iscsi_toml_with_wrong_types_is_refused_with_every_problem_named(tmp_path, text, problems):
    error = refused(tmp_path / "iscsi.toml", text)
    assert [str(problem) for problem in error.problems] == problems


def test_an_initiator_name_that_is_not_one_is_refused_before_any_login(tmp_path):
    (tmp_path / "iname").write_text("InitiatorName=iqn.2026-11.org.xenbox:abc\nDiscoveryAddress=evil\n")
    run = NoMounts()
    targets = IscsiTargets(run, config=tmp_path / "iscsi.toml", initiator=tmp_path / "iname", etc=tmp_path / "etc")
    (tmp_path / "iscsi.toml").write_text('[[targets]]\nname = "san"\nportal = "10.0.2.2:3260"\n'
                                         'target = "iqn.2004-01.com.example:x"\n')
    with pytest.raises(KeptFileProblems, match=r"line 1 = .*: must be this host's iSCSI name alone"):
        targets.attach_all(lambda line: None)
    assert run.calls == [] and not (tmp_path / "etc").exists()


# -- console.toml -------------------------------------------------------------------------------------
def test_console_toml_is_read_strictly_and_a_usable_hash_still_locks(tmp_path):
    path = tmp_path / "console.toml"
    path.write_text(f'password_hash = "{HASH}"\nidle_lock_seconds = "ten"\nidle_lock = 60\n')
    access = read_access(path)
    assert access.password_hash == HASH and access.idle_lock_seconds == 300
    assert [str(p) for p in access.problems] == [
        "idle_lock_seconds: must be a whole number of seconds (found text)",
        "idle_lock: unknown key; did you mean \"idle_lock_seconds\"? valid keys here: password_hash, "
        "idle_lock_seconds, password"]


# -- the boot -----------------------------------------------------------------------------------------
@pytest.fixture
def kept(tmp_path, monkeypatch):
    """The data store's config folder, here; no answer file on any disk; guests' xl.cfg written here."""
    config = tmp_path / "store" / "config"
    config.mkdir(parents=True)
    monkeypatch.setattr(named_pools, "CONFIG", config / "pools.toml")
    monkeypatch.setattr(iscsi_targets, "CONFIG", config / "iscsi.toml")
    monkeypatch.setattr(iscsi_targets, "INITIATOR", config / "iscsi-initiatorname")
    monkeypatch.setattr(console_password, "CONSOLE_CONFIG", config / "console.toml")
    monkeypatch.setattr(network_settings, "NETWORK_SETTINGS", config / "network.toml")
    monkeypatch.setattr(network_settings, "ANSWER_SETTINGS", config / "answer.toml")
    monkeypatch.setattr(answer_apply, "SETTINGS", config / "answer.toml")
    monkeypatch.setattr("hypervisor.answer.fetch.labelled_volumes", lambda: [])
    monkeypatch.setattr("hypervisor.answer.fetch.boot_medium", lambda device: [])
    monkeypatch.setattr(autostart, "start", functools.partial(start, config_dir=tmp_path / "xl"))
    return config


def booted(tmp_path, xl) -> tuple[int, list[str]]:
    """`xenbox host boot` as rc.services runs it, on a host whose data store is mounted."""
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/mapper/xenbox-data {tmp_path / 'store'} ext4 rw,noatime 0 0\n")
    store = DataStore(Tools({("vgs",): fixture("vm/vgs.json")}), mountpoint=tmp_path / "store", mounts=mounts)
    appliance = tmp_path / "store" / "appliances" / "web"
    appliance.mkdir(parents=True, exist_ok=True)
    (appliance / "vmlinuz").write_text("placeholder\n")
    (appliance / "appliance.toml").write_text('name = "web"\ntype = "pv"\n[memory]\ninitial_mib = 64\n'
                                              '[boot]\nkernel = "vmlinuz"\n[autostart]\nenabled = true\n')
    (tmp_path / "cmdline").write_text("quiet\n")
    said = []
    code = boot.boot(said.append, False, xl, tmp_path / "cmdline", store=store,
                     appliance_dirs=(tmp_path / "store" / "appliances",))
    return code, said


def test_a_bad_pools_toml_is_said_listed_and_left_out_and_the_appliances_start(kept, tmp_path):
    from test_tui_appliances import FakeXl
    (kept / "pools.toml").write_text('[[pools]]\nname = "../../etc"\ntype = "nfs"\nshare = "h:/e"\nport = "x"\n')
    xl = FakeXl([])
    code, said = booted(tmp_path, xl)
    assert code == 0 and xl.calls == [("create", str(tmp_path / "xl" / "web.cfg"))]
    pools = str(kept / "pools.toml")
    at = said.index(f"{pools}: NOT used, 2 problems: no pool in it is attached, so appliances with disks on one "
                    "do not start")
    assert said[at + 1:at + 4] == [
        "  pools[0].name = '../../etc': must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        "  pools[0].port = 'x': must be a whole number (found text)",
        f"{pools}: to fix: correct these keys; the next boot reads it again"]
    assert said[-1] == "appliance web started"
    assert not (tmp_path / "etc").exists()
    # ... and the overview lists it, from the file the boot wrote.
    listed = boot_problems.read_problems()
    assert [p.subject for p in listed] == [pools]
    assert problem_lines(listed) == [
        f"{pools} NOT used: no pool in it is attached, so appliances with disks on one do not start. To fix: "
        "correct these keys - pools[0].name = '../../etc': must be 1-64 letters, digits, '_', '.' or '-', starting with a "
        "letter or digit; pools[0].port = 'x': must be a whole number (found text)"]


def test_every_bad_settings_file_is_left_out_and_the_boot_goes_on(kept, tmp_path):
    from test_tui_appliances import FakeXl
    (kept / "network.toml").write_text('[network]\nipv4 = 4\n')
    (kept / "console.toml").write_text('password_hash = 5\n')
    (kept / "iscsi.toml").write_text('targets = "san"\n')
    (kept / "pools.toml").write_text('pools = [1, 2]\n')
    xl = FakeXl([])
    code, said = booted(tmp_path, xl)
    assert code == 0 and said[-1] == "appliance web started"
    assert [p.subject for p in boot_problems.read_problems()] == [
        str(kept / name) for name in ("network.toml", "console.toml", "iscsi.toml", "pools.toml")]
    assert f"{kept / 'network.toml'}: NOT used, 1 problem: DHCP stays on xenbr0, and the host name kept there is " \
           "not set" in said
    assert f"{kept / 'console.toml'}: NOT used, 1 problem: the console is NOT locked" in said


def test_a_step_that_fails_for_any_reason_does_not_keep_the_appliances_down(kept, tmp_path, monkeypatch):
    from test_tui_appliances import FakeXl

    def broken(say):
        raise RuntimeError("iscsiadm vanished")
    monkeypatch.setattr(boot, "attach_iscsi", broken)
    code, said = booted(tmp_path, FakeXl([]))
    assert "attaching iSCSI targets failed: iscsiadm vanished" in said and said[-1] == "appliance web started"


def test_the_last_boots_problems_are_not_listed_again(kept, tmp_path):
    from test_tui_appliances import FakeXl
    (kept / "pools.toml").write_text("pools = 5\n")
    booted(tmp_path, FakeXl([]))
    assert len(boot_problems.read_problems()) == 1
    (kept / "pools.toml").write_text("")
    booted(tmp_path, FakeXl([]))
    assert boot_problems.read_problems() == []
