"""Property tests: whatever a bundle's tar holds (links to anywhere, names with '..' or '/', devices,
members twice, hard links to nothing), unpacking it either refuses it as a bundle's problem or unpacks
it inside the folder it was given, and nothing is ever written anywhere else.

Run twice: with tarfile's `data` filter where this Python has it, and without, as the image's Python
(Debian's 3.11.2) runs, where XenBox's own checks are all there is.
"""
import io
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, note, settings, strategies as st

from hypervisor.appliances import safe_tar
from hypervisor.appliances.manifest import MANIFEST_NAME
from hypervisor.settings.problems import FileProblems

MANIFEST = b'name = "web"\ntype = "pv"\n[memory]\ninitial_mib = 64\n[boot]\nkernel = "vmlinuz"\n'
HOSTILE = settings(max_examples=250, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

parts = st.sampled_from(["a", "b", "s", "vmlinuz", MANIFEST_NAME, ".", "..", "", "web"])
names = st.builds(lambda lead, pieces, trail: lead + "/".join(pieces) + trail,
                  st.sampled_from(["", "", "/", "./", "../"]), st.lists(parts, min_size=1, max_size=4),
                  st.sampled_from(["", "", "/"]))
KINDS = [tarfile.REGTYPE, tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
         tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE]
members = st.tuples(names, st.sampled_from(KINDS), st.one_of(names, st.just(""), st.sampled_from(["/etc", "."])),
                    st.binary(max_size=16), st.sampled_from([0o644, 0o755, 0o4755, 0o7777]))
# Plausible members too, names and link targets that stay inside, so links are often unpacked, not refused.
inside = st.lists(st.sampled_from(["a", "b", "s", "vmlinuz", "web", "."]), min_size=1, max_size=3).map("/".join)
plausible = st.tuples(inside, st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE]),
                      inside, st.binary(max_size=16), st.just(0o644))


@st.composite
def linked(draw) -> list:
    """Files, then symlinks to anything and hard links to a file before them: mostly unpacked."""
    files = draw(st.lists(st.sampled_from(["a", "b", "d/a", "d/e/b", "vmlinuz2"]), min_size=1, max_size=3, unique=True))
    entries = [(name, tarfile.REGTYPE, "", b"data", 0o644) for name in files]
    for index in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            entries.append((f"link{index}", tarfile.LNKTYPE, draw(st.sampled_from(files)), b"", 0o644))
        else:
            entries.append((draw(st.sampled_from([f"sym{index}", f"d/sym{index}"])), tarfile.SYMTYPE,
                            draw(st.sampled_from(files + ["d", "d/e", ".", "nowhere"])), b"", 0o777))
    return entries


archives = st.tuples(st.booleans(), st.one_of(st.lists(st.one_of(members, plausible), max_size=8), linked()))


def write_tar(path: Path, with_manifest: bool, entries) -> None:
    with tarfile.open(path, "w") as tar:
        listed = ([(MANIFEST_NAME, tarfile.REGTYPE, "", MANIFEST, 0o644), ("vmlinuz", tarfile.REGTYPE, "", b"k", 0o644)]
                  if with_manifest else []) + list(entries)
        for name, kind, linkname, data, mode in listed:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mode = kind, linkname, mode
            if kind == tarfile.REGTYPE:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def tree(root: Path) -> set[str]:
    """Every path under root, links not followed."""
    return {os.path.join(folder, name) for folder, dirs, files in os.walk(root) for name in dirs + files}


def assert_inside(into: Path) -> None:
    for path in map(Path, tree(into)):
        if path.is_symlink():
            target = os.path.realpath(path)
            assert target == str(into) or target.startswith(str(into) + os.sep), (path, target)
        else:
            assert path.resolve().is_relative_to(into)
            assert path.lstat().st_mode & 0o7000 == 0, path           # no setuid, setgid or sticky bits


@pytest.fixture(params=["data filter where there is one", "the image's Python: no filter"])
def filtered(request, monkeypatch):
    if request.param.startswith("the image"):
        monkeypatch.setattr(safe_tar, "_DATA_FILTER", {})


@HOSTILE
@given(archives)
def test_a_hostile_tar_is_refused_or_unpacked_inside_and_never_writes_elsewhere(tmp_path_factory, filtered, archive):
    with_manifest, entries = archive
    note(repr(entries))
    work = tmp_path_factory.mktemp("hostile")
    (work / "outside").mkdir()
    write_tar(work / "b.tar", with_manifest, entries)
    before = tree(work)
    into = work / "unpacked"
    try:
        root = safe_tar.unpack_bundle(work / "b.tar", into, MANIFEST_NAME)
        assert root.resolve().is_relative_to(into) and (root / MANIFEST_NAME).is_file()
        event("unpacked" + (" with links" if any(kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) for _, kind, *_ in entries)
                            else ""))
    except FileProblems as refused:
        assert refused.problems and all(str(problem) for problem in refused.problems)
        event("refused: " + refused.problems[0].message[:40])
    assert {path for path in tree(work) - before if not path.startswith(str(into))} == set()
    assert_inside(into)
    try:
        safe_tar.sketch_bundle(work / "b.tar", work / "sketch", MANIFEST_NAME)
    except FileProblems:
        pass
    assert {path for path in tree(work) - before if not path.startswith((str(into), str(work / "sketch")))} == set()
