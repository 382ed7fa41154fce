"""Turn a guest's raw console output into plain text that is safe to draw.

A guest's console log holds whatever the guest sent its terminal: colour codes,
cursor moves, queries such as ESC[6n (which make a real terminal answer, as if
typed). None of it may reach our terminal, so every escape sequence and control
character is removed; tabs and line ends stay.
"""
from __future__ import annotations

import re
from pathlib import Path

# ST (string terminator) is ESC backslash. No comment below may end in a backslash:
# in a verbose pattern it would carry the comment over the next line.
ESCAPES = re.compile(r"""
      \x1b\[ [0-?]* [ -/]* [@-~]          # CSI: ESC [ parameters intermediates final (ESC[6n, ESC[1;31m)
    | \x1b\] [^\x07\x1b]* (?:\x07|\x1b\\)? # OSC: ESC ] ... then BEL or ST (window titles)
    | \x1b [PX^_] [^\x1b]* (?:\x1b\\)?     # DCS, SOS, PM, APC strings, up to ST
    | \x1b [ -/]* [0-~]                    # short escapes: ESC 7, ESC c, ESC ( B
    | \x1b                                 # a lone ESC cut off at the end
    | \x9b [0-?]* [ -/]* [@-~]             # the 8-bit CSI
    | [\x80-\x9f]                          # other 8-bit controls
""", re.VERBOSE)
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")     # all C0 but tab and newline
LINE_END = re.compile(r"\r+\n")


def strip_escapes(text: str) -> str:
    text = LINE_END.sub("\n", ESCAPES.sub("", text))
    # A lone carriage return redraws the line (progress bars): keep what was drawn last.
    lines = [line.rsplit("\r", 1)[-1] or line.replace("\r", "") if "\r" in line else line
             for line in text.split("\n")]
    return CONTROLS.sub("", "\n".join(lines)).expandtabs()


def last_lines(path: Path, count: int = 500, chunk: int = 256 * 1024) -> str:
    """The last `count` lines of a file, reading at most `chunk` bytes from its end; escapes stripped."""
    with path.open("rb") as file:
        size = file.seek(0, 2)
        start = max(0, size - chunk)
        file.seek(start)
        data = file.read()
    lines = data.decode("utf-8", errors="replace").split("\n")
    if start > 0:
        lines = lines[1:]           # the first line was cut in the middle
    if lines and lines[-1] == "":
        lines.pop()
    return strip_escapes("\n".join(lines[-count:]))
