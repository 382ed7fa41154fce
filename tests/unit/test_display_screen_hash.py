"""The comparison tests/e2e/test_guest_screen.py makes between a guest's screen and plain QEMU's: alike
screens pass, and a blank one, or one showing something else, fails."""
import gzip
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from screen_hash import Screen, alike, distance, pgm, read_ppm    # noqa: E402


# Debian's grub-rescue-cdrom.iso (2.06-13+deb12u2) under plain QEMU (std VGA, text mode), read with its
# monitor's screendump, as tests/e2e/test_guest_screen.py reads it (and writes it to its log).
GRUB = REPO / "tests" / "fixtures" / "display" / "grub-rescue-qemu.pgm.gz"


def text_screen(lines: list[tuple[int, int]], width: int = 720, height: int = 400, ink: float = 170.0,
                paper: float = 0.0) -> Screen:
    """A text-mode screen: on each (row, length) a line of 9x16 character cells, each with a glyph-like block."""
    gray = [paper] * (width * height)
    for row, length in lines:
        for column in range(length):
            for y in range(row * 16 + 3, row * 16 + 13):
                for x in range(column * 9 + 1, column * 9 + 7):
                    if (x + y + column) % 3:
                        gray[y * width + x] = ink
    return Screen(width, height, tuple(gray))


def blank(width: int = 720, height: int = 400, level: float = 0.0) -> Screen:
    return Screen(width, height, (level,) * (width * height))


def scaled(screen: Screen, width: int, height: int) -> Screen:
    return Screen(width, height, tuple(screen.gray[(y * screen.height // height) * screen.width + x * screen.width // width]
                                       for y in range(height) for x in range(width)))


GRUB_LIKE = [(0, 40), (2, 78), (3, 60), (4, 70), (6, 5)]


def test_a_screen_is_alike_itself_and_another_cards_rendering_of_it():
    screen = text_screen(GRUB_LIKE)
    assert alike(screen, screen)[0]
    dimmer = text_screen(GRUB_LIKE, ink=120.0, paper=10.0)          # another palette
    assert alike(dimmer, screen)[0], alike(dimmer, screen)[1]
    assert alike(scaled(screen, 640, 480), screen)[0]               # another resolution


@pytest.mark.parametrize("level", [0.0, 128.0, 255.0])
def test_a_blank_screen_never_matches(level):
    same, why = alike(blank(level=level), text_screen(GRUB_LIKE))
    assert not same and "blank" in why


def test_a_screen_showing_something_else_does_not_match():
    grub = text_screen(GRUB_LIKE)
    other = text_screen([(20, 30), (22, 60), (24, 80)])             # text at the bottom instead
    same, why = alike(other, grub)
    assert not same and "differ" in why, why
    assert distance(other, grub) > 10


def test_the_real_reference_screen_against_blank_and_itself():
    reference = read_ppm(gzip.decompress(GRUB.read_bytes()))
    assert (reference.width, reference.height) == (720, 400)
    assert alike(reference, reference)[0]
    assert alike(scaled(reference, 640, 480), reference)[0]
    for level in (0.0, 170.0):
        assert not alike(blank(level=level), reference)[0]
    assert not alike(text_screen([(20, 30), (22, 60), (24, 80)]), reference)[0]


def test_pgm_round_trip():
    screen = text_screen([(1, 3)], 40, 40)
    assert read_ppm(pgm(screen)) == screen
    with pytest.raises(ValueError, match="cut short"):
        read_ppm(pgm(screen)[:-10])
