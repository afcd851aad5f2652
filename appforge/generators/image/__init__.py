"""Image generation: the :class:`ImageBackend` protocol and its offline procedural backend.

A backend turns one :class:`~appforge.spec.AssetRequest` (logo, hero, gallery, feature or
background) into a PNG, coloured by the app's :class:`~appforge.spec.Theme`. Which backend runs is
chosen by configuration in one place; :class:`ProceduralImageBackend` needs no GPU, weights or
network and is the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from appforge.generators.image.procedural import ProceduralImageBackend
from appforge.spec import AssetRequest, Theme

__all__ = ["ImageBackend", "ProceduralImageBackend"]


@runtime_checkable
class ImageBackend(Protocol):
    """Makes the pictures of an app."""

    name: str

    def generate(self, request: AssetRequest, theme: Theme, title: str, out: Path) -> Path:
        """Write a PNG for ``request`` at ``out`` and return ``out``.

        ``title`` is the app's name (the logo shows its initials). Raises
        :class:`~appforge.errors.GenerationError` when the image cannot be made or written.
        """
        ...
