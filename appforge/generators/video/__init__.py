"""Video generation: the :class:`VideoBackend` protocol, its result and the procedural backend.

A backend turns one video :class:`~appforge.spec.AssetRequest` into an H.264 MP4 that browsers
play inline, plus a poster image shown before it starts. :class:`ProceduralVideoBackend` needs no
GPU, weights or network and is the default; a diffusers text-to-video backend can stand in for
it behind the same protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from appforge.generators.video.procedural import ProceduralVideoBackend
from appforge.generators.video.result import VideoResult
from appforge.spec import AssetRequest, Theme

__all__ = ["ProceduralVideoBackend", "VideoBackend", "VideoResult"]


@runtime_checkable
class VideoBackend(Protocol):
    """Makes the clips of an app."""

    name: str

    def generate(
        self, request: AssetRequest, theme: Theme, title: str, out: Path, still: Path | None = None
    ) -> VideoResult:
        """Write an MP4 for ``request`` at ``out`` and its poster at ``request.poster_filename``
        beside it. ``still`` is a picture to animate (the hero image); without one the backend
        makes its own. Raises :class:`~appforge.errors.GenerationError` on failure.
        """
        ...
