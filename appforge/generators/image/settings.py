"""Where a subject stands: the scene behind it and the line its feet (or its base) rest on.

A setting read from the prompt ("in the snow", "on a wooden counter", "at a jazz night") or, when
the prompt names none, the usual place of the subject (food and objects on a table, instruments
on a stage, sea creatures in the waves, animals and plants outdoors) picks the scene. The
outdoor scenes are :mod:`.scenes`' own; a table, a stage and a snowfield are drawn here with the
same canvas, palette and seeded variation.
"""

from __future__ import annotations

import math

import numpy as np

from appforge.generators.image.canvas import Canvas
from appforge.generators.image.palette import BLACK, WHITE, Palette, mix
from appforge.generators.image.scenes import SceneKind, render_scene
from appforge.generators.image.subjects import Subject

#: The line subjects stand on, as a fraction of the height, for each scene.
GROUND = {"waves": 0.8, "mountains": 0.9, "landscape": 0.88, "abstract": 0.8,
          "table": 0.76, "stage": 0.8, "snow": 0.86}
_BY_SUBGROUP = {
    "animal-marine": "waves", "transport-water": "waves", "musical-instrument": "stage",
    "music": "stage", "event": "stage", "plant-other": "landscape", "place-geographic": "landscape",
    "person-sport": "landscape", "sport": "landscape",
}
_BY_GROUP = {"animals-nature": "landscape", "food-drink": "table", "objects": "table",
             "travel-places": "landscape", "activities": "table", "people-body": "landscape"}
_BY_SETTING = {"snow": "snow", "sea": "waves", "mountains": "mountains", "outdoors": "landscape",
               "table": "table", "stage": "stage", "night": "stage"}
#: Things that live indoors even when their group lives outside.
_INDOORS = {"1FAB4", "1F490", "1F335"}


def setting_scene(setting: str | None, main: Subject | None) -> str:
    """The scene for a setting, or for the main subject when the prompt names no setting."""
    if setting in _BY_SETTING:
        if setting == "night" and main and main.group == "animals-nature":
            return "landscape"  # a dark theme's landscape is already a night
        return _BY_SETTING[setting]
    if main is None:
        return "abstract"
    if main.id in _INDOORS:
        return "table"
    return _BY_SUBGROUP.get(main.subgroup) or _BY_GROUP.get(main.group, "abstract")


def render_setting(kind: str, width: int, height: int, palette: Palette,
                   rng: np.random.Generator) -> Canvas:
    """Draw scene ``kind`` (one of :data:`GROUND`'s keys)."""
    if kind in _OWN:
        return _OWN[kind](width, height, palette.varied(rng), rng)
    scene: SceneKind = kind  # type: ignore[assignment]
    return render_scene(scene, width, height, palette, rng)


def _table(width: int, height: int, p: Palette, rng: np.random.Generator) -> Canvas:
    """A wall lit from one side and a tabletop with its front edge: a still life."""
    edge = GROUND["table"] - 0.06
    light_x = float(rng.uniform(0.15, 0.85)) * width / height
    soft = Canvas(max(8, width // 8), max(8, height // 8), p.background)
    wall_top = mix(p.primary, p.background, 0.78 if not p.dark else 0.55)
    soft.vertical_gradient(wall_top, mix(wall_top, p.accent, 0.12), 0.0, edge)
    soft.glow(light_x, 0.25, 0.45, mix(p.glow, WHITE, 0.5), 0.45 if not p.dark else 0.25)
    canvas = soft.upscaled(width, height)
    wood = mix(mix(p.accent, p.primary, 0.25), BLACK, 0.25 if not p.dark else 0.5)
    canvas.fill_below(np.full(width, edge, dtype=np.float32), wood)
    top = mix(wood, WHITE, 0.18)
    canvas.fill_below(np.full(width, edge, dtype=np.float32), top)
    front = GROUND["table"] + 0.1
    canvas.fill_below(np.full(width, front, dtype=np.float32), mix(wood, BLACK, 0.25))
    canvas.edge_light(np.full(width, edge, dtype=np.float32), 0.006, mix(top, WHITE, 0.5), 0.5)
    # Grain: faint streaks along the tabletop.
    for _ in range(6):
        y = float(rng.uniform(edge + 0.01, front - 0.01))
        canvas.band(y, 0.002, mix(top, BLACK, 0.15), 0.25)
    canvas.ellipse_glow(light_x, edge + 0.05, 0.3, 0.03, mix(p.glow, WHITE, 0.6), 0.25)
    return canvas


def _stage(width: int, height: int, p: Palette, rng: np.random.Generator) -> Canvas:
    """A dark stage: a backdrop, spotlights from above, a lit floor."""
    aspect = width / height
    back = mix(p.primary, BLACK, 0.72)
    soft = Canvas(max(8, width // 8), max(8, height // 8), back)
    soft.vertical_gradient(mix(back, BLACK, 0.4), back, 0.0, GROUND["stage"])
    for i in range(3):
        x = aspect * (0.2 + 0.3 * i) + float(rng.normal(0, 0.05))
        colour = p.accent if i == 1 else mix(p.primary, WHITE, 0.35)
        soft.ellipse_glow(x, 0.35, 0.09, 0.45, colour, 0.35)
    soft.glow(aspect / 2, GROUND["stage"] - 0.1, 0.3, mix(p.accent, WHITE, 0.4), 0.35)
    canvas = soft.upscaled(width, height)
    floor = mix(p.primary, BLACK, 0.55)
    canvas.fill_below(np.full(width, GROUND["stage"] - 0.02, dtype=np.float32), floor)
    canvas.edge_light(np.full(width, GROUND["stage"] - 0.02, dtype=np.float32), 0.01,
                      mix(p.accent, WHITE, 0.3), 0.5)
    canvas.ellipse_glow(aspect / 2, GROUND["stage"] + 0.02, 0.35, 0.04,
                        mix(p.accent, WHITE, 0.5), 0.35)
    return canvas


def _snow(width: int, height: int, p: Palette, rng: np.random.Generator) -> Canvas:
    """Pale sky, snowy hills and falling flakes."""
    aspect = width / height
    cold = mix(p.primary, WHITE, 0.55 if not p.dark else 0.1)
    soft = Canvas(max(8, width // 8), max(8, height // 8), cold)
    soft.vertical_gradient(mix(cold, p.primary, 0.25), mix(cold, WHITE, 0.45), 0.0, 0.7)
    soft.glow(float(rng.uniform(0.2, 0.8)) * aspect, 0.25, 0.25, WHITE, 0.35)
    canvas = soft.upscaled(width, height)
    xs = canvas.xs[0]
    for i, base in enumerate((0.62, 0.72, 0.82)):
        phase = float(rng.uniform(0, 2 * math.pi))
        ridge = base - 0.05 * (1 + np.sin(xs * (2.2 + i) + phase)) / 2
        snow = mix(WHITE, p.primary, 0.18 - 0.06 * i) if not p.dark else mix(
            p.primary, WHITE, 0.55 + 0.1 * i)
        canvas.fill_below(ridge.astype(np.float32), snow)
        canvas.edge_light(ridge.astype(np.float32), 0.02, mix(snow, p.primary, 0.25), 0.3)
    count = int(70 * aspect)
    for x, y, r in zip(rng.uniform(0, aspect, count), rng.uniform(0, 1, count),
                       rng.uniform(0.002, 0.006, count), strict=True):
        canvas.disc(float(x), float(y), float(r), WHITE, 0.8)
    return canvas


_OWN = {"table": _table, "stage": _stage, "snow": _snow}
