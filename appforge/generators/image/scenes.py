"""The procedural scenes: a sea with waves, mountain ridges, hills under a sun, abstract blobs.

A prompt picks the scene by its first telling word ("surf school" -> waves, "alpine huts" ->
mountains, "owl photos" -> landscape, anything else -> abstract); the seed places everything in
it. Soft things (sky, halos, clouds, blurred blobs) are drawn on a canvas an eighth of the size and
grown, which both blurs them for free and keeps them cheap; crisp things (skylines, discs, trees)
are drawn at full size with anti-aliased edges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Literal

import numpy as np

from appforge.generators.image.canvas import Canvas
from appforge.generators.image.palette import BLACK, WHITE, Palette, mix

SceneKind = Literal["waves", "mountains", "landscape", "abstract"]

_KEYWORDS: dict[SceneKind, tuple[str, ...]] = {
    "waves": tuple(
        "wave sea seaside surf ocean beach lake river sail boat coast swim marine island tide "
        "harbour harbor".split()
    ),
    "mountains": tuple(
        "mountain hike hiking peak alpine alps ski climb summit snow trek glacier valley".split()
    ),
    "landscape": tuple(
        "fox owl animal photo bird forest tree garden plant nature park camp dog cat pet farm "
        "sunrise sunset landscape travel outdoor flower field meadow wildlife deer bear wolf "
        "hill".split()
    ),
}

#: Soft layers are drawn at 1/_SOFT_SCALE of the final size.
_SOFT_SCALE = 8


def scene_for(prompt: str) -> SceneKind:
    """The scene whose keyword comes first in ``prompt``; abstract when none does."""
    for word in re.findall(r"[a-z]+", prompt.lower()):
        for kind, keywords in _KEYWORDS.items():
            if any(_matches(word, keyword) for keyword in keywords):
                return kind
    return "abstract"


def render_scene(
    kind: SceneKind, width: int, height: int, palette: Palette, rng: np.random.Generator
) -> Canvas:
    """Draw a ``kind`` scene; the seed varies its layout and its mood within the palette."""
    return _SCENES[kind](width, height, palette.varied(rng), rng)


def _matches(word: str, keyword: str) -> bool:
    # Short keywords must match whole words, or "cat" would turn "catalogue" into a landscape.
    if word in (keyword, keyword + "s", keyword + "es"):
        return True
    return len(keyword) >= 4 and word.startswith(keyword)


# -- scenes --------------------------------------------------------------------------------------


def _waves(width: int, height: int, p: Palette, rng: np.random.Generator) -> Canvas:
    horizon = float(rng.uniform(0.44, 0.56))
    sun_x = float(rng.uniform(0.25, 0.75)) * width / height
    sun_y = horizon - float(rng.uniform(0.02, 0.12))
    canvas = _sky(width, height, p, rng, horizon, (sun_x, sun_y), clouds=False)
    _sun(canvas, p, rng, sun_x, sun_y, 0.065)

    sea_far = mix(p.primary, p.sky_horizon, 0.5)
    canvas.fill_below(np.full(width, horizon, dtype=np.float32), sea_far)
    xs = canvas.xs[0]
    bands = int(rng.integers(5, 8))
    for i in range(bands):
        t = (i + 1) / bands
        # Perspective: far bands are thin and flat, near ones tall and lazy.
        base = horizon + (1 - horizon) * ((i + 0.7) / bands) ** 1.6
        amplitude = 0.004 + 0.028 * t
        freq = float(rng.uniform(5.0, 8.0)) / (0.35 + t)
        phase = rng.uniform(0, 2 * math.pi, 2)
        ridge = base - amplitude * (
            1 + np.sin(freq * xs + phase[0]) * 0.7 + np.sin(2.3 * freq * xs + phase[1]) * 0.3
        )
        colour = mix(sea_far, p.deep, t**0.9)
        canvas.fill_below(ridge, colour)
        canvas.edge_light(ridge, 0.003 + 0.008 * t, mix(colour, WHITE, 0.55), 0.45)
    # The sun's path on the water, over every band.
    canvas.ellipse_glow(sun_x, horizon + 0.2, 0.035, 0.18, p.glow, 0.35)
    return canvas


def _mountains(width: int, height: int, p: Palette, rng: np.random.Generator) -> Canvas:
    sun_x = float(rng.uniform(0.2, 0.8)) * width / height
    sun_y = float(rng.uniform(0.18, 0.32))
    canvas = _sky(width, height, p, rng, 0.62, (sun_x, sun_y), clouds=False)
    _sun(canvas, p, rng, sun_x, sun_y, 0.06)
    layers = int(rng.integers(3, 6))
    first = float(rng.uniform(0.48, 0.58))
    for i in range(layers):
        t = i / (layers - 1)
        base = first + (0.93 - first) * t
        peak = 0.3 - 0.14 * t
        profile = _noise(
            canvas.xs[0], rng, freq=1.1 + 0.7 * i, octaves=5, roughness=0.48, smooth=False
        )
        ridge = base - peak * profile
        # Aerial perspective: the farther the ridge, the more of the sky's colour it takes.
        colour = mix(p.far, p.deep, 0.3 + 0.7 * t)
        canvas.fill_below(ridge, colour)
        canvas.edge_light(ridge, 0.004, mix(colour, p.glow, 0.45), 0.35)
        if i < layers - 1:
            canvas.band(base - 0.02, 0.04, mix(p.far, WHITE, 0.3), 0.35)  # mist in the valley
    return canvas


def _landscape(width: int, height: int, p: Palette, rng: np.random.Generator) -> Canvas:
    sun_x = float(rng.uniform(0.2, 0.8)) * width / height
    sun_y = float(rng.uniform(0.2, 0.36))
    canvas = _sky(width, height, p, rng, 0.66, (sun_x, sun_y), clouds=True)
    _sun(canvas, p, rng, sun_x, sun_y, 0.085)
    layers = int(rng.integers(3, 6))
    first = float(rng.uniform(0.56, 0.66))
    xs = canvas.xs[0]
    for i in range(layers):
        t = i / (layers - 1)
        base = first + (0.9 - first) * t
        ridge = base - (0.06 + 0.05 * t) * _noise(
            xs, rng, freq=0.9 + 0.5 * i, octaves=2, roughness=0.35, smooth=True
        )
        colour = mix(p.far, p.deep, 0.25 + 0.75 * t)
        if i == layers - 2:
            _forest(canvas, ridge, mix(colour, p.deep, 0.5), rng)
        canvas.fill_below(ridge, colour)
        canvas.edge_light(ridge, 0.006, mix(colour, p.glow, 0.4), 0.3)
    return canvas


def _abstract(width: int, height: int, p: Palette, rng: np.random.Generator) -> Canvas:
    aspect = width / height
    # Primary glows gather at one end of a diagonal and accent glows at the other, with pale
    # ones between: two complementary colours that overlap blend into grey.
    angle = float(rng.uniform(0, 2 * math.pi))
    ux, uy = math.cos(angle), math.sin(angle)
    soft = Canvas(*_soft_size(width, height), p.background)
    soft.diagonal_gradient(
        mix(p.background, p.primary, 0.25), mix(p.background, p.accent, 0.2), angle
    )
    glows = (
        (-0.9, p.primary),
        (-0.5, mix(p.primary, p.surface, 0.35)),
        (0.0, mix(p.surface, p.background, 0.5)),
        (0.5, mix(p.accent, p.surface, 0.3)),
        (0.9, p.accent),
    )
    for along, colour in glows:
        x = aspect / 2 + along * ux * aspect / 2 + float(rng.normal(0, 0.12))
        y = 0.5 + along * uy * 0.5 + float(rng.normal(0, 0.12))
        soft.glow(x, y, float(rng.uniform(0.18, 0.3)), colour, float(rng.uniform(0.6, 0.85)))
    canvas = soft.upscaled(width, height)

    # A few crisp, translucent shapes over the blur give the eye something to hold on to.
    for along, colour in ((-0.45, p.primary), (0.45, p.accent)):
        x = aspect / 2 + along * ux * aspect / 2 + float(rng.normal(0, 0.05))
        y = 0.5 + along * uy * 0.5 + float(rng.normal(0, 0.05))
        wobble = np.stack([rng.uniform(0.03, 0.08, 3), rng.uniform(0, 2 * math.pi, 3)], axis=1)
        canvas.blob(x, y, float(rng.uniform(0.13, 0.2)), wobble, colour, 0.8)
    line = 0.35 if p.dark else 0.6
    canvas.ring(
        aspect / 2 + float(rng.normal(0, 0.15)),
        0.5 + float(rng.normal(0, 0.1)),
        float(rng.uniform(0.08, 0.14)),
        0.007,
        WHITE,
        line,
    )
    grid_x, grid_y = float(rng.uniform(0.05, aspect * 0.6)), float(rng.uniform(0.05, 0.6))
    canvas.dots(grid_x, grid_y, 6, 4, 0.035, 0.005, WHITE, line)
    return canvas


_SCENES: dict[SceneKind, Callable[[int, int, Palette, np.random.Generator], Canvas]] = {
    "waves": _waves,
    "mountains": _mountains,
    "landscape": _landscape,
    "abstract": _abstract,
}


# -- shared parts --------------------------------------------------------------------------------


def _soft_size(width: int, height: int) -> tuple[int, int]:
    return max(8, math.ceil(width / _SOFT_SCALE)), max(8, math.ceil(height / _SOFT_SCALE))


def _sky(
    width: int,
    height: int,
    p: Palette,
    rng: np.random.Generator,
    horizon: float,
    sun: tuple[float, float],
    clouds: bool,
) -> Canvas:
    """Sky gradient, the sun's halo and (optionally) clouds, drawn small and grown to size."""
    soft = Canvas(*_soft_size(width, height), p.sky_top)
    soft.vertical_gradient(p.sky_top, p.sky_horizon, 0.0, horizon)
    soft.glow(sun[0], sun[1], 0.22, p.glow, 0.45)
    soft.glow(sun[0], sun[1], 0.08, mix(p.glow, WHITE, 0.3), 0.5)
    if clouds:
        # By night a cloud is a pale wisp lit by the moon, by day a bright puff.
        cloud = mix(p.sky_top, WHITE, 0.35) if p.dark else mix(p.surface, p.sky_top, 0.1)
        for _ in range(int(rng.integers(2, 5))):
            cx, cy = float(rng.uniform(0, width / height)), float(rng.uniform(0.08, horizon * 0.6))
            for _ in range(4):  # a cloud is a cluster of stretched puffs
                dx, dy = rng.normal(0, (0.06, 0.012))
                soft.ellipse_glow(cx + dx, cy + dy, 0.07, 0.022, cloud, 0.2 if p.dark else 0.6)
    canvas = soft.upscaled(width, height)
    if p.dark:
        _stars(canvas, rng, horizon)
    return canvas


def _sun(
    canvas: Canvas, p: Palette, rng: np.random.Generator, x: float, y: float, r: float
) -> None:
    canvas.disc(x, y, r, p.glow)
    if p.dark:  # a moon, with a few faint maria
        for _ in range(4):
            angle, dist = rng.uniform(0, 2 * math.pi), rng.uniform(0, 0.6) * r
            canvas.disc(
                x + dist * math.cos(angle),
                y + dist * math.sin(angle),
                float(rng.uniform(0.12, 0.3)) * r,
                mix(p.glow, BLACK, 0.3),
                0.12,
            )


def _stars(canvas: Canvas, rng: np.random.Generator, horizon: float) -> None:
    count = int(45 * canvas.aspect)
    xs = rng.uniform(0, canvas.aspect, count)
    ys = rng.uniform(0, horizon, count) ** 1.4  # fewer near the horizon's haze
    sizes = rng.uniform(0.6, 1.6, count) * canvas.pixel
    for x, y, r, a in zip(xs, ys, sizes, rng.uniform(0.3, 0.9, count), strict=True):
        canvas.disc(float(x), float(y), max(float(r), 0.0012), WHITE, float(a))


def _forest(
    canvas: Canvas, ridge: np.ndarray, colour: np.ndarray, rng: np.random.Generator
) -> None:
    """Clusters of pine trees standing on a skyline."""
    for _ in range(int(rng.integers(2, 4))):
        centre = float(rng.uniform(0.05, 0.95)) * canvas.aspect
        for _ in range(int(rng.integers(3, 7))):
            x = centre + float(rng.normal(0, 0.06))
            column = int(np.clip(x * canvas.height, 0, canvas.width - 1))
            ground = float(ridge[column]) + 0.01
            tall = float(rng.uniform(0.05, 0.1))
            for k in range(3):
                top = ground - tall + k * tall * 0.25
                canvas.triangle(x, top, top + tall * 0.5, tall * (0.16 + 0.06 * k), colour)


def _noise(
    xs: np.ndarray,
    rng: np.random.Generator,
    freq: float,
    octaves: int,
    roughness: float,
    smooth: bool,
) -> np.ndarray:
    """1-D fractal value noise in 0..1: sharp (linear) for peaks, smooth (eased) for hills."""
    total = np.zeros_like(xs)
    amplitude, norm = 1.0, 0.0
    for _ in range(octaves):
        u = xs * freq + float(rng.uniform(0, 100))
        knots = rng.random(int(u.max()) + 2).astype(np.float32)
        i = np.floor(u).astype(np.int64)
        f = u - i
        if smooth:
            f = f * f * (3 - 2 * f)
        total += amplitude * (knots[i] + (knots[i + 1] - knots[i]) * f)
        norm += amplitude
        amplitude *= roughness
        freq *= 2.1
    return total / norm
