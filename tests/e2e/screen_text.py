"""The text on a screendump of a Linux console (tty1), read cell by cell against the fonts it may be drawn in.

Under SeaBIOS the console is VGA text mode, which QEMU renders from the font its VGA BIOS loads (the IBM VGA
8x16 glyphs, 9 pixels a cell); the reference is that font taken from the VGA BIOS on the test host (SeaBIOS's
vgabios-stdvga.bin: 256 glyphs in code page 437's order, found by its second glyph, the smiley). Under UEFI
it is the kernel's framebuffer console on the GOP, whose font depends on the screen's size: the same VGA 8x16
on a small screen, Terminus 16x32 on a big one (OVMF under QEMU gives 2048x2048); the reference for that one
is Debian's console font of it (console-setup-linux's Uni2-Terminus32x16.psf.gz, a PSF2 font with its
Unicode table), fetched like the other packages the tests use. Each font is tried, and the reading that
recognises the most cells is kept.

Each cell's ink is what differs from the colour most of the cell has, so colours and reverse video do not
matter; a cell is the ASCII glyph nearest to it, or '?' when none is near (the borders Textual draws, and
anything else outside ASCII).
"""
from __future__ import annotations

import gzip
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from debian_package import unpacked
from screen_hash import Screen, read_ppm

VGA_BIOS = Path("/usr/share/seabios/vgabios-stdvga.bin")      # Debian's seabios, which QEMU depends on
SMILEY = bytes.fromhex("00007e81a58181bd9981817e00000000")     # glyph 1 of the IBM VGA 8x16 font
TERMINUS_PACKAGE = "console-setup-linux"
TERMINUS = "usr/share/consolefonts/Uni2-Terminus32x16.psf.gz"
TEXT_MODE = (720, 400)          # VGA text mode as QEMU draws it: 80x25 cells of 9x16
NEAR = 0.1                      # of a cell's pixels: more differ, and it is no glyph of the font
INK = 48                        # gray levels from the cell's own background


@dataclass(frozen=True)
class Font:
    glyphs: dict[str, tuple[int, ...]]      # printable ASCII: a row of `width` bits per pixel row
    width: int
    height: int


def vga_font(bios: Path = VGA_BIOS) -> Font:
    data = bios.read_bytes()
    if data.count(SMILEY) != 1:
        raise ValueError(f"{bios} holds no single IBM VGA 8x16 font")
    start = data.index(SMILEY) - 16
    return Font({chr(code): tuple(data[start + code * 16:start + (code + 1) * 16]) for code in range(0x20, 0x7f)},
                8, 16)


def read_psf2(data: bytes) -> Font:
    """A PSF2 console font's printable ASCII glyphs, found through its Unicode table."""
    if data[:4] != bytes.fromhex("72b54a86"):
        raise ValueError("not a PSF2 font")
    _version, header, flags, count, size, height, width = struct.unpack("<7I", data[4:32])
    row_bytes = (width + 7) // 8
    glyphs = [tuple(int.from_bytes(data[at + r * row_bytes:at + (r + 1) * row_bytes], "big") >> (row_bytes * 8 - width)
                    for r in range(height)) for at in range(header, header + count * size, size)]
    if not flags & 1:
        raise ValueError("the font has no Unicode table")
    found: dict[str, tuple[int, ...]] = {}
    for glyph, entry in zip(glyphs, data[header + count * size:].split(b"\xff")):
        for character in entry.split(b"\xfe")[0].decode("utf-8", "replace"):
            if 0x20 <= ord(character) < 0x7f:
                found.setdefault(character, glyph)
    return Font(found, width, height)


def console_fonts(cache: Path) -> list[Font]:
    return [vga_font(), read_psf2(gzip.decompress(unpacked(TERMINUS_PACKAGE, cache, TERMINUS).read_bytes()))]


def cell_bits(screen: Screen, x0: int, y0: int, font: Font) -> tuple[int, ...] | None:
    """The cell's ink as the font's rows of bits (VGA text mode's ninth column left out); None: nothing drawn."""
    pixels = [[screen.gray[(y0 + y) * screen.width + x0 + x] for x in range(font.width)] for y in range(font.height)]
    background = _most_common([value for line in pixels for value in line])
    rows = tuple(sum(1 << (font.width - 1 - x) for x in range(font.width) if abs(line[x] - background) > INK)
                 for line in pixels)
    return rows if any(rows) else None


def _most_common(values: list[float]) -> int:
    counts: dict[int, int] = {}
    for value in values:
        counts[round(value)] = counts.get(round(value), 0) + 1
    return max(counts, key=counts.__getitem__)


def nearest(bits: tuple[int, ...], font: Font) -> str:
    distance, character = min((sum(bin(a ^ b).count("1") for a, b in zip(bits, glyph)), character)
                              for character, glyph in font.glyphs.items())
    return character if distance <= NEAR * font.width * font.height else "?"


def screen_lines(screen: Screen, font: Font) -> list[str]:
    """The screen's text in `font`, a line per row of cells (trailing blanks dropped)."""
    step = 9 if (screen.width, screen.height) == TEXT_MODE and font.width == 8 else font.width
    lines = []
    for y0 in range(0, screen.height - font.height + 1, font.height):
        cells = [cell_bits(screen, x0, y0, font) for x0 in range(0, screen.width - step + 1, step)]
        lines.append("".join(" " if bits is None else nearest(bits, font) for bits in cells).rstrip())
    return lines


def read_screen(screen: Screen, fonts: list[Font]) -> list[str]:
    """The screen's text in whichever of `fonts` recognises the most cells."""
    def recognised(lines: list[str]) -> int:
        return sum(1 for line in lines for character in line if character not in " ?")
    return max((screen_lines(screen, font) for font in fonts), key=recognised)


def tty1_lines(monitor: Path, picture: Path, fonts: list[Font]) -> list[str]:
    """What tty1 shows now: QEMU's monitor writes its screen to `picture` (a PPM), read back as text."""
    from machine import qemu_monitor
    picture.unlink(missing_ok=True)
    qemu_monitor(monitor, f"screendump {picture}")
    return read_screen(read_ppm(picture.read_bytes()), fonts)


def wait_for_tty1(monitor: Path, picture: Path, pattern: str, cache: Path, timeout: float = 120) -> list[str]:
    """tty1's lines once one of them matches `pattern` (a regex); the last ones read, in the failure, if none."""
    fonts, deadline, lines = console_fonts(cache), time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        lines = tty1_lines(monitor, picture, fonts)
        if any(re.search(pattern, line) for line in lines):
            return lines
        time.sleep(3)
    raise AssertionError(f"tty1 never showed {pattern!r}; it read:\n" + "\n".join(lines))
