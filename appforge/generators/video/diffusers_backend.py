"""The diffusers video backend: an app's clips from a local text- or image-to-video model.

The pipeline class comes from the model's own ``model_index.json``; what depends on it is in
:data:`FAMILIES`: Wan 2.1 and CogVideoX make ``4k+1`` frames, LTX-Video ``8k+1``, each up to the
length it was trained on, at sides in its multiple. A request is sampled at no more than the
family's standard pixel count (Wan 2.1: 832x480) with the frame count nearest ``seconds * fps``,
then resized to the size asked for (even sides, for yuv420p) and encoded at the request's fps by
:func:`~appforge.generators.video.encode.write_h264`, like the procedural clips. A folder holding
an image-to-video pipeline (its ``__call__`` takes an ``image``) animates the still; a
text-to-video one ignores it and the report says so. A CPU generator seeded with the request's
seed fixes the noise, so the same request gives the same frames. Loading, caching and speed-ups
live in :mod:`appforge.generators.diffusion`; torch and diffusers are imported only when a clip
is made.
"""

from __future__ import annotations

import inspect
import io
import json
import math
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from appforge.errors import GenerationError
from appforge.generators import diffusion
from appforge.generators.diffusion import DiffusersBackend, Report
from appforge.generators.image.diffusers_backend import prompt_for
from appforge.generators.image.files import write_error, write_file
from appforge.generators.image.procedural import ProceduralImageBackend
from appforge.generators.video.encode import CODEC, write_h264
from appforge.generators.video.procedural import DEFAULT_SECONDS
from appforge.generators.video.result import VideoResult
from appforge.spec import AssetRequest, Theme

#: LTX-Video's suggested negative prompt, plus lettering (models cannot spell).
NEGATIVE_PROMPT = "worst quality, inconsistent motion, blurry, jittery, distorted, text, watermark"
_POSTER_QUALITY = 85  # as the procedural backend's posters


@dataclass(frozen=True)
class Family:
    """What a family of video pipelines needs, and its sampling defaults."""

    name: str
    multiple: int  # width and height are multiples of this
    frame_step: int  # frame counts are frame_step * k + 1
    max_frames: int  # the longest clip it was trained on
    standard: tuple[int, int]  # its standard size; larger requests are sampled at its area
    steps: int
    guidance: float
    #: Wan's documentation recommends decoding with the VAE in float32 for quality.
    vae_float32: bool = False


WAN = Family("Wan", 16, 4, 81, (832, 480), 30, 5.0, vae_float32=True)
LTX = Family("LTX-Video", 32, 8, 161, (704, 512), 50, 3.0)
COGVIDEOX = Family("CogVideoX", 16, 4, 49, (720, 480), 50, 6.0)
FAMILIES = {
    "WanPipeline": WAN, "WanImageToVideoPipeline": WAN,
    "LTXPipeline": LTX, "LTXImageToVideoPipeline": LTX,
    "CogVideoXPipeline": COGVIDEOX, "CogVideoXImageToVideoPipeline": COGVIDEOX,
}


@dataclass(frozen=True)
class Shot:
    """What one pipeline call samples: its size and frame count."""

    width: int
    height: int
    frames: int


def plan_shot(request: AssetRequest, family: Family, max_area: int | None = None) -> Shot:
    """The family's frame count nearest ``seconds * fps``, at a size it can sample.

    The size keeps the request's shape at no more pixels than the family's standard size, or
    ``max_area`` where that is smaller (``APPFORGE_VIDEO_SAMPLE_SIZE``)."""
    wanted = max(1, round((request.seconds or DEFAULT_SECONDS) * request.fps))
    steps = max(1, round((wanted - 1) / family.frame_step))
    frames = min(family.frame_step * steps + 1, family.max_frames)
    area = family.standard[0] * family.standard[1]
    if max_area:
        area = min(area, max_area)
    scale = min(1.0, math.sqrt(area / (request.width * request.height)))

    def fit(side: int) -> int:
        return max(family.multiple, round(side * scale / family.multiple) * family.multiple)

    return Shot(fit(request.width), fit(request.height), frames)


def pipeline_class(model_path: str) -> str:
    """The pipeline class a model folder names in its ``model_index.json``."""
    try:
        index = json.loads((Path(model_path) / "model_index.json").read_text(encoding="utf-8"))
        return str(index["_class_name"])
    except (OSError, ValueError, KeyError) as exc:
        raise GenerationError(f"{model_path} is not a diffusers model folder: {exc}") from None


class DiffusersVideoBackend(DiffusersBackend):
    """Makes an app's clips with a local diffusers video model; see the module docstring."""

    def generate(
        self, request: AssetRequest, theme: Theme, title: str, out: Path, still: Path | None = None
    ) -> VideoResult:
        """Write the clip at ``out`` and its poster (first frame, JPEG) beside it."""
        _check_writable(out)  # before minutes of GPU work, not after
        try:
            frames, report = self.render(request, theme, title, still)
        except (RuntimeError, ValueError) as exc:  # torch.OutOfMemoryError is a RuntimeError
            if diffusion.out_of_memory(exc):
                raise diffusion.oom_error("video", exc) from exc
            raise GenerationError(f"the diffusers model {self.model} failed making video "
                                  f"{request.name!r}: {exc}") from exc
        # yuv420p stores colour per 2x2 block, so H.264 in it needs even sides.
        width, height = request.width - request.width % 2, request.height - request.height % 2
        written = write_h264(_pictures(frames, width, height), out, width, height, request.fps)
        poster = out.parent / (request.poster_filename or f"{out.stem}-poster.jpg")
        buffer = io.BytesIO()
        next(_pictures(frames[:1], width, height)).save(buffer, format="JPEG",
                                                        quality=_POSTER_QUALITY)
        write_file(buffer.getvalue(), poster, "poster")
        report.extra["size"] = [width, height]
        self.last_report = report
        return VideoResult(path=out, poster=poster, frames=written, fps=request.fps,
                           width=width, height=height, codec=CODEC)

    def family(self) -> Family:
        """The model's family, known from its folder before anything is loaded."""
        name = pipeline_class(self.model_path)
        if name not in FAMILIES:
            raise GenerationError(
                f"{self.model} holds a {name}, not a video pipeline appforge can drive",
                hint="set APPFORGE_VIDEO_MODEL to a Wan 2.1, LTX-Video or CogVideoX model, e.g. "
                "Wan-AI/Wan2.1-T2V-1.3B-Diffusers")
        return FAMILIES[name]

    def pipeline(self) -> Any:
        """The loaded pipeline: once per process and options (:class:`diffusion.PipelineCache`)."""
        import torch

        family = self.family()
        pipe = diffusion.load_pipeline(self.model_path, self.options)
        if family.vae_float32 and pipe.vae.dtype != torch.float32:
            pipe.vae.float()  # not .to(float32): diffusers 0.42 warns on every dtype move
        return pipe

    def arguments(self, pipe: Any, request: AssetRequest, theme: Theme, title: str,
                  still: Path | None) -> dict[str, Any]:
        """The pipeline call's arguments for ``request`` (the benchmark reuses them)."""
        import torch

        family = FAMILIES[type(pipe).__name__]
        shot = plan_shot(request, family, self.options.max_area)
        accepted = inspect.signature(pipe.__call__).parameters
        kwargs: dict[str, Any] = {
            "prompt": prompt_for(request, theme), "negative_prompt": NEGATIVE_PROMPT,
            "width": shot.width, "height": shot.height, "num_frames": shot.frames,
            "num_inference_steps": self.options.steps or family.steps,
            "guidance_scale": family.guidance, "output_type": "np",
            # A CPU generator draws the same noise whatever device runs the model.
            "generator": torch.Generator(device="cpu").manual_seed(request.seed),
        }
        if "frame_rate" in accepted:  # LTX-Video scales its positions in time by it
            kwargs["frame_rate"] = request.fps
        if "image" in accepted:
            kwargs["image"] = ImageOps.fit(_still(request, theme, title, still),
                                           (shot.width, shot.height), Image.Resampling.LANCZOS)
        return kwargs

    def render(self, request: AssetRequest, theme: Theme, title: str,
               still: Path | None = None) -> tuple[np.ndarray, Report]:
        """Run the model: frames (count, height, width, RGB floats in 0..1) and what was done."""
        pipe = self.pipeline()
        kwargs = self.arguments(pipe, request, theme, title, still)
        start = time.perf_counter()
        output = pipe(**kwargs)
        seconds = time.perf_counter() - start
        frames = np.asarray(output.frames[0], dtype=np.float32)
        image_to_video = "image" in kwargs
        if image_to_video:
            use = "animated" if still is not None else "none given: drew one procedurally"
        elif still is not None:
            use = f"not used: {type(pipe).__name__} is text-to-video"
        else:
            use = "none"
        report = Report(self.model, kwargs["num_inference_steps"], request.seed, seconds, extra={
            "pipeline": type(pipe).__name__,
            "frames": int(frames.shape[0]),
            "fps": request.fps,
            "sampled_size": [int(frames.shape[2]), int(frames.shape[1])],
            "guidance": kwargs["guidance_scale"],
            "image_to_video": image_to_video,
            "still": use,
            "optimisations": list(getattr(pipe, "appforge_optimisations", [])),
            "device": str(getattr(pipe, "_execution_device", pipe.device)),
            "dtype": str(pipe.transformer.dtype).removeprefix("torch."),
            "vae_dtype": str(pipe.vae.dtype).removeprefix("torch."),
        })
        return frames, report


def _still(request: AssetRequest, theme: Theme, title: str, still: Path | None) -> Image.Image:
    """The picture an image-to-video model animates: the given still, or one drawn for it."""
    if still is None:
        drawn = request.model_copy(update={"kind": "image"})
        return ProceduralImageBackend().render(drawn, theme, title).convert("RGB")
    try:
        with Image.open(still) as image:
            return image.convert("RGB")
    except OSError as exc:
        raise GenerationError(f"could not read the still image {still}: {exc}") from exc


def _pictures(frames: np.ndarray, width: int, height: int) -> Iterator[Image.Image]:
    """Model frames (floats in 0..1) as ``width`` x ``height`` RGB pictures."""
    for frame in frames:
        picture = Image.fromarray((np.clip(frame, 0.0, 1.0) * 255).round().astype(np.uint8))
        if picture.size != (width, height):
            picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        yield picture


def _check_writable(out: Path) -> None:
    """Raise :class:`GenerationError` now if nothing can be written where ``out`` goes."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as exc:
        raise write_error("video", out, exc) from exc
