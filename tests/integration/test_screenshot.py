"""Screenshots of deployed versions: headless Chromium in a sandbox container, after verify.

Through the real CLI, Docker engine and Debian's chromium: the build photographs the home page of
the version it deployed, the picture shows that page (its theme's colours), a failing browser
gives a clear error, and a build whose screenshot fails still ends with a running app.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from appforge.errors import ScreenshotFailed
from appforge.sandbox.browser import (
    ensure_browser_image,
    take_screenshot,
    thumbnail_path,
)
from appforge.sandbox.containers import container_name
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

BAKERY = "A landing page for a lighthouse bakery called Beacon Buns with warm orange colours"


@pytest.fixture(scope="module")
def bakery(installation: Installation) -> dict[str, Any]:
    return installation.run_json("build", BAKERY)


def _near(image: Image.Image, colour: str, tolerance: int = 6) -> int:
    """How many pixels are within ``tolerance`` (in every channel) of ``#rrggbb``."""
    r, g, b = ImageChops.difference(image, Image.new("RGB", image.size, colour)).split()
    return sum(ImageChops.lighter(ImageChops.lighter(r, g), b).histogram()[:tolerance + 1])


def test_build_photographs_the_deployed_home_page(installation: Installation,
                                                  bakery: dict[str, Any]) -> None:
    assert bakery["status"] == "running" and bakery["timings"]["screenshot"] > 0
    shown = installation.run_json("show", bakery["slug"])
    (version,) = shown["versions"]
    shot = Path(version["screenshot"])
    assert shot == Path(bakery["workspace"]) / ".appforge" / "screenshot.png"
    with Image.open(shot) as img:
        assert img.format == "PNG" and img.size == (1280, 800)
        page = img.convert("RGB")
    assert len(page.getcolors(maxcolors=1 << 24) or []) > 1000, "the screenshot is blank"
    # It is this app's page: the theme's accent (the call-to-action button) and background
    # (below the hero) cover real areas of it.
    theme = json.loads((Path(bakery["workspace"]) / ".appforge" / "spec.json").read_text())["theme"]
    assert _near(page, theme["accent"]) > 3000, theme["accent"]
    assert _near(page, theme["background"]) > 20000, theme["background"]
    with Image.open(thumbnail_path(shot)) as thumb:
        assert thumb.format == "PNG" and thumb.size == (480, 300)


def test_screenshot_failures_are_clear_errors(installation: Installation, bakery: dict[str, Any],
                                              docker_client: Any, tmp_path: Path) -> None:
    settings, slug = installation.settings, bakery["slug"]
    out = tmp_path / "shot.png"
    with pytest.raises(ScreenshotFailed, match=r"its network \S+-app-no-such-app is gone"):
        take_screenshot(docker_client, settings, "no-such-app", 1, "anything", out, print)
    # The app's own container, at a port nothing listens on.
    with pytest.raises(ScreenshotFailed, match="the page did not answer: .*refused"):
        take_screenshot(docker_client, settings, slug, 1,
                        f"{container_name(settings, slug, 1)}:9", out, print)
    assert not out.exists()
    # No browser container is left behind.
    left = docker_client.containers.list(all=True, filters={
        "label": [f"io.appforge.instance={settings.instance}", "io.appforge=screenshot"]})
    assert left == []


def test_screenshot_takes_seconds_and_the_browser_image_is_cached(
        installation: Installation, bakery: dict[str, Any], docker_client: Any,
        tmp_path: Path) -> None:
    settings, slug = installation.settings, bakery["slug"]
    start = time.monotonic()
    ensure_browser_image(docker_client, settings, print)
    assert time.monotonic() - start < 1
    start = time.monotonic()
    shot = take_screenshot(docker_client, settings, slug, 1, container_name(settings, slug, 1),
                           tmp_path / "again.png", print, width=800, height=600)
    assert time.monotonic() - start < 20
    with Image.open(shot) as img:
        assert img.size == (800, 600)


def test_build_goes_on_when_the_screenshot_fails(installation: Installation,
                                                 bakery: dict[str, Any]) -> None:
    # A machine that cannot reach a Debian mirror cannot make the browser image. The app's
    # own images need no mirror (the base image exists), so the build itself must succeed.
    env = {**installation.env, "APPFORGE_DEBIAN_SUITE": "afnomirror",
           "APPFORGE_DEBIAN_MIRROR": "http://127.0.0.1:9/debian"}
    proc = installation.run_with_env(env, "build", BAKERY, "--app", bakery["slug"])
    said = " ".join(proc.stdout.split())
    assert ("screenshot skipped: cannot make the browser image appforge/browser:afnomirror: "
            "E: Failed to fetch http://127.0.0.1:9/debian/") in said, proc.stdout
    shown = installation.run_json("show", bakery["slug"])
    assert shown["status"] == "running" and shown["current_version"] == 2
    v1, v2 = shown["versions"]
    assert v2["status"] == "running" and v2["screenshot"] == ""
    assert Path(v1["screenshot"]).is_file()  # the earlier version keeps its picture
    assert installation.get(f"{bakery['slug']}.localhost").status_code == 200
