"""Unpacking a bundle's tar without letting it write outside the folder it is unpacked into."""
from __future__ import annotations

import lzma
import os
import tarfile
import zlib
from pathlib import Path, PurePosixPath

from hypervisor.settings.problems import FileProblems, Problem

# Python's own guard (PEP 706) where this Python has it: it also drops setuid bits.
_DATA_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def unpack_bundle(archive: Path, into: Path, manifest_name: str) -> Path:
    """Unpack into an empty folder (a folder holding links could be walked out of);
    return the folder holding the manifest: the top, or the archive's one folder."""
    source = str(archive)
    try:
        into.mkdir(parents=True, exist_ok=True)
        if any(into.iterdir()):
            raise FileProblems(source, [Problem("bundle", str(into), "must be unpacked into an empty folder")])
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            problems = [problem for member in members if (problem := _escape(member))]
            if problems:
                raise FileProblems(source, problems)
            for member in members:      # no setuid bits, no foreign owners, filter or not
                member.mode &= 0o755
                member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
            tar.extractall(into, members=members, **_DATA_FILTER)
        return _bundle_root(into, manifest_name, source)
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as error:
        raise FileProblems(source, [Problem("bundle", None, f"cannot be unpacked: {error}")]) from None


def sketch_bundle(archive: Path, into: Path, manifest_name: str) -> Path:
    """Check an archive as unpack_bundle would, without unpacking its contents: the manifest is
    written out, every other file becomes a sparse file of its size (no bytes copied), so the
    manifest can be checked against the files there are before a multi-GiB bundle is unpacked."""
    source = str(archive)
    try:
        into.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            problems = [problem for member in members if (problem := _escape(member))]
            if problems:
                raise FileProblems(source, problems)
            for member in members:
                target = into / member.name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                elif member.isfile():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if PurePosixPath(member.name).name == manifest_name:
                        target.write_bytes(tar.extractfile(member).read())
                    else:
                        with open(target, "wb") as sketch:
                            sketch.truncate(member.size)
        return _bundle_root(into, manifest_name, source)
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as error:
        raise FileProblems(source, [Problem("bundle", None, f"cannot be read: {error}")]) from None


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
