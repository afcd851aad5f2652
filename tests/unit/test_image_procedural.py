"""The procedural image backend draws real, themed pictures: logos, heroes and gallery images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from appforge.errors import GenerationError
from appforge.generators.image import ImageBackend, ProceduralImageBackend
from appforge.generators.image.scenes import scene_for
from appforge.spec import AssetRequest, Theme

THEME = Theme(primary="#2563eb", accent="#f59e0b")
DARK = Theme(
    mode="dark", primary="#7c3aed", accent="#f472b6", background="#0b1020", surface="#1e293b"
)


def _request(
    role: str = "hero",
    prompt: str = "a budgeting tool",
    width: int = 192,
    height: int = 108,
    seed: int = 0,
) -> AssetRequest:
    return AssetRequest(
        kind="image", role=role, name=role, prompt=prompt, width=width, height=height, seed=seed
    )


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=float)


def test_procedural_backend_is_an_image_backend() -> None:
    backend = ProceduralImageBackend()
    assert isinstance(backend, ImageBackend)
    assert backend.name == "procedural"


def test_logo_is_square_png_in_theme_colours(tmp_path: Path) -> None:
    out = ProceduralImageBackend().generate(
        _request("logo", "logo", 128, 96), THEME, "Sprout", tmp_path / "logo.png"
    )

    assert out == tmp_path / "logo.png"
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.size == (96, 96)
        assert image.mode == "RGBA"
        rgba = np.asarray(image, dtype=float)
    assert rgba[0, 0, 3] == 0, "outside the mark is transparent"
    assert rgba[48, 48, 3] == 255
    opaque = rgba[rgba[..., 3] == 255][:, :3]

    def near(colour: str, tolerance: float) -> float:
        """The share of the mark's pixels within ``tolerance`` of ``colour``."""
        return float((np.abs(opaque - _rgb(colour)).max(axis=1) < tolerance).mean())

    # The body of the mark is the primary colour (with a gentle darkening gradient) ...
    assert np.abs(np.median(opaque, axis=0) - _rgb(THEME.primary)).max() < 40
    # ... with an accent shape and white initials on it.
    assert near(THEME.accent, 12) > 0.003
    assert near("#ffffff", 12) > 0.02


def test_logo_shows_initials_of_a_two_word_title(tmp_path: Path) -> None:
    one = _pixels(
        ProceduralImageBackend().generate(
            _request("logo", "logo", 96, 96), THEME, "Sprout", tmp_path / "a.png"
        )
    )
    two = _pixels(
        ProceduralImageBackend().generate(
            _request("logo", "logo", 96, 96), THEME, "Tide Tracker", tmp_path / "b.png"
        )
    )
    assert np.abs(one - two).mean() > 1


def test_same_seed_gives_identical_image(tmp_path: Path) -> None:
    backend = ProceduralImageBackend()
    first = backend.generate(
        _request(seed=7, prompt="surf school"), THEME, "Surf", tmp_path / "a.png"
    )
    second = backend.generate(
        _request(seed=7, prompt="surf school"), THEME, "Surf", tmp_path / "b.png"
    )
    other_prompt = backend.generate(
        _request(seed=7, prompt="surf camp"), THEME, "Surf", tmp_path / "c.png"
    )

    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() != other_prompt.read_bytes()


def test_different_seeds_give_different_gallery_images(tmp_path: Path) -> None:
    backend = ProceduralImageBackend()
    images = [
        _pixels(
            backend.generate(
                _request("gallery", "owl photos", 96, 96, seed),
                THEME,
                "Owls",
                tmp_path / f"{seed}.png",
            )
        )
        for seed in range(4)
    ]
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            assert np.abs(images[i] - images[j]).mean() > 3, (
                f"gallery images {i} and {j} look alike"
            )


@pytest.mark.parametrize(
    ("prompt", "theme"),
    [
        ("a budgeting tool", THEME),
        ("surf school", THEME),
        ("alpine huts in the mountains", DARK),
        ("fox photos", DARK),
    ],
)
def test_hero_image_is_not_noise(tmp_path: Path, prompt: str, theme: Theme) -> None:
    out = ProceduralImageBackend().generate(
        _request(prompt=prompt, width=320, height=180), theme, "App", tmp_path / "hero.png"
    )
    pixels = _pixels(out)

    assert pixels.shape == (180, 320, 3)
    # Smooth: neighbouring pixels barely differ (uniform noise would differ by ~85 per channel) ...
    assert np.abs(np.diff(pixels, axis=1)).mean() < 4
    assert np.abs(np.diff(pixels, axis=0)).mean() < 4
    # ... yet it is a picture, not a flat fill.
    assert pixels.mean(axis=2).std() > 12


def test_prompt_keywords_pick_the_scene() -> None:
    assert scene_for("Surf school bookings") == "waves"
    assert scene_for("alpine mountain huts") == "mountains"
    assert scene_for("photos of owls and foxes") == "landscape"
    assert scene_for("a product catalogue") == "abstract"  # "cat" only as a whole word


def test_unwritable_output_raises_generation_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")

    with pytest.raises(GenerationError, match="could not write image to .*not-a-folder"):
        ProceduralImageBackend().generate(_request(), THEME, "App", blocker / "hero.png")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_full_disk_raises_generation_error() -> None:
    with pytest.raises(GenerationError, match="No space left on device"):
        ProceduralImageBackend().generate(_request(), THEME, "App", Path("/dev/full"))
