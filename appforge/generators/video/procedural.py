"""The offline video backend: camera motion over a still, encoded as a browser-ready H.264 MP4.

The still is the app's hero image when the caller has one, otherwise a picture the procedural
image backend draws from the same request, a little larger than the frame so the camera has room
to move. Same request, theme and still give the same frames and, with libx264 held to
reproducible settings (see :mod:`.encode`), the same bytes.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from appforge.errors import GenerationError
from appforge.generators.image.files import write_file
from appforge.generators.image.palette import WHITE, Palette, mix, to_rgb8
from appforge.generators.image.procedural import ProceduralImageBackend, seed_for
from appforge.generators.video.encode import CODEC, write_h264
from appforge.generators.video.motion import MAX_ZOOM, Camera, plan_shot, prepare_still
from appforge.generators.video.result import VideoResult
from appforge.spec import AssetRequest, Theme

DEFAULT_SECONDS = 4.0
_POSTER_QUALITY = 85


class ProceduralVideoBackend:
    """Ken Burns zoom and pan plus a light sweep over a still; see the module docstring."""

    name: str = "procedural"

    def generate(
        self, request: AssetRequest, theme: Theme, title: str, out: Path, still: Path | None = None
    ) -> VideoResult:
        """Write the clip at ``out`` and its poster (first frame, JPEG) beside it."""
        # yuv420p stores colour per 2x2 block, so H.264 in it needs even sides.
        width, height = request.width - request.width % 2, request.height - request.height % 2
        count = max(1, round((request.seconds or DEFAULT_SECONDS) * request.fps))
        palette = Palette.from_theme(theme)
        picture = prepare_still(
            self._still(request, theme, title, still, width, height),
            width,
            height,
            to_rgb8(palette.background),
        )
        light = to_rgb8(mix(palette.accent, WHITE, 0.7))
        camera = Camera(
            picture, width, height, plan_shot(np.random.default_rng(seed_for(request))), light
        )
        frames = (camera.frame(i / max(count - 1, 1)) for i in range(count))

        written = write_h264(frames, out, width, height, request.fps)
        poster = out.parent / (request.poster_filename or f"{out.stem}-poster.jpg")
        buffer = io.BytesIO()
        camera.frame(0.0).save(buffer, format="JPEG", quality=_POSTER_QUALITY)
        write_file(buffer.getvalue(), poster, "poster")
        return VideoResult(
            path=out,
            poster=poster,
            frames=written,
            fps=request.fps,
            width=width,
            height=height,
            codec=CODEC,
        )

    def _still(
        self,
        request: AssetRequest,
        theme: Theme,
        title: str,
        still: Path | None,
        width: int,
        height: int,
    ) -> Image.Image:
        if still is not None:
            try:
                with Image.open(still) as image:
                    return image.copy()
            except OSError as exc:
                raise GenerationError(f"could not read the still image {still}: {exc}") from exc
        # Drawn at the tightest framing's size, so no frame ever enlarges it.
        larger = request.model_copy(
            update={
                "kind": "image",
                "width": math.ceil(width * MAX_ZOOM),
                "height": math.ceil(height * MAX_ZOOM),
            }
        )
        return ProceduralImageBackend().render(larger, theme, title)
