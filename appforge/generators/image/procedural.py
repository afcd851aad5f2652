"""The offline image backend: pictures drawn from the theme's palette, with no model and no GPU.

Logos are an app's initials on a mark in its primary and accent colours; every other role gets a
scene picked by the prompt (see :mod:`.scenes`). Output depends only on the request's seed and
prompt, the theme and the title, so rebuilding an app reproduces its images byte for byte.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

from appforge.generators.image.files import write_file
from appforge.generators.image.logo import render_logo
from appforge.generators.image.palette import Palette
from appforge.generators.image.scenes import render_scene, scene_for
from appforge.spec import AssetRequest, Theme

#: How far a "background" image fades towards the page colour, so text on it stays readable.
_BACKGROUND_FADE = 0.55


def seed_for(request: AssetRequest) -> int:
    """A 64-bit seed from the request's seed and prompt (stable across runs and machines)."""
    digest = hashlib.sha256(f"{request.seed}\x00{request.prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class ProceduralImageBackend:
    """Draws logos and scenes with numpy and Pillow; see the module docstring."""

    name: str = "procedural"

    def render(self, request: AssetRequest, theme: Theme, title: str) -> Image.Image:
        """The picture for ``request`` in memory: RGBA for a logo, RGB otherwise."""
        palette = Palette.from_theme(theme)
        rng = np.random.default_rng(seed_for(request))
        if request.role == "logo":
            return render_logo(min(request.width, request.height), title, palette, rng)
        canvas = render_scene(
            scene_for(request.prompt), request.width, request.height, palette, rng
        )
        if request.role == "background":
            canvas.rgb += (palette.background - canvas.rgb) * np.float32(_BACKGROUND_FADE)
        return canvas.to_image()

    def generate(self, request: AssetRequest, theme: Theme, title: str, out: Path) -> Path:
        """Render ``request`` and write it as a PNG at ``out``; returns ``out``."""
        buffer = io.BytesIO()
        self.render(request, theme, title).save(buffer, format="PNG")
        write_file(buffer.getvalue(), out, "image")
        return out
