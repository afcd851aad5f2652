"""Screenshots of deployed versions: headless Chromium in a sandbox container, after verify.

Through the real CLI, Docker engine and Debian's chromium: the build photographs the home page of
the version it deployed, the picture shows that page (its theme's colours), a failing browser
gives a clear error, and a build whose screenshot fails still ends with a running app.
"""

from __future__ import annotations

import json
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
    proc = installation.run_with_env(installation.with_screenshots, "build", BAKERY, "--json")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _near(image: Image.Image, colour: str, tolerance: int = 6) -> int:
    """How many pixels are within ``tolerance`` (in every channel) of ``#rrggbb``."""
    r, g, b = ImageChops.difference(image, Image.new("RGB", image.size, colour)).split()
    return sum(ImageChops.lighter(ImageChops.lighter(r, g), b).histogram()[:tolerance + 1])


def test_build_photographs_the_deployed_home_page(installation: Installation,
                                                  bakery: dict[str, Any]) -> None:
    # The build returns once the app is live; the picture is taken after, in the background.
    assert bakery["status"] == "running" and bakery["screenshot_status"] == "pending"
    version = installation.wait_for_screenshot(bakery["slug"], 1)
    assert version["screenshot_status"] == "taken", version
    shot = Path(version["screenshot"])
    assert str(shot) == bakery["screenshot"]
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


def test_the_browser_image_is_made_once_and_reused(
        installation: Installation, bakery: dict[str, Any], docker_client: Any,
        tmp_path: Path) -> None:
    settings, slug = installation.settings, bakery["slug"]
    installation.wait_for_screenshot(slug, 1)
    tag = ensure_browser_image(docker_client, settings, print)
    before = docker_client.images.get(tag).id
    said: list[str] = []
    assert ensure_browser_image(docker_client, settings, said.append) == tag
    assert said == [] and docker_client.images.get(tag).id == before  # found, not rebuilt
    shot = take_screenshot(docker_client, settings, slug, 1, container_name(settings, slug, 1),
                           tmp_path / "again.png", print, width=800, height=600)
    with Image.open(shot) as img:
        assert img.size == (800, 600)


def test_build_goes_on_when_the_screenshot_fails(installation: Installation,
                                                 bakery: dict[str, Any]) -> None:
    # A machine that cannot reach a Debian mirror cannot make the browser image. The app's
    # own images need no mirror (the base image exists), so the build itself must succeed.
    env = {**installation.with_screenshots, "APPFORGE_DEBIAN_SUITE": "afnomirror",
           "APPFORGE_DEBIAN_MIRROR": "http://127.0.0.1:9/debian"}
    installation.wait_for_screenshot(bakery["slug"], 1)
    installation.run_with_env(env, "build", BAKERY, "--app", bakery["slug"])
    v2 = installation.wait_for_screenshot(bakery["slug"], 2)
    assert v2["screenshot_status"] == "skipped" and v2["screenshot"] == ""
    assert ("cannot make the browser image appforge/browser:afnomirror: "
            "E: Failed to fetch http://127.0.0.1:9/debian/") in v2["screenshot_error"], v2
    shown = installation.run_json("show", bakery["slug"])
    assert shown["status"] == "running" and shown["current_version"] == 2
    v1 = shown["versions"][0]
    assert v2["status"] == "running"
    assert Path(v1["screenshot"]).is_file()  # the earlier version keeps its picture
    assert installation.get(f"{bakery['slug']}.localhost").status_code == 200
