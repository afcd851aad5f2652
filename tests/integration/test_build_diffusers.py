"""A build whose images and video come from diffusers pipelines, end to end through the CLI.

The models are tiny random-weight pipelines saved in a folder, loaded through the same
``DiffusionPipeline.from_pretrained`` path a real SD-Turbo or Wan model takes, on the CPU.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appforge.config import Settings
from appforge.sandbox.containers import purge_instance
from tests.conftest import appforge_env, free_port
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def gpu_install(docker_client: Any, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Installation]:
    if not os.environ.get("CI"):
        pytest.importorskip("diffusers")
    from tests.tiny.image_pipelines import tiny_sd_turbo
    from tests.tiny.video_pipelines import tiny_wan

    models = tmp_path_factory.mktemp("models")
    home = tmp_path_factory.mktemp("appforge-diffusers")
    instance, port = f"afdiff{os.getpid()}", free_port()
    env = appforge_env(home, instance, port) | {
        "APPFORGE_IMAGE_BACKEND": "diffusers", "APPFORGE_VIDEO_BACKEND": "diffusers",
        "APPFORGE_IMAGE_MODEL": str(tiny_sd_turbo(models)),
        "APPFORGE_VIDEO_MODEL": str(tiny_wan(models / "tiny-wan")),
        "APPFORGE_DIFFUSERS_DEVICE": "cpu", "APPFORGE_VIDEO_STEPS": "2",
        # Sampled at a quarter of Wan's 832x480 area (CPU time goes with it), then scaled to the
        # page's size; the standard size's shapes are the unit tests'.
        "APPFORGE_VIDEO_SAMPLE_SIZE": "416x240"}
    yield Installation(Settings(home=home, instance=instance, http_port=port), env)
    purge_instance(docker_client, instance)


def test_landing_page_with_diffusers_image_and_video(gpu_install: Installation) -> None:
    import av

    # A 1-second clip: Wan's 4k+1 rule gives 25 frames (a 4-second one would be 81, three times
    # the CPU time of the tiny model, for nothing more tested).
    result = gpu_install.run_json("build", "A landing page for a surf school in Ericeira with a "
                                           "1-second hero video of waves at sunrise")
    manifest = json.loads((Path(result["workspace"]) / "assets.json").read_text())
    by_file = {m["file"].rsplit("/", 1)[1]: m for m in manifest}
    for name in ("hero.png", "logo.png", "hero-video.mp4"):
        entry = by_file[name]
        assert entry["backend"] == "diffusers", entry
        assert entry["reason"].startswith("diffusers: ")
        assert entry["report"]["seed"] == entry["seed"]
    assert by_file["hero.png"]["report"]["steps"] == 1  # SD-Turbo's one step
    assert by_file["hero-video.mp4"]["report"]["steps"] == 2
    width, height = by_file["hero-video.mp4"]["report"]["extra"]["sampled_size"]
    assert width * height <= 416 * 240 and width % 16 == height % 16 == 0
    assert by_file["hero-video.mp4"]["report"]["extra"]["size"] == [960, 540]  # the page's
    host = result["url"].split("//")[1].split(":")[0]
    video = gpu_install.get(host, "/static/assets/hero-video.mp4")
    assert video.status_code == 200
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in container.decode(stream)) == 25
    assert gpu_install.get(host, "/static/assets/hero.png").status_code == 200
