"""Draws the home page's example images (web/public/examples/*.webp) with PIL: small scenes
in the spirit of prompts people type, made here (nothing downloaded). Run again to remake:
`.venv/bin/python web/scripts/make-examples.py`."""

from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "public" / "examples"
SIZE = 256


def _sky(
    draw: ImageDraw.ImageDraw, top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> None:
    for y in range(SIZE):
        f = y / (SIZE - 1)
        draw.line(
            [(0, y), (SIZE, y)],
            fill=tuple(int(a + (b - a) * f) for a, b in zip(top, bottom, strict=True)),
        )


def lighthouse() -> Image.Image:
    """A lighthouse at dawn."""
    image = Image.new("RGB", (SIZE, SIZE))
    draw = ImageDraw.Draw(image)
    _sky(draw, (255, 183, 132), (120, 150, 210))
    draw.ellipse([150, 120, 210, 180], fill=(255, 226, 160))
    draw.rectangle([0, 190, SIZE, SIZE], fill=(40, 70, 120))
    draw.polygon([(60, 200), (80, 80), (100, 80), (120, 200)], fill=(245, 245, 240))
    for y in (110, 150):
        draw.rectangle([72, y, 108, y + 14], fill=(200, 50, 50))
    draw.rectangle([76, 64, 104, 82], fill=(255, 240, 150))
    draw.polygon([(72, 64), (90, 48), (108, 64)], fill=(60, 60, 70))
    return image.filter(ImageFilter.SMOOTH_MORE)


def hanok_snow() -> Image.Image:
    """First snow in a hanok courtyard."""
    rng = random.Random(18)
    image = Image.new("RGB", (SIZE, SIZE))
    draw = ImageDraw.Draw(image)
    _sky(draw, (70, 80, 110), (170, 180, 200))
    draw.rectangle([0, 200, SIZE, SIZE], fill=(235, 238, 245))
    draw.rectangle([50, 140, 206, 200], fill=(120, 80, 60))
    for x in range(62, 200, 24):
        draw.rectangle([x, 150, x + 14, 190], fill=(230, 215, 180))
    draw.polygon([(20, 145), (60, 110), (196, 110), (236, 145)], fill=(50, 55, 65))
    draw.arc([10, 120, 70, 170], 180, 270, fill=(50, 55, 65), width=6)
    draw.arc([186, 120, 246, 170], 270, 360, fill=(50, 55, 65), width=6)
    for _ in range(140):
        x, y, r = rng.randrange(SIZE), rng.randrange(SIZE), rng.choice((1, 1, 2))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 255))
    return image


def penguin_aurora() -> Image.Image:
    """A penguin under the aurora."""
    image = Image.new("RGB", (SIZE, SIZE))
    draw = ImageDraw.Draw(image)
    _sky(draw, (10, 20, 50), (30, 60, 90))
    for band, color in enumerate(((80, 220, 160), (120, 120, 230))):
        points = [(x, 60 + band * 30 + 18 * math.sin(x / 30 + band)) for x in range(0, SIZE + 8, 8)]
        draw.line(points, fill=color, width=14)
    image = image.filter(ImageFilter.GaussianBlur(4))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 200, SIZE, SIZE], fill=(220, 235, 245))
    draw.ellipse([98, 120, 158, 210], fill=(25, 25, 30))
    draw.ellipse([110, 140, 146, 206], fill=(245, 245, 245))
    draw.ellipse([108, 96, 148, 136], fill=(25, 25, 30))
    draw.ellipse([118, 108, 124, 114], fill=(255, 255, 255))
    draw.ellipse([132, 108, 138, 114], fill=(255, 255, 255))
    draw.polygon([(124, 120), (132, 120), (128, 128)], fill=(250, 170, 40))
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, draw in (
        ("lighthouse", lighthouse),
        ("hanok-snow", hanok_snow),
        ("penguin-aurora", penguin_aurora),
    ):
        draw().save(OUT / f"{name}.webp", "WEBP", quality=80, method=6)
        print(f"wrote {OUT / name}.webp")


if __name__ == "__main__":
    main()
