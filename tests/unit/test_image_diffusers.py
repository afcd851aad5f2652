"""The diffusers image backend makes exact-size, reproducible PNGs from a local model folder.

The models are tiny random-weight SD-Turbo and FLUX.1-schnell pipelines built in code and saved
as folders (tests/tiny), loaded through the same ``DiffusionPipeline.from_pretrained`` as real
weights, on the CPU. Their pictures are noise; sizes, seeds, caching, reports and errors are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from appforge.errors import GenerationError
from appforge.generators import diffusion
from appforge.generators.diffusion import DiffusionOptions, choose
from appforge.generators.image import ImageBackend
from appforge.generators.image.diffusers_backend import (
    DiffusersImageBackend,
    colour_name,
    prompt_for,
)
from appforge.spec import AssetRequest, Theme
from tests.conftest import needs_diffusers

pytestmark = needs_diffusers

THEME = Theme(primary="#2563eb", accent="#f59e0b")
#: The settings' defaults (bf16 included), on the CPU even where a GPU is present.
CPU = DiffusionOptions(device="cpu")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    import torch

    from tests.tiny.image_pipelines import tiny_flux, tiny_sd_turbo

    # Tiny models gain nothing from threads, and on a busy machine OpenMP threads wait on each
    # other: one thread keeps this file fast everywhere.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("models")
    yield {"sd-turbo": tiny_sd_turbo(folder), "flux": tiny_flux(folder)}
    diffusion.PIPELINES.free()
    torch.set_num_threads(threads)


@pytest.fixture
def sd_turbo(models: dict[str, Path]) -> Path:
    return models["sd-turbo"]


def _backend(model: Path, options: DiffusionOptions = CPU) -> DiffusersImageBackend:
    choice = choose("image", "diffusers", str(model), device="cpu")
    return DiffusersImageBackend(choice.model, choice.model_path, options)


def _request(width: int = 64, height: int = 64, seed: int = 0, role: str = "hero") -> AssetRequest:
    return AssetRequest(kind="image", role=role, name=role, prompt="a cozy cafe with plants",
                        width=width, height=height, seed=seed)


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image, dtype=np.int16)


def test_diffusers_backend_is_an_image_backend(sd_turbo: Path) -> None:
    backend = _backend(sd_turbo)
    assert isinstance(backend, ImageBackend)
    assert backend.name == "diffusers"
    assert backend.last_report is None


@pytest.mark.parametrize("size", [(64, 64), (100, 60), (37, 129)])
def test_writes_a_png_of_exactly_the_requested_size(sd_turbo: Path, tmp_path: Path,
                                                    size: tuple[int, int]) -> None:
    out = _backend(sd_turbo).generate(_request(*size), THEME, "Cafe", tmp_path / "hero.png")

    assert out == tmp_path / "hero.png"
    with Image.open(out) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", size)


def test_same_seed_gives_the_same_png_and_another_seed_another_image(sd_turbo: Path,
                                                                     tmp_path: Path) -> None:
    backend = _backend(sd_turbo)
    first = backend.generate(_request(seed=7), THEME, "Cafe", tmp_path / "a.png")
    again = backend.generate(_request(seed=7), THEME, "Cafe", tmp_path / "b.png")
    other = backend.generate(_request(seed=8), THEME, "Cafe", tmp_path / "c.png")

    assert first.read_bytes() == again.read_bytes()
    assert np.abs(_pixels(first) - _pixels(other)).max() > 0


def test_second_image_reuses_the_loaded_pipeline(sd_turbo: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    load = diffusion._load
    monkeypatch.setattr(diffusion, "_load", lambda *args: loads.append(args) or load(*args))
    diffusion.PIPELINES.free()
    backend = _backend(sd_turbo)

    backend.generate(_request(seed=1), THEME, "Cafe", tmp_path / "one.png")
    backend.generate(_request(seed=2), THEME, "Cafe", tmp_path / "two.png")
    _backend(sd_turbo).generate(_request(seed=3), THEME, "Cafe", tmp_path / "three.png")

    assert len(loads) == 1
    assert len(diffusion.PIPELINES) == 1


def test_report_records_steps_seed_and_pipeline(sd_turbo: Path, tmp_path: Path) -> None:
    backend = _backend(sd_turbo)
    backend.generate(_request(100, 60, seed=42), THEME, "Cafe", tmp_path / "hero.png")

    report = backend.last_report
    assert report is not None
    assert (report.model, report.steps, report.seed) == (str(sd_turbo), 1, 42)
    assert report.seconds > 0
    assert report.extra["pipeline"] == "StableDiffusionPipeline"
    assert "fused qkv" in report.extra["optimisations"]
    assert all(side % 8 == 0 for side in report.extra["sampled_size"])


def test_steps_setting_overrides_the_family_default(sd_turbo: Path, tmp_path: Path) -> None:
    backend = _backend(sd_turbo, DiffusionOptions(device="cpu", steps=2))
    backend.generate(_request(), THEME, "Cafe", tmp_path / "hero.png")

    assert backend.last_report is not None and backend.last_report.steps == 2


def test_flux_schnell_makes_an_exact_size_png_in_four_steps(models: dict[str, Path],
                                                            tmp_path: Path) -> None:
    backend = _backend(models["flux"])
    out = backend.generate(_request(72, 40, seed=5), THEME, "Cafe", tmp_path / "hero.png")

    with Image.open(out) as image:
        assert image.size == (72, 40)
    assert backend.last_report is not None
    assert backend.last_report.extra["pipeline"] == "FluxPipeline"
    assert backend.last_report.steps == 4


def test_prompt_adds_theme_colours_and_logo_style() -> None:
    hero = prompt_for(_request(), THEME)
    logo = prompt_for(_request(role="logo"), Theme(mode="dark", primary="#7c3aed",
                                                   accent="#f472b6"))

    assert hero.startswith("a cozy cafe with plants, ")
    assert "blue and orange colour palette" in hero and "bright" in hero
    assert "flat vector logo mark, simple, centered" in logo
    assert "purple and pink" in logo
    assert [colour_name(c) for c in ("#0b1020", "#f8fafc", "#64748b", "#16a34a")] == [
        "black", "white", "grey", "green"]


def test_auto_without_a_gpu_uses_procedural_and_says_why(sd_turbo: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diffusion, "gpu_present", lambda: False)
    choice = choose("image", "auto", str(sd_turbo))

    assert choice.backend == "procedural"
    assert "GPU" in choice.reason


def test_auto_with_a_gpu_and_diffusers_asked_for_use_the_model(
        sd_turbo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diffusion, "gpu_present", lambda: True)

    for setting in ("auto", "diffusers"):
        choice = choose("image", setting, str(sd_turbo))
        assert (choice.backend, choice.model_path) == ("diffusers", str(sd_turbo))


def test_missing_model_fails_when_asked_for_and_falls_back_on_auto(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")

    with pytest.raises(GenerationError, match="no-such-model"):
        choose("image", "diffusers", missing)
    choice = choose("image", "auto", missing)
    assert choice.backend == "procedural"
    assert "no-such-model" in choice.reason and "procedural" in choice.reason


def test_unwritable_output_is_a_generation_error(sd_turbo: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")

    with pytest.raises(GenerationError, match="could not write image"):
        _backend(sd_turbo).generate(_request(), THEME, "Cafe", tmp_path / "file" / "hero.png")


def test_out_of_memory_is_a_generation_error_with_a_hint(sd_turbo: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    pipe = diffusion.load_pipeline(str(sd_turbo), CPU)

    def out_of_memory(self: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(type(pipe), "__call__", out_of_memory)

    with pytest.raises(GenerationError, match="ran out of memory") as error:
        _backend(sd_turbo).generate(_request(), THEME, "Cafe", tmp_path / "hero.png")
    assert "CPU_OFFLOAD" in (error.value.hint or "")
    assert not (tmp_path / "hero.png").exists()
