"""What a video backend hands back: where the clip and its poster are, and what the clip is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VideoResult:
    """A finished clip: an MP4 at ``path`` and its first frame as a JPEG at ``poster``."""

    path: Path
    poster: Path
    frames: int
    fps: int
    width: int
    height: int
    codec: str  # as a player names it: "h264"
