"""The diffusers video backend runs real Wan and LTX-Video pipelines (tiny, random weights, CPU)
into browser-ready H.264 clips, loaded from model folders the way real models are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from appforge.config import Settings
from appforge.errors import GenerationError
from appforge.generators import diffusion
from appforge.generators.diffusion import DiffusionOptions
from appforge.generators.video import VideoBackend, VideoResult
from appforge.generators.video.diffusers_backend import (
    COGVIDEOX,
    LTX,
    WAN,
    DiffusersVideoBackend,
    Shot,
    plan_shot,
)
from appforge.spec import AssetRequest, Theme
from tests.conftest import needs_diffusers
from tests.tiny.video_pipelines import tiny_ltx, tiny_wan

pytestmark = needs_diffusers

THEME = Theme(primary="#0f766e", accent="#f97316")
OPTIONS = DiffusionOptions(device="cpu", dtype="float32", steps=2)


def _request(width: int = 48, height: int = 30, seconds: float = 1.0, fps: int = 14,
             seed: int = 0) -> AssetRequest:
    return AssetRequest(kind="video", role="hero", name="intro", prompt="surf school at dawn",
                        width=width, height=height, seconds=seconds, fps=fps, seed=seed)


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _top_level_boxes(path: Path) -> list[str]:
    data, boxes, offset = path.read_bytes(), [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        boxes.append(data[offset + 4 : offset + 8].decode("latin-1"))
        offset += size or len(data) - offset
    return boxes


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads, and on a busy two-core machine two spin-waiting
    threads made this file three times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each tiny model folder, built once for the module."""
    root = tmp_path_factory.mktemp("models")
    return {"wan": tiny_wan(root / "wan"), "ltx": tiny_ltx(root / "ltx"),
            "ltx-i2v": tiny_ltx(root / "ltx-i2v", image_to_video=True)}


def _backend(models: dict[str, Path], name: str = "wan") -> DiffusersVideoBackend:
    return DiffusersVideoBackend(f"tiny-{name}", str(models[name]), OPTIONS)


@pytest.fixture(scope="module")
def clips(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, tuple[VideoResult, diffusion.Report]]:
    """A 48x30 clip asked for as 1 s at 14 fps, from each text-to-video model."""
    made = {}
    for name in ("wan", "ltx"):
        backend = _backend(models, name)
        out = tmp_path_factory.mktemp(name) / "intro.mp4"
        made[name] = (backend.generate(_request(), THEME, "Surf", out), backend.last_report)
    return made


def test_diffusers_backend_is_a_video_backend(models: dict[str, Path]) -> None:
    backend = _backend(models)
    assert isinstance(backend, VideoBackend)
    assert backend.name == "diffusers"


@pytest.mark.parametrize(("name", "frames"), [("wan", 13), ("ltx", 17)])
def test_clip_is_h264_yuv420p_faststart_with_the_familys_frame_count(
        clips: dict[str, tuple[VideoResult, diffusion.Report]], name: str, frames: int) -> None:
    # 14 frames asked for: Wan makes 4k+1 (13), LTX-Video 8k+1 (17).
    clip, report = clips[name]
    assert (clip.codec, clip.fps, clip.frames, clip.width, clip.height) == ("h264", 14, frames,
                                                                            48, 30)
    with av.open(str(clip.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == 14
        assert (stream.codec_context.width, stream.codec_context.height) == (48, 30)
    assert len(_decode(clip.path)) == frames
    boxes = _top_level_boxes(clip.path)
    assert boxes.index("moov") < boxes.index("mdat"), f"moov must come first: {boxes}"
    # Sampled at the family's multiple (16 for Wan, 32 for LTX), resized to the size asked for.
    assert report.extra["sampled_size"] == ([48, 32] if name == "wan" else [64, 32])
    assert report.extra["frames"] == frames and report.extra["fps"] == 14


@pytest.mark.parametrize("name", ["wan", "ltx"])
def test_poster_is_the_first_frame_at_the_videos_size(
        clips: dict[str, tuple[VideoResult, diffusion.Report]], name: str) -> None:
    clip, _ = clips[name]
    assert clip.poster == clip.path.parent / "intro-poster.jpg"
    with Image.open(clip.poster) as poster:
        assert (poster.format, poster.size) == ("JPEG", (48, 30))
        pixels = np.asarray(poster.convert("RGB"), dtype=float)
    # Both lossy (and the tiny models' frames are noise): the poster is nearest the first frame.
    distances = [np.abs(pixels - frame).mean() for frame in _decode(clip.path)]
    assert int(np.argmin(distances)) == 0, distances


def test_report_says_what_ran(clips: dict[str, tuple[VideoResult, diffusion.Report]]) -> None:
    _, report = clips["wan"]
    assert (report.model, report.steps, report.seed) == ("tiny-wan", 2, 0)
    assert report.seconds > 0
    assert report.extra["pipeline"] == "WanPipeline"
    assert report.extra["image_to_video"] is False and report.extra["still"] == "none"
    assert "fused qkv" in report.extra["optimisations"]
    assert report.extra["device"] == "cpu"


@pytest.mark.parametrize("name", ["wan", "ltx"])
def test_same_seed_same_frames_and_another_seed_other_frames(
        models: dict[str, Path], tmp_path: Path, name: str) -> None:
    backend = _backend(models, name)
    decoded = [_decode(backend.generate(_request(seed=seed), THEME, "Surf",
                                        tmp_path / f"{i}" / "intro.mp4").path)
               for i, seed in enumerate((7, 7, 8))]
    assert np.array_equal(decoded[0], decoded[1])
    assert np.abs(decoded[0].astype(float) - decoded[2]).mean() > 0.5


def test_pipeline_is_loaded_once_for_many_clips(
        models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    real_load = diffusion._load

    def counting_load(*args: object) -> object:
        loads.append(args[0])
        return real_load(*args)

    diffusion.PIPELINES.free()
    monkeypatch.setattr(diffusion, "_load", counting_load)
    for i in range(2):  # two backends of one model, as two builds in one process have
        _backend(models).generate(_request(seed=i), THEME, "Surf", tmp_path / f"{i}.mp4")
    assert loads == [str(models["wan"])]


def test_auto_picks_procedural_without_a_gpu_and_diffusers_when_asked(
        models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diffusion, "gpu_present", lambda: False)
    auto = diffusion.choose("video", "auto", str(models["wan"]))
    assert auto.backend == "procedural" and "no CUDA GPU" in auto.reason

    with pytest.raises(GenerationError, match="no CUDA GPU found") as info:
        diffusion.choose("video", "diffusers", str(models["wan"]))
    assert "APPFORGE_DIFFUSERS_DEVICE=cpu" in str(info.value)
    asked = diffusion.choose("video", "diffusers", str(models["wan"]), device="cpu")
    assert (asked.backend, asked.model_path) == ("diffusers", str(models["wan"]))


def test_text_to_video_model_reports_the_still_unused(
        models: dict[str, Path], tmp_path: Path) -> None:
    still = tmp_path / "hero.png"
    Image.new("RGB", (48, 30), (200, 40, 40)).save(still)
    backend = _backend(models)
    backend.generate(_request(), THEME, "Surf", tmp_path / "intro.mp4", still=still)
    assert backend.last_report is not None
    assert backend.last_report.extra["image_to_video"] is False
    assert backend.last_report.extra["still"] == "not used: WanPipeline is text-to-video"


def test_image_to_video_model_animates_the_still(models: dict[str, Path], tmp_path: Path) -> None:
    still = tmp_path / "hero.png"
    Image.new("RGB", (96, 60), (200, 40, 40)).save(still)
    backend = _backend(models, "ltx-i2v")
    clip = backend.generate(_request(), THEME, "Surf", tmp_path / "intro.mp4", still=still)
    assert clip.frames == 17
    assert backend.last_report is not None
    assert backend.last_report.extra["pipeline"] == "LTXImageToVideoPipeline"
    assert backend.last_report.extra["image_to_video"] is True
    assert backend.last_report.extra["still"] == "animated"


def test_unwritable_output_fails_before_generating(models: dict[str, Path],
                                                   tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the asset folder should be")
    backend = _backend(models)
    with pytest.raises(GenerationError, match="could not write video"):
        backend.generate(_request(), THEME, "Surf", blocker / "assets" / "intro.mp4")
    assert backend.last_report is None


def test_out_of_memory_says_how_to_fit(models: dict[str, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _backend(models)

    def out_of_memory(*args: object) -> None:
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(backend, "render", out_of_memory)
    with pytest.raises(GenerationError, match="ran out of memory making the video") as caught:
        backend.generate(_request(), THEME, "Surf", tmp_path / "intro.mp4")
    assert "CPU_OFFLOAD" in (caught.value.hint or "")


def test_a_folder_of_another_pipeline_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    backend = DiffusersVideoBackend("sd", str(tmp_path), OPTIONS)
    with pytest.raises(GenerationError, match="not a video pipeline"):
        backend.generate(_request(), THEME, "Surf", tmp_path / "intro.mp4")


def test_shots_follow_each_familys_rules() -> None:
    hero = AssetRequest(kind="video", role="hero", name="hero", prompt="p", width=1024,
                        height=576, seconds=4, fps=24)
    # 96 frames asked for: capped at what each family was trained on.
    assert plan_shot(hero, WAN) == Shot(848, 480, 81)
    assert plan_shot(hero, LTX).frames == 97 and plan_shot(hero, COGVIDEOX).frames == 49
    width, height = plan_shot(hero, LTX).width, plan_shot(hero, LTX).height
    assert width % 32 == height % 32 == 0 and width * height <= 704 * 512 * 1.1
    small = _request(width=320, height=180, seconds=0.25, fps=8)  # 2 frames asked for
    assert plan_shot(small, WAN).frames == 5 and plan_shot(small, LTX).frames == 9
    assert (plan_shot(small, WAN).width, plan_shot(small, WAN).height) == (320, 176)


def test_a_sample_size_setting_caps_the_sampled_area_and_keeps_the_shape() -> None:
    hero = AssetRequest(kind="video", role="hero", name="hero", prompt="p", width=1024,
                        height=576, seconds=1, fps=24)
    options = Settings(video_sample_size="256x144").diffusion_options("video")
    assert options.max_area == 256 * 144
    assert Settings().diffusion_options("video").max_area is None
    assert plan_shot(hero, WAN, options.max_area) == Shot(256, 144, 25)
    # a cap above the model's standard size changes nothing
    assert plan_shot(hero, WAN, 4096 * 2160) == plan_shot(hero, WAN) == Shot(848, 480, 25)
    for bad in ("256", "0x10", "big", "256x144x2"):
        with pytest.raises(ValueError, match="video_sample_size"):
            Settings(video_sample_size=bad)
