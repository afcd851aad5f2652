"""The diffusers image backend: an app's pictures from a local text-to-image model.

The pipeline class comes from the model's own ``model_index.json`` (SD-Turbo, SDXL-Turbo,
FLUX.1-schnell, any Stable Diffusion); only the sampling defaults depend on the family. Pictures
are made near the model's native pixel count and resized to the exact size asked for, and the
request's seed fixes the noise, so the same request gives the same PNG. Loading, caching and the
speed-ups live in :mod:`appforge.generators.diffusion`; torch and diffusers are imported only when
a picture is made.
"""

from __future__ import annotations

import colorsys
import inspect
import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from appforge.errors import GenerationError
from appforge.generators import diffusion
from appforge.generators.diffusion import DiffusersBackend, Report
from appforge.generators.image.files import write_file
from appforge.spec import AssetRequest, Theme

LOGO_STYLE = "flat vector logo mark, simple, centered"
BACKGROUND_STYLE = "soft, low contrast, uncluttered"
#: Only used by families that run classifier-free guidance (guidance above 1).
NEGATIVE_PROMPT = "text, watermark, signature, blurry, low quality, deformed"

#: Hue bands (upper bound in degrees) and their names, for describing a theme in words.
_HUES = ((15, "red"), (40, "orange"), (65, "yellow"), (160, "green"), (195, "teal"),
         (250, "blue"), (290, "purple"), (340, "pink"), (360, "red"))


@dataclass(frozen=True)
class Family:
    """Sampling defaults of a model family; ``None`` leaves the pipeline's own default."""

    steps: int | None
    guidance: float | None
    extra: dict[str, Any] = field(default_factory=dict)


def family_for(pipe: Any, model: str) -> Family:
    """Defaults for the loaded pipeline: by its class, the model's name and its config."""
    name = type(pipe).__name__
    if name in ("StableDiffusionPipeline", "StableDiffusionXLPipeline"):
        return Family(1, 0.0) if "turbo" in model.lower() else Family(25, 5.0)
    if name == "FluxPipeline":
        # FLUX.1-dev embeds the guidance scale; FLUX.1-schnell is distilled to 4 unguided steps.
        if getattr(pipe.transformer.config, "guidance_embeds", False):
            return Family(28, 3.5, {"max_sequence_length": 512})
        return Family(4, 0.0, {"max_sequence_length": 256})
    return Family(None, None)


def colour_name(hex_colour: str) -> str:
    """``"#2563eb"`` -> ``"blue"``: a plain word a text encoder knows."""
    r, g, b = (int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if lightness < 0.12:
        return "black"
    if lightness > 0.92:
        return "white"
    if saturation < 0.2:
        return "grey"
    return next(word for bound, word in _HUES if hue * 360 < bound)


def prompt_for(request: AssetRequest, theme: Theme) -> str:
    """The request's prompt, then the role's style and the theme's colours and mood."""
    colours = list(dict.fromkeys(colour_name(c) for c in (theme.primary, theme.accent)))
    mood = "dark, moody lighting" if theme.mode == "dark" else "bright, airy lighting"
    parts = [request.prompt.strip().rstrip(",.")]
    if request.role == "logo":
        parts.append(LOGO_STYLE)
    elif request.role == "background":
        parts.append(BACKGROUND_STYLE)
    parts.append(f"{' and '.join(colours)} colour palette")
    if request.role != "logo":
        parts.append(mood)
    return ", ".join(parts)


def generation_size(pipe: Any, width: int, height: int) -> tuple[int, int]:
    """The size to sample at: at most the model's native pixel count, in the multiple it needs.

    SD-Turbo asked for 1024x576 directly repeats its subject across the frame; sampling near its
    native 512x512 and resizing up gives one clean picture, and sooner.
    """
    processor = getattr(pipe, "image_processor", None)
    factor = getattr(getattr(processor, "config", None), "vae_scale_factor", None)
    multiple = math.lcm(8, int(factor or 8))  # SD checks % 8; FLUX packs 2x2 latents (16)
    native = _native_side(pipe)
    scale = min(1.0, native / math.sqrt(width * height)) if native else 1.0

    def fit(side: int) -> int:
        return max(multiple, round(side * scale / multiple) * multiple)

    return fit(width), fit(height)


def _native_side(pipe: Any) -> int | None:
    sample = getattr(pipe, "default_sample_size", None)
    if sample is None and getattr(pipe, "unet", None) is not None:
        sample = pipe.unet.config.sample_size
    if not isinstance(sample, int):
        return None
    return sample * int(getattr(pipe, "vae_scale_factor", 8))


class DiffusersImageBackend(DiffusersBackend):
    """Makes an app's pictures with a local diffusers text-to-image model."""

    def generate(self, request: AssetRequest, theme: Theme, title: str, out: Path) -> Path:
        """Make ``request`` with the model and write it as a PNG at ``out``; returns ``out``.

        ``title`` is unused: models cannot be trusted to spell, so logos carry no lettering.
        """
        try:
            image, report = self._make(request, theme)
        except (RuntimeError, ValueError) as exc:  # torch.OutOfMemoryError is a RuntimeError
            if diffusion.out_of_memory(exc):
                raise diffusion.oom_error("image", exc) from exc
            raise GenerationError(f"the diffusers model {self.model} failed making image "
                                  f"{request.name!r}: {exc}") from exc
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        write_file(buffer.getvalue(), out, "image")
        self.last_report = report
        return out

    def _make(self, request: AssetRequest, theme: Theme) -> tuple[Any, Report]:
        import torch

        pipe = diffusion.load_pipeline(self.model_path, self.options)
        family = family_for(pipe, f"{self.model} {self.model_path}")
        width, height = generation_size(pipe, request.width, request.height)
        kwargs = self._arguments(pipe, family, prompt_for(request, theme), width, height)
        # A CPU generator draws the same noise whatever device runs the model.
        kwargs["generator"] = torch.Generator(device="cpu").manual_seed(request.seed)
        start = time.perf_counter()
        output = pipe(**kwargs)
        seconds = time.perf_counter() - start
        images = getattr(output, "images", None)
        if not images:
            raise GenerationError(f"{self.model} ({type(pipe).__name__}) is not a text-to-image "
                                  "model", hint="set APPFORGE_IMAGE_MODEL to one, e.g. "
                                  "stabilityai/sd-turbo")
        image = images[0].convert("RGB")
        if image.size != (request.width, request.height):
            image = image.resize((request.width, request.height), Image.Resampling.LANCZOS)
        report = Report(self.model, kwargs["num_inference_steps"], request.seed, seconds, extra={
            "pipeline": type(pipe).__name__,
            "optimisations": list(getattr(pipe, "appforge_optimisations", [])),
            "device": str(getattr(pipe, "_execution_device", pipe.device)),
            "dtype": str(pipe.dtype).removeprefix("torch."),
            "sampled_size": [width, height],
        })
        return image, report

    def _arguments(self, pipe: Any, family: Family, prompt: str, width: int,
                   height: int) -> dict[str, Any]:
        accepted = inspect.signature(pipe.__call__).parameters
        steps = self.options.steps or family.steps
        if steps is None:  # an unknown family: the pipeline's own default
            default = getattr(accepted.get("num_inference_steps"), "default", None)
            steps = default if isinstance(default, int) else 25
        kwargs: dict[str, Any] = {"prompt": prompt, "width": width, "height": height,
                                  "num_inference_steps": steps, **family.extra}
        if family.guidance is not None:
            kwargs["guidance_scale"] = family.guidance
            if family.guidance > 1 and "negative_prompt" in accepted:
                kwargs["negative_prompt"] = NEGATIVE_PROMPT
        return kwargs
