"""Unpacking a bundle's tar without letting it write outside the folder it is unpacked into.

The image's Python (Debian's 3.11.2) predates tarfile's `data` filter (PEP 706), so the checks here
stand alone: every member is checked before the first byte is written, and links are made exactly as
the archive says or not at all. The filter is still used where this Python has it.
"""
from __future__ import annotations

import lzma
import os
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from hypervisor.settings.problems import FileProblems, Problem
from hypervisor.storage import human_size

# Python's own guard (PEP 706) where this Python has it: it also drops setuid bits.
_DATA_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
LARGEST_MANIFEST = 256 * 1024   # a manifest is a page of TOML; a tiny .tar.gz could inflate one to GiBs
MOST_MEMBERS = 10_000           # a bundle is a manifest, kernels and disk images, not a file tree
_READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)


class _BundleTar(tarfile.TarFile):
    """A tar whose links are made as the archive says or not at all: where a link cannot be made,
    tarfile copies the member it points to instead, and a link pointing at itself recursed for ever."""
    into = "."

    def makelink(self, tarinfo: tarfile.TarInfo, targetpath: str) -> None:
        if tarinfo.issym():
            if os.path.lexists(targetpath):
                os.unlink(targetpath)
            os.symlink(tarinfo.linkname, targetpath)
        else:
            os.link(os.path.join(self.into, tarinfo.linkname), targetpath)


def unpack_bundle(archive: Path, into: Path, manifest_name: str) -> Path:
    """Unpack into an empty folder (a folder holding links could be walked out of);
    return the folder holding the manifest: the top, or the archive's one folder."""
    source = str(archive)
    try:
        into.mkdir(parents=True, exist_ok=True)
        if any(into.iterdir()):
            raise FileProblems(source, [Problem("bundle", str(into), "must be unpacked into an empty folder")])
        with _BundleTar.open(archive, "r:*") as tar:
            members = checked_members(tar, source, manifest_name)
            _check_room(members, into, source)
            for member in members:      # no setuid bits, no foreign owners, filter or not
                member.mode &= 0o755
                member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
            tar.into = str(into)
            tar.extractall(into, members=members, **_DATA_FILTER)
        return _bundle_root(into, manifest_name, source)
    except _READ_ERRORS as error:
        raise FileProblems(source, [Problem("bundle", None, f"cannot be unpacked: {error}")]) from None


def sketch_bundle(archive: Path, into: Path, manifest_name: str) -> Path:
    """Check an archive as unpack_bundle would, without unpacking its contents: the manifest is
    written out, every other file becomes a sparse file of its size (no bytes copied), so the
    manifest can be checked against the files there are before a multi-GiB bundle is unpacked."""
    source = str(archive)
    try:
        into.mkdir(parents=True, exist_ok=True)
        with _BundleTar.open(archive, "r:*") as tar:
            for member in checked_members(tar, source, manifest_name):
                target = into / member.name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if PurePosixPath(member.name).name == manifest_name:
                        target.write_bytes(tar.extractfile(member).read(LARGEST_MANIFEST + 1))
                    else:
                        with open(target, "wb") as sketch:
                            sketch.truncate(member.size)
        return _bundle_root(into, manifest_name, source)
    except _READ_ERRORS as error:
        raise FileProblems(source, [Problem("bundle", None, f"cannot be read: {error}")]) from None


def checked_members(tar: tarfile.TarFile, source: str, manifest_name: str) -> list[tarfile.TarInfo]:
    """Every member, or FileProblems naming each one that could write outside the bundle, that
    tarfile could not make as it says, or a manifest too big to be one."""
    members, problems = [], []
    for member in tar:          # one at a time: an archive of a million members stops at the limit
        if len(members) == MOST_MEMBERS:
            raise FileProblems(source, [Problem("bundle", None, f"has more than {MOST_MEMBERS} members; a bundle "
                                                               "holds a manifest, kernels and disk images")])
        members.append(member)
    earlier: dict[str, tarfile.TarInfo] = {}
    folders: set[str] = set()           # every folder the members before this one are in
    for member in members:
        problem = _escape(member) or _unmakeable(member, earlier, folders) or _oversized(member, manifest_name)
        if problem:
            problems.append(problem)
        name = _normal(member.name)
        earlier.setdefault(name, member)
        folders.update(str(parent) for parent in PurePosixPath(name).parents)
    if problems:
        raise FileProblems(source, problems)
    return members


def _escape(member: tarfile.TarInfo) -> Problem | None:
    """Why this member could land outside the bundle, if it could."""
    field = f"tar member {member.name!r}"
    if _leaves(member.name):
        return Problem(field, None, "has an absolute path or '..': a bundle's files must stay inside it")
    # A link target with no '..' and no leading '/' can only point further down, even through
    # other such links; a lexical check of '..' could be fooled by a link to '.'.
    if (member.issym() or member.islnk()) and _leaves(member.linkname):
        return Problem(field, member.linkname, "is a link pointing out of the bundle")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return Problem(field, None, "is a device or pipe; a bundle holds only files, folders and links")
    return None


def _unmakeable(member: tarfile.TarInfo, earlier: dict[str, tarfile.TarInfo], folders: set[str]) -> Problem | None:
    """Why this member could not be made as the archive says, given the members before it."""
    field, name = f"tar member {member.name!r}", _normal(member.name)
    if name == "." and not member.isdir():
        return Problem(field, None, "has no name")
    if member.name.endswith("/") and not member.isdir():
        return Problem(field, None, "ends in '/' but is no folder")
    if member.issym() and not member.linkname:
        return Problem(field, None, "is a link to nothing (an empty target)")
    if member.islnk():
        target = earlier.get(_normal(member.linkname))
        if target is None or not target.isfile():
            return Problem(field, member.linkname, "is a hard link to no file earlier in the archive; a hard "
                                                   "link names a file archived before it")
    twin = earlier.get(name)
    if twin is not None and not (twin.isdir() and member.isdir()):
        return Problem(field, None, "is in the archive twice; each file is archived once")
    if not member.isdir() and name in folders:
        return Problem(field, None, "is no folder, but members before it are inside it")
    return None


def _oversized(member: tarfile.TarInfo, manifest_name: str) -> Problem | None:
    if member.isfile() and PurePosixPath(member.name).name == manifest_name and member.size > LARGEST_MANIFEST:
        return Problem(f"tar member {member.name!r}", None, too_big_for_a_manifest(member.size))
    return None


def too_big_for_a_manifest(size: int) -> str:
    return f"is {size:,} bytes; a manifest is at most {LARGEST_MANIFEST:,} bytes ({human_size(LARGEST_MANIFEST)})"


def _check_room(members: list[tarfile.TarInfo], into: Path, source: str) -> None:
    """The members' sizes, as their headers say, against the room where they go: a small archive
    can hold GiBs of zeros, and dom0's /tmp is its memory."""
    needed = sum(member.size for member in members if member.isfile())
    free = shutil.disk_usage(into).free
    if needed > free:
        raise FileProblems(source, [Problem("bundle", None, f"unpacks to {human_size(needed)} and {into} has "
                                                           f"{human_size(free)} free: make room there first")])


def _normal(name: str) -> str:
    return str(PurePosixPath(name))


def _leaves(name: str) -> bool:
    return name.startswith("/") or ".." in PurePosixPath(name).parts


def _bundle_root(into: Path, manifest_name: str, source: str) -> Path:
    if (into / manifest_name).is_file():
        return into
    folders = [entry for entry in into.iterdir() if (entry / manifest_name).is_file()]
    if len(folders) == 1 and len(list(into.iterdir())) == 1:
        return folders[0]
    raise FileProblems(source, [Problem(manifest_name, None, "is neither at the top of the archive nor in its "
                                                              "one folder")])
