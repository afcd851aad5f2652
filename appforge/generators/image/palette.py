"""Colours for procedural art, derived from an app's :class:`~appforge.spec.Theme`.

Every picture the procedural backend draws takes its colours from here, so the art matches the
pages it sits on. Colours are float32 RGB triples in 0..1, ready for numpy blending.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from appforge.spec import Theme

Colour = np.ndarray  # shape (3,), float32, 0..1

WHITE: Colour = np.ones(3, dtype=np.float32)
BLACK: Colour = np.zeros(3, dtype=np.float32)


def hex_to_rgb(value: str) -> Colour:
    """``"#2563eb"`` -> ``array([0.145, 0.388, 0.922])``."""
    digits = value.lstrip("#")
    return np.array([int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)], dtype=np.float32)


def mix(a: Colour, b: Colour, t: float) -> Colour:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return (a + (b - a) * t).astype(np.float32)


def luminance(colour: Colour) -> float:
    """WCAG relative luminance, used to pick readable text colours."""
    linear = np.where(colour <= 0.04045, colour / 12.92, ((colour + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast(a: Colour, b: Colour) -> float:
    """WCAG contrast ratio between two colours (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def to_rgb8(colour: Colour) -> tuple[int, int, int]:
    """A colour as the 0..255 integer triple Pillow draws with."""
    r, g, b = (int(round(float(c) * 255)) for c in np.clip(colour, 0, 1))
    return (r, g, b)


@dataclass(frozen=True)
class Palette:
    """The theme's colours plus the few shades the scenes need."""

    primary: Colour
    accent: Colour
    background: Colour
    surface: Colour
    text: Colour
    dark: bool
    #: Per-image variation (0..1): how much of the page colour the sky takes, and how far the
    #: horizon leans towards the accent; set by :meth:`varied` so gallery images differ in mood.
    haze: float = 0.5
    warmth: float = 0.5

    @classmethod
    def from_theme(cls, theme: Theme) -> Palette:
        return cls(
            primary=hex_to_rgb(theme.primary),
            accent=hex_to_rgb(theme.accent),
            background=hex_to_rgb(theme.background),
            surface=hex_to_rgb(theme.surface),
            text=hex_to_rgb(theme.text),
            dark=theme.mode == "dark",
        )

    def varied(self, rng: np.random.Generator) -> Palette:
        """This palette with a seeded mood: a paler or deeper sky, a warmer or cooler horizon."""
        # Halfway between primary and accent is often a muddy grey, so a horizon is either
        # clearly warm or clearly cool.
        warmth = rng.uniform(0.75, 1.0) if rng.random() < 0.7 else rng.uniform(0.0, 0.2)
        return replace(self, haze=float(rng.uniform(0.2, 0.8)), warmth=float(warmth))

    @property
    def deep(self) -> Colour:
        """The primary colour in shadow: the nearest layer of a landscape."""
        return mix(self.primary, BLACK, 0.72 if self.dark else 0.5)

    @property
    def sky_top(self) -> Colour:
        # Mixing towards the page background (not white) keeps dark themes dark.
        return mix(self.primary, self.background, (0.2 if self.dark else 0.3) + 0.3 * self.haze)

    @property
    def sky_horizon(self) -> Colour:
        if self.dark:
            return mix(mix(self.primary, self.accent, 0.2 + 0.4 * self.warmth), BLACK, 0.25)
        # A cool horizon is a pale primary, a warm one a pale accent.
        return mix(mix(self.primary, self.accent, self.warmth), self.background, 0.55)

    @property
    def far(self) -> Colour:
        """The farthest hills: mostly sky, as distance washes colours out."""
        return mix(self.sky_top, self.sky_horizon, 0.4)

    @property
    def glow(self) -> Colour:
        """Sun (light themes) or moon (dark themes)."""
        return mix(self.accent, WHITE, 0.82) if self.dark else mix(self.accent, WHITE, 0.25)

    def on(self, fill: Colour) -> Colour:
        """White on ``fill`` when it is readable as large text (3:1), else the most readable of
        the theme's text, surface and background colours."""
        if contrast(WHITE, fill) >= 3.0:
            return WHITE
        candidates = (self.text, self.surface, self.background)
        return max(candidates, key=lambda c: contrast(c, fill))
