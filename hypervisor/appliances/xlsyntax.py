"""The xl.cfg language itself (xl.cfg(5), xl-disk-configuration(5), xl-network-configuration(5)).

Read as libxlu reads it: `key = value` or `key += value`, ended by a newline or `;`;
values are "strings" or 'strings' with C escapes, numbers, or [lists] that may span lines.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from hypervisor.settings.problems import FileProblems, Problem

XlValue = str | int | list

_TOKEN = re.compile(r"""
    (?P<space>[ \t\r]+) | (?P<comment>\#[^\n]*) | (?P<newline>\n)
  | (?P<ident>[a-z][_0-9a-z]*) | (?P<number>[0-9][0-9a-fx]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<op>\+=|[=,;\[\]])
""", re.X)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)", re.S)
_SIMPLE_ESCAPES = dict(zip("\"'\\abfnrtv", "\"'\\\a\b\f\n\r\t\v"))
_MAX_NESTING = 8        # xl's deepest real use is a list of lists (vnuma)


class _Unreadable(Exception):
    def __init__(self, line: int, text: str, message: str) -> None:
        self.problem = Problem(f"line {line}", text, message)


def parse_xl_cfg(text: str, source: str = "xl.cfg") -> dict[str, XlValue]:
    """Settings by name; a later setting wins, as in xl. Every bad statement is reported."""
    settings: dict[str, XlValue] = {}
    problems: list[Problem] = []
    for statement in _statements(text, problems):
        try:
            _assign(settings, statement)
        except _Unreadable as unreadable:
            problems.append(unreadable.problem)
    if problems:
        raise FileProblems(source, sorted(problems, key=lambda problem: int(problem.field.split()[1])))
    return settings


def _statements(text: str, problems: list[Problem]) -> list[list[tuple[str, str, int]]]:
    """Tokens (kind, text, line) split at newlines and ';' outside brackets: a list may span lines.
    Like xl, a character it cannot read costs the rest of its line, and its statement."""
    statements, statement, depth, line, position = [], [], 0, 1, 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            problems.append(Problem(f"line {line}", text[position], "is not part of xl.cfg syntax"))
            end = text.find("\n", position)
            position, statement, depth = (end if end >= 0 else len(text)), [], 0
            continue
        kind, value, position = match.lastgroup, match[0], match.end()
        if kind == "op":
            depth = max(0, depth + {"[": 1, "]": -1}.get(value, 0))
        if depth == 0 and (kind == "newline" or (kind, value) == ("op", ";")):
            statements.append(statement)
            statement = []
        elif kind not in ("space", "comment", "newline"):
            statement.append((kind, value, line))
        line += kind == "newline"
    if depth > 0:
        problems.append(Problem(f"line {statement[0][2]}", None, "has a '[' that is never closed"))
    return [statement for statement in statements + [[] if depth else statement] if statement]


def _assign(settings: dict[str, XlValue], statement: list[tuple[str, str, int]]) -> None:
    line = statement[0][2]
    if len(statement) < 3 or statement[0][0] != "ident" or statement[1][1] not in ("=", "+="):
        raise _Unreadable(line, " ".join(t[1] for t in statement), "expected `name = value`")
    name, operator = statement[0][1], statement[1][1]
    value, rest = _value(statement[2:], line)
    if rest:
        raise _Unreadable(line, rest[0][1], "unexpected after the value")
    previous = settings.get(name)
    if operator == "+=" and previous is not None:
        if type(previous) is not type(value) or isinstance(value, int):
            raise _Unreadable(line, name, "+= needs two strings or two lists")
        value = previous + value
    settings[name] = value


def _value(tokens: list[tuple[str, str, int]], line: int, depth: int = 0) -> tuple[XlValue, list]:
    kind, text, _ = tokens[0]
    if kind == "string":
        return _dequote(text, line), tokens[1:]
    if kind == "number":
        return _number(text, line), tokens[1:]
    if text != "[":
        raise _Unreadable(line, text, "expected a string, a number or a [list]")
    if depth == _MAX_NESTING:
        raise _Unreadable(line, text, "lists nested too deeply")
    items, rest = [], tokens[1:]
    while rest and rest[0][1] != "]":
        item, rest = _value(rest, line, depth + 1)
        items.append(item)
        if rest and rest[0][1] == ",":
            rest = rest[1:]
        elif rest and rest[0][1] != "]":
            raise _Unreadable(line, rest[0][1], "expected ',' or ']' in the list")
    if not rest:
        raise _Unreadable(line, None, "has a '[' that is never closed")
    return items, rest[1:]


def _number(text: str, line: int) -> int:
    """As C's strtol with base 0, which xl uses: 0x1f is hex, 017 is octal."""
    try:
        if text[:2] == "0x":
            return int(text[2:], 16)
        return int(text, 8 if text.startswith("0") else 10)
    except ValueError:
        raise _Unreadable(line, text, "is not a number") from None


def _dequote(text: str, line: int) -> str:
    def unescape(match: re.Match) -> str:
        code = match[1]
        if code in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[code]
        if code[0] == "x" and len(code) == 3:
            return chr(int(code[1:], 16))
        if code[0] in "01234567":
            return chr(int(code, 8))
        raise _Unreadable(line, text, f"has an invalid escape \\{code}")
    return _ESCAPE.sub(unescape, text[1:-1])


def quote(text: str, mark: str = '"') -> str:
    """An xl.cfg string literal. Control characters are refused rather than escaped:
    no path, name or kernel command line needs one."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValueError(f"{text!r}: control characters do not belong in an xl.cfg")
    return mark + text.replace("\\", "\\\\").replace(mark, "\\" + mark) + mark


@dataclass(frozen=True)
class DiskSpec:
    target: str | None       # None: an empty CD-ROM drive, or a mistake
    format: str
    vdev: str | None
    access: str              # "rw" or "ro" once recognised; as written otherwise
    cdrom: bool
    others: tuple[str, ...] = field(default=())   # parameters XenBox has no place for, as written


_FORMAT_PREFIXES = ("raw", "qcow", "qcow2", "vhd")
_SCRIPT_PREFIXES = ("iscsi", "nbd", "enbd", "drbd")
_PREFIXES = re.compile(r"(?:(?:raw|qcow2?|vhd|iscsi|nbd|enbd|drbd|tapdisk|tap2|tap|aio|ioemu|file|phy):)*")
_ACCESS = {"r": "ro", "ro": "ro", "w": "rw", "rw": "rw"}
_POSITIONAL = ("target", "format", "vdev", "access")
_FLAGS = ("direct-io-safe", "discard", "no-discard", "colo", "trusted", "untrusted")


def parse_disk_spec(spec: str) -> DiskSpec:
    """One DISKSPEC: named, flag and positional parameters, and xend's deprecated forms
    (`phy:/dev/vg/lv,xvda,w`, `,hdc:cdrom,r`). `target=` takes the rest of the string."""
    found: dict[str, str] = {}
    others: list[str] = []
    named_target = re.search(r"(?:^|,)[ \t]*target=", spec)
    params = spec[:named_target.start() if named_target else None].split(",")
    deprecated_form = False
    for param in params[:-1] if len(params) > 1 and not params[-1].strip() else params:    # a trailing comma
        param = param.lstrip(" \t")
        key, equals, value = param.partition("=")
        if equals and key in (*_POSITIONAL, "devtype"):
            found[key] = value
        elif equals or param in _FLAGS:
            others.append(param)        # backendtype=, script=, discard, ...
        elif param == "cdrom":
            found["devtype"] = "cdrom"
        elif "target" not in found:
            prefixes = _PREFIXES.match(param)[0]
            found["target"], deprecated_form = param[len(prefixes):], bool(prefixes)
            for prefix in prefixes.split(":")[:-1]:
                found.update({"format": prefix} if prefix in _FORMAT_PREFIXES else {})
                others += [f"script=block-{prefix}"] if prefix in _SCRIPT_PREFIXES else []
        elif "format" not in found and not deprecated_form and ":" not in param:
            found["format"] = param
        elif "vdev" not in found:
            found.setdefault("format", "")      # xend's empty CD-ROM `,hdc:cdrom,r` has none
            found["vdev"], _, devtype = param.partition(":")
            found.update({"devtype": devtype} if devtype else {})
        elif "access" not in found:
            found["access"] = param
        else:
            others.append(param)
    if named_target:
        found["target"] = spec[named_target.end():]
    cdrom = found.get("devtype") == "cdrom"
    others += [f"devtype={found['devtype']}"] if found.get("devtype") not in (None, "cdrom") else []
    access = found.get("access") or ("ro" if cdrom else "rw")
    return DiskSpec(found.get("target") or None, found.get("format") or "raw", found.get("vdev") or None,
                    _ACCESS.get(access, access), cdrom, tuple(others))


def parse_vif_spec(spec: str) -> dict[str, str]:
    """One VIFSPEC: `key=value` pairs, comma-separated; '' is a card with every default."""
    pairs = [part.strip().partition("=") for part in spec.split(",") if part.strip()]
    return {key.strip(): value.strip() for key, _, value in pairs}
