"""Two screens compared as a person would: a perceptual hash (pHash) of each, pure Python.

Each screen is made grayscale and shrunk to 32x32 by averaging, then the lowest 8x8 frequencies of its
2-D DCT (the first, the mean brightness, left out) are each compared with their median: 63 bits that keep
the layout of light and dark and drop detail, scaling and colour. Two screens alike are a few bits apart;
unrelated ones about half. A screen with nothing on it is never "alike": it has no layout to compare.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

SIZE, LOW = 32, 8
ALIKE_BITS = 10             # of 63: a screen and the same screen from another VGA card (cirrus, std)
BLANK_SPREAD = 8.0          # gray levels: a screen whose brightness varies less holds nothing


@dataclass(frozen=True)
class Screen:
    width: int
    height: int
    gray: tuple[float, ...]     # row by row, 0-255


def from_rgb(width: int, height: int, rgb: bytes) -> Screen:
    if len(rgb) < 3 * width * height:
        raise ValueError("the picture is cut short")
    pixels = memoryview(rgb)
    gray = tuple(0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2]
                 for i in range(0, 3 * width * height, 3))
    return Screen(width, height, gray)


def read_ppm(data: bytes) -> Screen:
    """A binary PPM (P6, maxval 255), as QEMU's `screendump` writes it."""
    fields, at = [], 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.index(b"\n", at)
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[at:end])
        at = end
    magic, width, height, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    if magic not in (b"P6", b"P5") or maxval != 255:
        raise ValueError(f"not a P6 PPM or P5 PGM with maxval 255: {magic!r} {maxval}")
    if magic == b"P5":
        gray = data[at + 1:at + 1 + width * height]
        if len(gray) < width * height:
            raise ValueError("the picture is cut short")
        return Screen(width, height, tuple(float(value) for value in gray))
    return from_rgb(width, height, data[at + 1:at + 1 + 3 * width * height])


def pgm(screen: Screen) -> bytes:
    """The screen as a grayscale PGM (P5), for the test log and fixtures."""
    return f"P5\n{screen.width} {screen.height}\n255\n".encode() + bytes(round(v) for v in screen.gray)


def shrunk(screen: Screen, size: int = SIZE) -> list[list[float]]:
    """size x size, each cell the mean of the pixels it covers."""
    cells = []
    for row in range(size):
        top, bottom = row * screen.height // size, max((row + 1) * screen.height // size, row * screen.height // size + 1)
        line = []
        for column in range(size):
            left = column * screen.width // size
            right = max((column + 1) * screen.width // size, left + 1)
            total = sum(screen.gray[y * screen.width + x] for y in range(top, bottom) for x in range(left, right))
            line.append(total / ((bottom - top) * (right - left)))
        cells.append(line)
    return cells


def _dct_1d(values: list[float], keep: int) -> list[float]:
    n = len(values)
    return [sum(value * math.cos(math.pi * (2 * i + 1) * k / (2 * n)) for i, value in enumerate(values))
            for k in range(keep)]


def spread(screen: Screen) -> float:
    """The standard deviation of brightness over the shrunk screen."""
    values = [v for line in shrunk(screen) for v in line]
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def phash(screen: Screen) -> int:
    cells = shrunk(screen)
    rows = [_dct_1d(line, LOW) for line in cells]                              # along each row
    columns = [_dct_1d([row[k] for row in rows], LOW) for k in range(LOW)]     # then down each column
    coefficients = [columns[u][v] for v in range(LOW) for u in range(LOW)][1:]  # without the mean
    median = sorted(coefficients)[len(coefficients) // 2]
    bits = 0
    for value in coefficients:
        bits = (bits << 1) | (value > median)
    return bits


def distance(a: Screen, b: Screen) -> int:
    return bin(phash(a) ^ phash(b)).count("1")


def alike(seen: Screen, reference: Screen) -> tuple[bool, str]:
    """Whether `seen` shows what `reference` does, and why not."""
    if spread(seen) < BLANK_SPREAD:
        return False, f"the screen is blank (brightness spread {spread(seen):.1f} < {BLANK_SPREAD})"
    bits = distance(seen, reference)
    if bits > ALIKE_BITS:
        return False, f"the screens differ: {bits} of 63 hash bits (at most {ALIKE_BITS} for alike)"
    return True, f"alike: {bits} of 63 hash bits differ"
