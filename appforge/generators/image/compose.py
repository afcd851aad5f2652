"""Pictures with their subject in them: a scene, the subject's artwork standing in it, the light.

The main subject stands on the scene's ground (see :mod:`.settings`), with a soft shadow under it
and the scene's light on it; on a wide picture it stands in the right third, where the page's
title does not cover it, with any other subject smaller beside it. The prompt's wording sets the
framing ("close-up" larger, "wide shot" smaller) and the light ("golden hour" warmer, "evening"
darker, "misty" hazier); the seed moves things a little, so a gallery's pictures differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from appforge.generators.image.artwork import Artwork
from appforge.generators.image.canvas import Canvas
from appforge.generators.image.palette import BLACK, WHITE, Palette, mix, to_rgb8
from appforge.generators.image.settings import GROUND, render_setting, setting_scene
from appforge.generators.image.subjects import Reading

_CLOSE = re.compile(r"close-?up|macro|detail|portrait", re.IGNORECASE)
_WIDE = re.compile(r"wide shot|from above|landscape|panorama", re.IGNORECASE)
_WARM = re.compile(r"golden|sunset|sunrise|warm|candle", re.IGNORECASE)
_DARK = re.compile(r"evening|dramatic|night|dusk|moody", re.IGNORECASE)
_MIST = re.compile(r"mist|fog|haze", re.IGNORECASE)


@dataclass(frozen=True)
class Composition:
    """What a composed picture shows, for the asset manifest and the app's credits."""

    scene: str
    subjects: list[str]  # picture ids, main first
    names: list[str]  # their English names


def compose(reading: Reading, prompt: str, width: int, height: int, palette: Palette,
            rng: np.random.Generator, artwork: Artwork) -> tuple[Canvas, Composition]:
    """The scene for ``reading`` with its subjects standing in it."""
    main = reading.subjects[0]
    kind = setting_scene(reading.setting, main)
    canvas = render_setting(kind, width, height, palette, rng)
    aspect = width / height
    wide = aspect > 1.3
    size = 0.56 if wide else 0.6
    if _CLOSE.search(prompt):
        size *= 1.28
    elif _WIDE.search(prompt):
        size *= 0.72
    ground = GROUND[kind] + float(rng.uniform(-0.02, 0.02))
    x = aspect * (0.72 if wide else 0.5) + float(rng.uniform(-0.06, 0.06))
    tint = _light(prompt, palette)
    placed = [(reading.subjects[0].id, x, size)]
    for i, extra in enumerate(reading.subjects[1:3]):
        side = 1 if i == 0 else -1
        dx = size * (0.85 if wide else 0.62) * side
        placed.append((extra.id, x + dx, size * 0.55))
    # Draw the smaller ones first: the main subject stands in front.
    for id, cx, h in sorted(placed, key=lambda p: p[2]):
        h = min(h, ground - 0.04)
        picture = artwork.fitted(id, max(8, round(h * height)))
        _stand(canvas, picture, cx, ground, tint, palette)
    if _MIST.search(prompt):
        canvas.band(ground - 0.05, 0.08, mix(palette.background, WHITE, 0.5), 0.35)
    names = [s.name for s in reading.subjects[:3]]
    return canvas, Composition(kind, [p[0] for p in placed], names)


def _light(prompt: str, palette: Palette) -> np.ndarray:
    """A multiplier for the subject's colours: the scene's light falling on it."""
    light = np.ones(3, dtype=np.float32)
    if _WARM.search(prompt):
        light = mix(light, mix(palette.glow, np.array([1.0, 0.8, 0.55], np.float32), 0.5), 0.18)
    if _DARK.search(prompt):
        light = light * np.float32(0.82)
    return light


def _stand(canvas: Canvas, picture: Image.Image, cx: float, ground: float, light: np.ndarray,
           palette: Palette) -> None:
    """Paste ``picture`` with its bottom centre at (cx, ground), a soft shadow under it."""
    w, h = picture.size
    shadow_w = w / canvas.height * 0.45
    canvas.ellipse_glow(cx, ground + 0.005, shadow_w, 0.012, mix(palette.deep, BLACK, 0.5), 0.5)
    left = round(cx * canvas.height - w / 2)
    top = round(ground * canvas.height - h)
    paste(canvas, picture, left, top, light)


def paste(canvas: Canvas, picture: Image.Image, left: int, top: int,
          light: np.ndarray | None = None) -> None:
    """Alpha-blend an RGBA picture into the canvas at pixel (left, top), clipped to the canvas."""
    rgba = np.asarray(picture, dtype=np.float32) / 255
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(canvas.width, left + rgba.shape[1]), min(canvas.height, top + rgba.shape[0])
    if x0 >= x1 or y0 >= y1:
        return
    part = rgba[y0 - top:y1 - top, x0 - left:x1 - left]
    colour = part[..., :3] * (light if light is not None else 1)
    alpha = part[..., 3:4]
    region = canvas.rgb[y0:y1, x0:x1]
    region += (colour - region) * alpha


def render_subject_logo(size: int, picture_id: str, palette: Palette, rng: np.random.Generator,
                        artwork: Artwork) -> Image.Image:
    """An RGBA mark: the subject drawn in two tones of the theme on a rounded square or circle."""
    big = size * 2
    base = mix(palette.primary, BLACK, 0.1)
    mark = Image.new("RGB", (big, big), to_rgb8(base))
    draw = ImageDraw.Draw(mark)
    # The accent peeks in from a corner, as on the initials logo (clipped by the shape's mask).
    corner = int(rng.integers(0, 4))
    cx = big * (0.92 if corner in (1, 2) else 0.08)
    cy = big * (0.92 if corner in (2, 3) else 0.08)
    r = big * float(rng.uniform(0.24, 0.3))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=to_rgb8(palette.accent))
    picture = artwork.fitted(picture_id, round(big * 0.56))
    canvas = Canvas(big, big, np.zeros(3, np.float32))
    canvas.rgb[:] = np.asarray(mark, dtype=np.float32) / 255
    paste(canvas, _two_tone(picture, palette), (big - picture.width) // 2,
          (big - picture.height) // 2)
    mask = Image.new("L", (big, big), 0)
    shape = ImageDraw.Draw(mask)
    inset = big * 0.02
    if rng.random() < 0.65:
        shape.rounded_rectangle((inset, inset, big - inset, big - inset), radius=big * 0.23,
                                fill=255)
    else:
        shape.ellipse((inset, inset, big - inset, big - inset), fill=255)
    logo = canvas.to_image().resize((size, size), Image.Resampling.LANCZOS).convert("RGBA")
    logo.putalpha(mask.resize((size, size), Image.Resampling.LANCZOS))
    return logo


def _two_tone(picture: Image.Image, palette: Palette) -> Image.Image:
    """The picture in the ink that reads on the primary colour, its darkest details (eyes, a
    nose, a cup's coffee) in the primary's shadow: a stamp that keeps the subject's features."""
    rgba = np.asarray(picture, dtype=np.float32) / 255
    lum = rgba[..., :3] @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    opaque = rgba[..., 3] > 0.5
    middle = float(np.median(lum[opaque])) if opaque.any() else 0.5
    ink = palette.on(palette.primary)
    shade = mix(palette.primary, BLACK, 0.55)
    t = np.clip((lum - (middle - 0.22)) / 0.08, 0, 1)[..., None]
    rgb = shade + (ink - shade) * t
    out = np.concatenate([rgb, rgba[..., 3:4]], axis=-1)
    return Image.fromarray(np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8), "RGBA")
