"""The procedural logo: an app's initials on a rounded square or circle in its theme colours.

The mark is drawn three times too large and scaled down, which anti-aliases the outline and the
letters. Outside the shape the PNG is transparent, so the same file works as a favicon and as a
logo on any page background.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from appforge.generators.image.palette import BLACK, Palette, mix, to_rgb8

#: Bold sans-serif fonts in the places Debian, Fedora, Arch, macOS and Windows keep them.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
    "C:/Windows/Fonts/arialbd.ttf",
)
_SUPERSAMPLE = 3
_SMALL_WORDS = frozenset({"a", "an", "and", "the", "of", "for", "to", "in", "on", "my", "your"})


def initials(title: str) -> str:
    """``"Tide Tracker"`` -> ``"TT"``, ``"Sprout"`` -> ``"S"``, ``"the Bread Club"`` -> ``"BC"``."""
    words = re.findall(r"[^\W_]+", title)
    meaningful = [w for w in words if w.lower() not in _SMALL_WORDS] or words
    letters = "".join(w[0] for w in meaningful[:2]).upper()
    return letters or "A"


@lru_cache(maxsize=1)
def bold_font_path() -> str | None:
    """The first bold TrueType font found on this machine, or None."""
    return next((path for path in FONT_CANDIDATES if Path(path).is_file()), None)


def render_logo(size: int, title: str, palette: Palette, rng: np.random.Generator) -> Image.Image:
    """An RGBA ``size`` x ``size`` mark; the seed picks the shape and where the accent sits."""
    big = size * _SUPERSAMPLE
    fill = _diagonal(big, palette.primary, mix(palette.primary, BLACK, 0.22))
    draw = ImageDraw.Draw(fill)

    # The accent is either a circle peeking in from a corner (clipped by the shape's mask below)
    # or a full stop after the initials.
    dot = rng.random() < 0.5
    if not dot:
        corner = int(rng.integers(0, 4))
        cx = big * (0.92 if corner in (1, 2) else 0.08)
        cy = big * (0.92 if corner in (2, 3) else 0.08)
        r = big * float(rng.uniform(0.26, 0.34))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=to_rgb8(palette.accent))
    _draw_initials(draw, big, initials(title), palette, dot)

    mask = Image.new("L", (big, big), 0)
    shape = ImageDraw.Draw(mask)
    inset = big * 0.02
    if rng.random() < 0.65:
        shape.rounded_rectangle(
            (inset, inset, big - inset, big - inset), radius=big * 0.23, fill=255
        )
    else:
        shape.ellipse((inset, inset, big - inset, big - inset), fill=255)

    # Scale colour and coverage separately: the colour is defined everywhere, so no dark fringe
    # creeps in at the anti-aliased edge.
    logo = fill.resize((size, size), Image.Resampling.LANCZOS).convert("RGBA")
    logo.putalpha(mask.resize((size, size), Image.Resampling.LANCZOS))
    return logo


def _draw_initials(
    draw: ImageDraw.ImageDraw, big: int, text: str, palette: Palette, dot: bool
) -> None:
    ink = to_rgb8(palette.on(palette.primary))
    # Two letters need a smaller size than one to sit comfortably inside the shape.
    font = _font(int(big * (0.5 if len(text) == 1 else 0.4)))
    # Pillow's built-in font has no bold cut; an outline in the ink colour thickens it.
    stroke = 0 if bold_font_path() else round(big * 0.012)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
    radius, gap = big * 0.055, big * 0.03
    width = (right - left) + (gap + 2 * radius if dot else 0)
    # Centre the letters' ink (and the dot), not their line box: capitals have no descenders.
    x = (big - width) / 2 - left
    y = (big - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=font, fill=ink, stroke_width=stroke, stroke_fill=ink)
    if dot:
        cx, cy = x + right + gap + radius, y + bottom - radius
        draw.ellipse(
            (cx - radius, cy - radius, cx + radius, cy + radius), fill=to_rgb8(palette.accent)
        )


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = bold_font_path()
    if path is not None:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _diagonal(size: int, a: np.ndarray, b: np.ndarray) -> Image.Image:
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    t = (ramp[:, None] + ramp[None, :]) / 2
    rgb = a + (b - a) * t[..., None]
    return Image.fromarray(np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")
