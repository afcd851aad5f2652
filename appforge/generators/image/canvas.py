"""A float RGB canvas with the few anti-aliased primitives procedural scenes are made of.

Coordinates are in units of the canvas height (y runs 0..1 top to bottom, x runs 0..aspect), so a
circle stays round at any size and a scene looks the same at 320x180 and at 1920x1080. Every shape
is an analytic coverage mask blended into the pixels with numpy; shapes only touch the rows and
columns of their bounding box, which is what keeps a 1280x720 hero far below a tenth of a second.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from appforge.generators.image.palette import Colour

#: A soft shape's falloff is negligible beyond this many sigmas.
_GLOW_REACH = 3.0


class Canvas:
    """Pixels as a float32 (height, width, 3) array plus the coordinate grids to draw with."""

    def __init__(self, width: int, height: int, fill: Colour) -> None:
        self.width = width
        self.height = height
        self.aspect = width / height
        #: One pixel in canvas units: the width of an anti-aliased edge.
        self.pixel = 1.0 / height
        self.rgb = np.empty((height, width, 3), dtype=np.float32)
        self.rgb[:] = fill
        self.ys = ((np.arange(height, dtype=np.float32) + 0.5) / height)[:, None]
        self.xs = ((np.arange(width, dtype=np.float32) + 0.5) / height)[None, :]

    # -- fills ---------------------------------------------------------------------------------

    def vertical_gradient(
        self, top: Colour, bottom: Colour, start: float = 0.0, end: float = 1.0
    ) -> None:
        """Fill rows ``start``..``end`` with a smooth blend (rows outside keep the end colours)."""
        t = np.clip((self.ys - start) / max(end - start, 1e-6), 0, 1)
        t = t * t * (3 - 2 * t)  # smoothstep: no visible kink where the blend starts and stops
        self.rgb[:] = top + (bottom - top) * t[..., None]

    def diagonal_gradient(self, a: Colour, b: Colour, angle: float) -> None:
        """Fill the canvas with a linear blend from ``a`` to ``b`` along ``angle`` (radians)."""
        dx, dy = math.cos(angle), math.sin(angle)
        along = self.xs * dx + self.ys * dy
        lo, hi = float(along.min()), float(along.max())
        t = (along - lo) / max(hi - lo, 1e-6)
        self.rgb[:] = a + (b - a) * t[..., None]

    # -- shapes --------------------------------------------------------------------------------

    def disc(self, cx: float, cy: float, r: float, colour: Colour, opacity: float = 1.0) -> None:
        """A crisp, anti-aliased circle."""
        box = self._box(cx - r, cy - r, cx + r, cy + r, margin=2 * self.pixel)
        if box is None:
            return
        d = np.hypot(self.xs[:, box[1]] - cx, self.ys[box[0]] - cy)
        self._blend(box, np.clip((r - d) / self.pixel + 0.5, 0, 1), colour, opacity)

    def ring(
        self, cx: float, cy: float, r: float, thickness: float, colour: Colour, opacity: float
    ) -> None:
        box = self._box(cx - r, cy - r, cx + r, cy + r, margin=thickness + 2 * self.pixel)
        if box is None:
            return
        d = np.abs(np.hypot(self.xs[:, box[1]] - cx, self.ys[box[0]] - cy) - r)
        self._blend(box, np.clip((thickness / 2 - d) / self.pixel + 0.5, 0, 1), colour, opacity)

    def glow(
        self, cx: float, cy: float, sigma: float, colour: Colour, opacity: float = 1.0
    ) -> None:
        """A soft Gaussian spot: sun halos, blurred blobs, mist."""
        reach = sigma * _GLOW_REACH
        box = self._box(cx - reach, cy - reach, cx + reach, cy + reach)
        if box is None:
            return
        d2 = (self.xs[:, box[1]] - cx) ** 2 + (self.ys[box[0]] - cy) ** 2
        self._blend(box, np.exp(-d2 / (2 * sigma * sigma)), colour, opacity)

    def ellipse_glow(
        self, cx: float, cy: float, sx: float, sy: float, colour: Colour, opacity: float
    ) -> None:
        """A soft Gaussian spot stretched sideways: clouds and haze."""
        box = self._box(
            cx - sx * _GLOW_REACH,
            cy - sy * _GLOW_REACH,
            cx + sx * _GLOW_REACH,
            cy + sy * _GLOW_REACH,
        )
        if box is None:
            return
        d2 = ((self.xs[:, box[1]] - cx) / sx) ** 2 + ((self.ys[box[0]] - cy) / sy) ** 2
        self._blend(box, np.exp(-d2 / 2), colour, opacity)

    def blob(
        self, cx: float, cy: float, r: float, wobble: np.ndarray, colour: Colour, opacity: float
    ) -> None:
        """An organic closed shape: a circle whose radius swells with a few slow harmonics.

        ``wobble`` holds (amplitude, phase) rows; row k bends the outline k+2 times around.
        """
        reach = r * (1 + float(np.abs(wobble[:, 0]).sum()))
        box = self._box(cx - reach, cy - reach, cx + reach, cy + reach, margin=2 * self.pixel)
        if box is None:
            return
        dx, dy = self.xs[:, box[1]] - cx, self.ys[box[0]] - cy
        theta = np.arctan2(dy, dx)
        radius = np.full_like(theta, r)
        for k, (amplitude, phase) in enumerate(wobble):
            radius += r * amplitude * np.sin((k + 2) * theta + phase)
        self._blend(
            box, np.clip((radius - np.hypot(dx, dy)) / self.pixel + 0.5, 0, 1), colour, opacity
        )

    def fill_below(self, ridge: np.ndarray, colour: Colour, opacity: float = 1.0) -> None:
        """Paint everything under a skyline; ``ridge`` holds one y per pixel column."""
        top = max(0, int(float(ridge.min()) * self.height) - 1)
        rows = slice(top, self.height)
        mask = np.clip((self.ys[rows] - ridge[None, :]) / self.pixel + 0.5, 0, 1)
        self._blend((rows, slice(0, self.width)), mask, colour, opacity)

    def edge_light(
        self, ridge: np.ndarray, thickness: float, colour: Colour, opacity: float
    ) -> None:
        """A soft highlight just under a skyline: wave crests, sunlit ridges."""
        top = max(0, int(float(ridge.min()) * self.height) - 1)
        bottom = min(
            self.height, int((float(ridge.max()) + thickness * _GLOW_REACH) * self.height) + 1
        )
        rows = slice(top, bottom)
        depth = self.ys[rows] - ridge[None, :]
        mask = np.where(depth >= 0, np.exp(-((depth / thickness) ** 2)), 0.0)
        self._blend((rows, slice(0, self.width)), mask, colour, opacity)

    def band(self, y: float, sigma: float, colour: Colour, opacity: float) -> None:
        """A soft horizontal band across the whole canvas: mist lying in a valley."""
        rows = slice(
            max(0, int((y - sigma * _GLOW_REACH) * self.height)),
            min(self.height, int((y + sigma * _GLOW_REACH) * self.height) + 1),
        )
        mask = np.exp(-(((self.ys[rows] - y) / sigma) ** 2) / 2)
        self._blend((rows, slice(0, self.width)), mask, colour, opacity)

    def triangle(
        self, cx: float, top: float, bottom: float, half_width: float, colour: Colour
    ) -> None:
        """An upright isosceles triangle (a pine tree is three of them)."""
        box = self._box(cx - half_width, top, cx + half_width, bottom, margin=2 * self.pixel)
        if box is None:
            return
        ys, xs = self.ys[box[0]], self.xs[:, box[1]]
        spread = (ys - top) / max(bottom - top, 1e-6) * half_width
        inside = np.minimum(spread - np.abs(xs - cx), bottom - ys)
        self._blend(box, np.clip(inside / self.pixel + 0.5, 0, 1), colour, 1.0)

    def dots(
        self,
        x0: float,
        y0: float,
        cols: int,
        rows: int,
        step: float,
        r: float,
        colour: Colour,
        opacity: float,
    ) -> None:
        """A grid of small dots: the graphic-design texture of a product page."""
        box = self._box(
            x0 - r,
            y0 - r,
            x0 + (cols - 1) * step + r,
            y0 + (rows - 1) * step + r,
            margin=2 * self.pixel,
        )
        if box is None:
            return
        # Distance to the nearest grid point, limited to the grid's own extent.
        gx = np.clip(np.round((self.xs[:, box[1]] - x0) / step), 0, cols - 1) * step + x0
        gy = np.clip(np.round((self.ys[box[0]] - y0) / step), 0, rows - 1) * step + y0
        d = np.hypot(self.xs[:, box[1]] - gx, self.ys[box[0]] - gy)
        self._blend(box, np.clip((r - d) / self.pixel + 0.5, 0, 1), colour, opacity)

    # -- output --------------------------------------------------------------------------------

    def upscaled(self, width: int, height: int) -> Canvas:
        """This canvas resized (bicubic) to a new size: soft layers are drawn small, then grown."""
        big = Canvas(width, height, np.zeros(3, dtype=np.float32))
        for c in range(3):
            channel = Image.fromarray(np.ascontiguousarray(self.rgb[:, :, c]))
            big.rgb[:, :, c] = np.asarray(channel.resize((width, height), Image.Resampling.BICUBIC))
        return big

    def to_image(self) -> Image.Image:
        return Image.fromarray(np.clip(self.rgb * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")

    # -- internals -----------------------------------------------------------------------------

    def _box(
        self, x0: float, y0: float, x1: float, y1: float, margin: float = 0.0
    ) -> tuple[slice, slice] | None:
        """Pixel rows and columns covering a canvas-unit rectangle, or None when off canvas."""
        c0 = max(0, int((x0 - margin) * self.height))
        c1 = min(self.width, math.ceil((x1 + margin) * self.height))
        r0 = max(0, int((y0 - margin) * self.height))
        r1 = min(self.height, math.ceil((y1 + margin) * self.height))
        if c0 >= c1 or r0 >= r1:
            return None
        return slice(r0, r1), slice(c0, c1)

    def _blend(
        self, box: tuple[slice, slice], mask: np.ndarray, colour: Colour, opacity: float
    ) -> None:
        region = self.rgb[box]
        region += (colour - region) * (mask[..., None] * np.float32(opacity))
