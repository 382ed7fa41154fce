"""Bundles: a folder, or a .tar of one, unpacked without ever writing outside the folder it goes into."""
import io
import os
import re
import shutil
import tarfile
from pathlib import Path

import pytest

from hypervisor.appliances.manifest import load_bundle
from hypervisor.settings.problems import FileProblems

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "appliances" / "sample-web"


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def sample_members(prefix: str = "") -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return [(entry(prefix + file.name), file.read_bytes()) for file in sorted(SAMPLE.iterdir())]


def load_problems(path: Path, into: Path | None) -> list[str]:
    with pytest.raises(FileProblems) as raised:
        load_bundle(path, into)
    return [str(problem) for problem in raised.value.problems]


def test_a_bundle_folder():
    manifest = load_bundle(SAMPLE)
    assert (manifest.name, manifest.bundle_dir, manifest.boot.kernel) == ("sample-web", SAMPLE, SAMPLE / "vmlinuz")


@pytest.mark.parametrize("prefix, mode", [("", "w"), ("sample-web/", "w"), ("sample-web/", "w:gz")])
def test_a_tar_with_the_manifest_at_the_top_or_in_one_folder(tmp_path, prefix, mode):
    archive = make_tar(tmp_path / "sample-web.tar", sample_members(prefix), mode)
    manifest = load_bundle(archive, tmp_path / "unpacked")
    assert manifest.bundle_dir == tmp_path / "unpacked" / prefix.rstrip("/")
    assert manifest.disks[0].file == (manifest.bundle_dir / "data.img").resolve()
    assert manifest.disks[0].file.read_text() == (SAMPLE / "data.img").read_text()


def test_links_inside_the_bundle_are_fine(tmp_path):
    members = sample_members() + [(entry("images", tarfile.DIRTYPE), None),
                                  (entry("images/current", tarfile.SYMTYPE, "../data.img"), None)]
    # '..' in a link target is refused even when it would land inside: see test_link_tricks.
    assert "is a link pointing out of the bundle" in load_problems(make_tar(tmp_path / "b.tar", members),
                                                                   tmp_path / "u")[0]
    members[-1] = (entry("kernel", tarfile.SYMTYPE, "vmlinuz"), None)
    members.append((entry("same-data", tarfile.LNKTYPE, "data.img"), None))
    assert load_bundle(make_tar(tmp_path / "c.tar", members), tmp_path / "v").name == "sample-web"


@pytest.mark.parametrize("bad, problem", [
    (entry("/etc/cron.d/evil"), "tar member '/etc/cron.d/evil': has an absolute path or '..'"),
    (entry("../evil"), "tar member '../evil': has an absolute path or '..'"),
    (entry("a/../../evil"), "tar member 'a/../../evil': has an absolute path or '..'"),
    (entry("passwd", tarfile.SYMTYPE, "/etc/passwd"), "tar member 'passwd' = '/etc/passwd': is a link pointing out"),
    (entry("up", tarfile.SYMTYPE, "../../x"), "tar member 'up' = '../../x': is a link pointing out"),
    (entry("hard", tarfile.LNKTYPE, "/etc/shadow"), "tar member 'hard' = '/etc/shadow': is a link pointing out"),
    (entry("tty", tarfile.CHRTYPE), "tar member 'tty': is a device or pipe"),
    (entry("pipe", tarfile.FIFOTYPE), "tar member 'pipe': is a device or pipe"),
])
def test_members_that_could_escape_are_refused_before_anything_is_written(tmp_path, bad, problem):
    data = b"x" if bad.type == tarfile.REGTYPE else None
    archive = make_tar(tmp_path / "evil.tar", sample_members() + [(bad, data)])
    found = load_problems(archive, tmp_path / "unpacked")
    assert found[0].startswith(problem)
    assert list((tmp_path / "unpacked").iterdir()) == []


def test_link_tricks(tmp_path):
    # `here -> .` is harmless alone, but `here/..` then walks out: any '..' in a link is refused.
    archive = make_tar(tmp_path / "trick.tar", sample_members() + [
        (entry("here", tarfile.SYMTYPE, "."), None), (entry("out", tarfile.SYMTYPE, "here/.."), None),
        (entry("out/evil"), b"x")])
    assert load_problems(archive, tmp_path / "u") == [
        "tar member 'out' = 'here/..': is a link pointing out of the bundle"]
    assert not (tmp_path / "evil").exists()


def test_unpacking_needs_an_empty_folder(tmp_path):
    archive = make_tar(tmp_path / "b.tar", sample_members())
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "link").symlink_to("/etc")
    assert load_problems(archive, tmp_path / "busy") == [f"bundle = '{tmp_path}/busy': must be unpacked into an "
                                                         "empty folder"]
    assert load_problems(archive, None) == ["bundle: is no folder; a .tar needs a folder to unpack into"]


def test_broken_archives_and_missing_manifests(tmp_path):
    (tmp_path / "junk.tar").write_bytes(b"\x1f\x8b not really gzip" * 40)
    assert load_problems(tmp_path / "junk.tar", tmp_path / "a")[0].startswith("bundle: cannot be unpacked: ")
    assert load_problems(tmp_path / "nowhere.tar", tmp_path / "b")[0].startswith("bundle: cannot be unpacked: ")
    two = make_tar(tmp_path / "two.tar", sample_members("one/") + sample_members("two/"))
    assert load_problems(two, tmp_path / "c") == [
        "appliance.toml: is neither at the top of the archive nor in its one folder"]
    (tmp_path / "empty-bundle").mkdir()
    assert load_problems(tmp_path / "empty-bundle", None) == ["appliance.toml: cannot be read: No such file or "
                                                              "directory"]


def test_a_manifest_that_is_not_utf8_is_a_manifest_error(tmp_path):
    (tmp_path / "appliance.toml").write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(FileProblems, match="line 1 = b'\\\\xe9': is not UTF-8 text"):
        load_bundle(tmp_path)


def test_setuid_bits_do_not_survive_unpacking(tmp_path):
    members = sample_members()
    members[0][0].mode = 0o4777
    manifest = load_bundle(make_tar(tmp_path / "b.tar", members), tmp_path / "u")
    assert (manifest.bundle_dir / members[0][0].name).stat().st_mode & 0o7777 == 0o755


@pytest.mark.parametrize("bad, problem", [
    (entry("h", tarfile.LNKTYPE, "missing"), "tar member 'h' = 'missing': is a hard link to no file earlier"),
    (entry("h", tarfile.LNKTYPE, "h"), "tar member 'h' = 'h': is a hard link to no file earlier"),
    (entry("s/", tarfile.SYMTYPE, ""), "tar member 's/': ends in '/' but is no folder"),
    (entry("s", tarfile.SYMTYPE, ""), "tar member 's': is a link to nothing (an empty target)"),
    (entry("appliance.toml", tarfile.SYMTYPE, "vmlinuz"), "tar member 'appliance.toml': is in the archive twice"),
    (entry(".", tarfile.REGTYPE), "tar member '.': has no name"),
])
def test_links_tarfile_could_not_make_are_refused_by_name_before_anything_is_written(tmp_path, bad, problem):
    """Python 3.11.2 (the image's) raised KeyError for the first and RecursionError for the third."""
    archive = make_tar(tmp_path / "odd.tar", sample_members() + [(bad, b"x" if bad.type == tarfile.REGTYPE else None)])
    assert load_problems(archive, tmp_path / "unpacked")[0].startswith(problem)
    assert list((tmp_path / "unpacked").iterdir()) == []


def test_a_manifest_inflated_from_a_tiny_archive_is_refused_with_its_size_and_the_cap(tmp_path):
    members = sample_members()
    huge = 64 * 1024 * 1024
    members[0] = (entry("appliance.toml"), b'name = "web"\n' + b"#" * huge)
    archive = make_tar(tmp_path / "bomb.tar.gz", members, "w:gz")
    assert archive.stat().st_size < 1024 * 1024
    expected = (f"tar member 'appliance.toml': is {huge + 13:,} bytes; a manifest is at most 262,144 bytes "
                "(256 KiB)")
    assert load_problems(archive, tmp_path / "u") == [expected]
    from hypervisor.appliances.safe_tar import sketch_bundle
    with pytest.raises(FileProblems, match=re.escape(expected)):
        sketch_bundle(archive, tmp_path / "sketch", "appliance.toml")


def test_a_manifest_in_a_folder_is_read_no_further_than_the_cap(tmp_path):
    (tmp_path / "vmlinuz").write_bytes(b"k")
    (tmp_path / "appliance.toml").write_bytes(b'name = "web"\n' + b"#" * 262_144)
    assert load_problems(tmp_path, None) == ["appliance.toml: is 262,157 bytes; a manifest is at most 262,144 bytes "
                                             "(256 KiB)"]
    (tmp_path / "appliance.toml").unlink()
    os.mkfifo(tmp_path / "appliance.toml")        # read, it would wait for a writer for ever
    assert load_problems(tmp_path, None) == ["appliance.toml: is not a file (a device, a pipe or a folder)"]


def test_an_archive_of_too_many_members_or_bigger_than_its_room_is_refused(tmp_path, monkeypatch):
    from hypervisor.appliances import safe_tar
    monkeypatch.setattr(safe_tar, "MOST_MEMBERS", 5)
    many = make_tar(tmp_path / "many.tar", sample_members() + [(entry(f"f{n}"), b"") for n in range(5)])
    assert load_problems(many, tmp_path / "a") == ["bundle: has more than 5 members; a bundle holds a manifest, "
                                                   "kernels and disk images"]
    monkeypatch.setattr(safe_tar, "MOST_MEMBERS", 10_000)
    monkeypatch.setattr(safe_tar.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(1 << 30, 1 << 30, 100))
    problem, = load_problems(make_tar(tmp_path / "big.tar", sample_members()), tmp_path / "b")
    assert re.fullmatch(rf"bundle: unpacks to [\d.]+ [KM]?i?B and {tmp_path}/b has 100 B free: make room there first",
                        problem), problem
