"""tty1's text read from a screendump (tests/e2e/screen_text.py), as tests/e2e/test_uefi_and_pv_only.py reads
the console there: real QEMU screendumps (GRUB's menu in VGA text mode; XenBox's console on OVMF's 2048x2048 GOP
framebuffer, where the kernel draws Terminus 16x32), and 8x16 framebuffer cells drawn here in colour and reverse
video. The Terminus font comes from Debian's console-setup-linux, fetched into images/cache as the e2e tests do."""
import gzip
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from screen_hash import Screen, read_ppm    # noqa: E402
from screen_text import console_fonts, read_screen, screen_lines, vga_font    # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "display"
GRUB = FIXTURES / "grub-rescue-qemu.pgm.gz"         # Debian's grub-rescue-cdrom.iso under plain QEMU (std VGA)
OVMF = FIXTURES / "tty1-ovmf-2048.pgm.gz"           # XenBox's tty1 under OVMF, first-boot step 1 (Dec 2026)


@pytest.fixture(scope="module")
def fonts():
    return console_fonts(REPO / "images" / "cache")


def picture(path: Path) -> Screen:
    return read_ppm(gzip.decompress(path.read_bytes()))


def framebuffer(lines: list[str], font, width: int = 800, height: int = 600, reverse_row: int = 1) -> Screen:
    """fbcon's way: 8x16 cells from the top left, light gray on blue, one row in reverse video."""
    paper, ink = 40.0, 200.0
    gray = [paper] * (width * height)
    for row, text in enumerate(lines):
        for column, character in enumerate(text):
            glyph = font.glyphs[character]
            for y in range(16):
                for x in range(8):
                    lit = bool(glyph[y] >> (7 - x) & 1) != (row == reverse_row)
                    gray[(row * 16 + y) * width + column * 8 + x] = ink if lit else paper
    return Screen(width, height, tuple(gray))


def test_a_real_text_mode_screendump_reads_as_its_text(fonts):
    lines = read_screen(picture(GRUB), fonts)
    assert len(lines) == 25
    assert lines[1].strip() == "GNU GRUB  version 2.06-13+deb12u2"
    assert lines[4].endswith("*GNU/Linux" + " " * 66 + "?")         # the highlighted entry: reverse video
    assert "Microsoft Windows" in lines[10]
    assert lines[22].strip() == "The highlighted entry will be executed automatically in 24s."


def test_the_console_on_ovmfs_big_framebuffer_reads_in_terminus(fonts):
    lines = read_screen(picture(OVMF), fonts)
    assert len(lines) == 64                                           # 2048 / 32
    assert lines[1] == " Step 1 of 5:  [Host] > Network > Data store > Password > Review"
    assert lines[7] == "  HVM: available (AMD-V)"
    assert "HVM: available" not in "\n".join(screen_lines(picture(OVMF), fonts[0]))     # not in VGA 8x16


def test_framebuffer_cells_in_colour_and_reverse_video_read_back():
    font = vga_font()
    shown = ["XenBox  console on tty1", "HVM: available (AMD-V)", "", "Domains  Name   ID  Mem(MiB)"]
    lines = screen_lines(framebuffer(shown, font), font)
    assert lines[:4] == shown
    assert lines[4:] == [""] * 33


def test_a_blank_screen_has_no_text(fonts):
    assert read_screen(Screen(720, 400, (0.0,) * (720 * 400)), fonts) == [""] * 25
