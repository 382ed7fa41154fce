"""What a person types into the appliance prompts, checked before Xen is asked; and the jobs the keys build."""
import os
from pathlib import Path

import pytest

from hypervisor.appliances.catalog import read_entry
from hypervisor.xen.domains import Domain
from tui.invalid import Invalid
from tui.screens import appliance_input as typed
from tui.screens import appliance_jobs as jobs
from tui.screens.appliance_rows import build_rows

SAMPLE_WEB = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"


def web_row(state="running"):
    (row,) = build_rows([read_entry(SAMPLE_WEB)], [Domain("sample-web", 3, 128, 1, state, 0.0)], {})
    return row


def guest_row():
    (row,) = build_rows([], [Domain("legacy", 4, 512, 2, "running", 0.0)], {})
    return row


def test_memory_within_the_maximum_with_or_without_unit():
    assert typed.memory_mib("200", web_row()) == 200
    assert typed.memory_mib("256 MiB", web_row()) == 256


def test_memory_above_the_maximum_says_the_maximum_and_where_it_is_set():
    with pytest.raises(Invalid, match=r"up to 256 MiB \(memory.maximum_mib"):
        typed.memory_mib("512", web_row())


def test_memory_must_be_a_positive_whole_number():
    for text in ("", "lots", "-5", "1.5", "²"):
        with pytest.raises(Invalid, match="memory in MiB"):
            typed.memory_mib(text, web_row())
    with pytest.raises(Invalid, match="at least 1 MiB"):
        typed.memory_mib("0", web_row())


def test_memory_of_a_guest_without_manifest_has_no_maximum_here():
    assert typed.memory_mib("4096", guest_row()) == 4096


def test_vcpus_between_one_and_the_maximum():
    assert typed.vcpu_count("2", web_row()) == 2
    with pytest.raises(Invalid, match="1 to 2 vCPUs"):
        typed.vcpu_count("3", web_row())
    with pytest.raises(Invalid, match="at least 1"):
        typed.vcpu_count("0", web_row())


def test_pin_reads_vcpu_and_cpus():
    assert typed.pin("all 0", web_row()) == typed.Pin("all", "0")
    assert typed.pin(" 1   0-3 ", web_row()) == typed.Pin("1", "0-3")
    assert typed.pin("0 ^1,2", web_row()) == typed.Pin("0", "^1,2")
    for text in ("0", "all", "x 0", "0 0;reboot", "0 1 2"):
        with pytest.raises(Invalid, match="e.g. 'all 0'"):
            typed.pin(text, web_row())
    with pytest.raises(Invalid, match="numbered 0 to 1"):
        typed.pin("2 0", web_row())


def test_new_name_follows_the_manifest_rule():
    assert typed.new_name("web-2", web_row()) == "web-2"
    for text in ("", "-x", "has space", "x" * 65):
        with pytest.raises(Invalid, match="1-64 letters"):
            typed.new_name(text, web_row())
    with pytest.raises(Invalid, match="already has that name"):
        typed.new_name("sample-web", web_row())


def test_sysrq_is_one_letter_or_digit():
    assert typed.sysrq_key("s") == "s"
    for text in ("", "sb", "!", "é"):
        with pytest.raises(Invalid):
            typed.sysrq_key(text)


def test_file_names_go_to_the_default_folder(tmp_path):
    assert typed.file_path("x.save", tmp_path) == tmp_path / "x.save"
    assert typed.file_path("/srv/x.save", tmp_path) == Path("/srv/x.save")
    with pytest.raises(Invalid, match="does not exist"):
        typed.existing_file("gone.save", tmp_path)


def test_restore_offers_this_sessions_save_then_the_newest_on_disk_then_the_default(tmp_path):
    assert typed.restore_file("web", None, tmp_path) == tmp_path / "web.save"
    older, newer = tmp_path / "web.save", tmp_path / "web-friday.save"
    older.write_text("1")
    newer.write_text("2")
    os.utime(older, (1, 1))
    (tmp_path / "webby.core").write_text("not a save")
    assert typed.restore_file("web", None, tmp_path) == newer
    assert typed.restore_file("web", Path("/elsewhere/web.save"), tmp_path) == Path("/elsewhere/web.save")


def test_defaults_for_save_and_core_files():
    assert typed.save_file("web") == Path("/var/lib/xenbox/saved/web.save")
    assert typed.core_file("web") == Path("/var/lib/xenbox/cores/web.core")


class Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))


class GuestIn(Recorder):
    """A Recorder whose guest is in the state given, as Xen would say."""
    def __init__(self, state):
        super().__init__()
        self.state = state

    def domain(self, name):
        return Domain(name, 3, 128, 1, self.state, 1.0)


def test_pause_key_pauses_a_running_guest_and_unpauses_a_paused_one():
    xl = GuestIn("running")
    job = jobs.pause_or_unpause(xl, web_row("running"))
    assert job.doing == "Pausing sample-web"
    assert job.call() == "sample-web paused"
    xl.state = "paused"
    assert jobs.pause_or_unpause(xl, web_row("paused")).call() == "sample-web runs again"
    assert xl.calls == [("pause", "sample-web"), ("unpause", "sample-web")]


def test_pause_key_asks_xen_not_a_table_that_is_a_refresh_behind():
    # The table still says running, but the pause just done has reached Xen: a second
    # press unpauses, instead of pausing twice (Xen counts pauses).
    xl = GuestIn("paused")
    assert jobs.pause_or_unpause(xl, web_row("running")).call() == "sample-web runs again"
    assert xl.calls == [("unpause", "sample-web")]


def test_save_creates_the_folder_and_remembers_the_file(tmp_path):
    xl, saved = Recorder(), {}
    path = tmp_path / "deep" / "web.save"
    jobs.save(xl, web_row(), path, saved).call()
    assert path.parent.is_dir() and saved == {"sample-web": path}
    assert xl.calls == [("save", "sample-web", str(path))]


def test_questions_offer_the_current_value_and_read_with_the_rows_limits():
    question = jobs.memory_question(web_row())
    assert question.value == "128" and "up to 256" in question.text
    assert question.read("200") == 200
    assert jobs.rename_question(web_row()).text == "New name for sample-web (its appliance.toml keeps sample-web):"
    assert jobs.pin_question(web_row()).placeholder == "VCPU CPUS"


class Guest(Recorder):
    """Runs until it has been asked to shut down `obeys_after` times (0: never obeys)."""
    def __init__(self, obeys_after):
        super().__init__()
        self.obeys_after = obeys_after

    def domains(self):
        asked = sum(1 for call in self.calls if call[0] == "shutdown")
        gone = self.obeys_after and asked >= self.obeys_after
        return [] if gone else [Domain("sample-web", 3, 128, 1, "running", 1.0)]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def shut_down(xl):
    clock = Clock()
    return jobs.shutdown(xl, web_row("running"), wait=60, poll=2, clock=clock, sleep=clock.sleep).call()


def test_shutdown_waits_until_the_guest_is_gone():
    xl = Guest(obeys_after=1)
    assert shut_down(xl) == "sample-web has shut down"
    assert xl.calls == [("shutdown", "sample-web")]


def test_a_guest_that_missed_the_request_is_asked_again_halfway():
    xl = Guest(obeys_after=2)
    assert shut_down(xl) == "sample-web has shut down"
    assert xl.calls == [("shutdown", "sample-web")] * 2


def test_a_guest_that_never_stops_is_reported_with_what_to_do():
    with pytest.raises(jobs.NotDone, match=r"still running after 60 s.*X destroys it"):
        shut_down(Guest(obeys_after=0))


def test_what_add_is_given_reads_as_a_bundle_a_file_to_import_or_a_folder_to_look_in(tmp_path, monkeypatch):
    (tmp_path / "guest.ova").write_bytes(b"tar")
    (tmp_path / "old.cfg").write_text('name = "old"\n')
    (tmp_path / "web.tar").write_bytes(b"tar")
    (tmp_path / "folder").mkdir()
    assert typed.bundle_source(f"{tmp_path}/guest.ova") == typed.ToImport(f"{tmp_path}/guest.ova", "package")
    assert typed.bundle_source(f"{tmp_path}/old.cfg") == typed.ToImport(f"{tmp_path}/old.cfg", "xl.cfg")
    assert typed.bundle_source(f"{tmp_path}/web.tar") == tmp_path / "web.tar"
    assert typed.bundle_source(f"{tmp_path}/folder") == typed.LookIn(tmp_path / "folder")
    monkeypatch.setattr("hypervisor.storage.media.is_block_device", lambda path: path.name == "sdb1")
    assert typed.bundle_source("sdb1 exports/Web Server.VMDK") == typed.ToImport("exports/Web Server.VMDK", "image",
                                                                                 "sdb1")
    assert typed.bundle_source("sdb1 web.tar") == typed.OnDevice("sdb1", "web.tar")
    assert typed.ToImport("exports/Web Server.VMDK", "image", "sdb1").default_name == "Web-Server"
    assert typed.ToImport("web.ova", "package").default_name == ""


def test_the_import_questions_read_a_name_a_pool_and_memory_with_vcpus():
    assert typed.appliance_name("", frozenset(), "") == ""            # keeps the OVF's name
    assert typed.appliance_name("web2", frozenset({"web"}), "") == "web2"
    for bad, says in (("", "a name is"), ("../x", "a name is"), ("web", "there is an appliance web already")):
        with pytest.raises(Invalid, match=says):
            typed.appliance_name(bad, frozenset({"web"}), "disk")
    assert typed.pool_name("local") == "local"
    with pytest.raises(Invalid, match="type local"):
        typed.pool_name("a b")
    assert typed.memory_and_vcpus("") == (None, None)
    assert typed.memory_and_vcpus("1024") == (1024, None)
    assert typed.memory_and_vcpus("1024 MiB 2") == (1024, 2)
    for bad in ("0", "1024 0", "lots", "1 2 3"):
        with pytest.raises(Invalid):
            typed.memory_and_vcpus(bad)
