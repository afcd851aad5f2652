"""The review dashboard driven in real headless Chromium, against real builds and deploys.

A landing app with a hero video is built twice through the CLI (the second time with another
name, so the versions differ), ``appforge serve`` runs as a subprocess, and Playwright drives
Debian's Chromium through it: the list, an app, a diff, the video, the chat (a change planned,
approved and deployed), a rollback by the form. Every page's console messages and errors are
collected; none may be an error (a CSP violation, a failed request, a script error all show up
there).
"""

from __future__ import annotations

import json

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

CHROMIUM = Path("/usr/bin/chromium")
SLUG = "review-surf"
SURF = "A landing page for a surf school in Ericeira with a hero video of waves at sunrise"
SURF_2 = ("A landing page for a surf school called Salty Ericeira with a hero video of waves at "
          "sunset")
#: Where to save screenshots of the pages (for the docs), when set.
SHOTS = os.environ.get("APPFORGE_DASHBOARD_SHOTS", "")


def _playwright_or_skip() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    else:
        if CHROMIUM.exists():
            return sync_playwright
        missing = f"{CHROMIUM} is missing (scripts/install.sh installs chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must be able to drive a browser: {missing}")
    pytest.skip(missing)


@pytest.fixture(scope="module")
def builds(installation: Installation) -> tuple[dict[str, Any], dict[str, Any]]:
    first = installation.run_json("build", SURF, "--app", SLUG)
    proc = installation.run_with_env(installation.with_screenshots, "build", SURF_2, "--app",
                                     SLUG, "--json")
    second = json.loads(proc.stdout.strip().splitlines()[-1])
    # The picture is taken after the build returned; the review shows it once it is there.
    assert installation.wait_for_screenshot(SLUG, second["version"])["screenshot_status"] \
        == "taken"
    return first, second


@pytest.fixture(scope="module")
def dashboard(installation: Installation, builds: Any) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "appforge.cli", "serve", "--port", str(port)],
                            env=installation.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"appforge serve did not start:\n{proc.communicate()[0]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


class Tab:
    """One browser page that remembers every console message and page error it saw."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base = page, base
        self.messages: list[str] = []
        page.on("console", lambda m: self.messages.append(f"{m.type}: {m.text} ({page.url})"))
        page.on("pageerror", lambda e: self.messages.append(f"error: {e} ({page.url})"))

    def goto(self, path: str) -> Any:
        response = self.page.goto(self.base + path, wait_until="load")
        assert response is not None and response.status == 200, path
        return response

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))

    @property
    def errors(self) -> list[str]:
        return [m for m in self.messages if m.startswith("error")]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _playwright_or_skip()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Any, dashboard: str) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    yield Tab(context.new_page(), dashboard)
    context.close()


def test_the_list_shows_the_app_running_its_latest_version(tab: Tab, builds: Any) -> None:
    tab.goto("/")
    card = tab.page.locator(f'[data-app="{SLUG}"]')
    card.wait_for()
    text = card.inner_text()
    assert "Salty Ericeira" in text and "running" in text
    assert f"v{builds[1]['version']}" in text
    health = card.locator(".facts .pill").first.inner_text()
    assert health in ("healthy", "starting", "running"), health
    tab.shot("dashboard-apps")
    card.get_by_role("link", name="Salty Ericeira: Surf School", exact=True).click()
    tab.page.wait_for_url(f"**/apps/{SLUG}")
    assert tab.page.locator("[data-live-version]").inner_text() == f"live v{builds[1]['version']}"
    # The screenshot taken in the background after the build is in the review.
    loaded = tab.page.locator("img.browser-shot").evaluate("img => img.naturalWidth")
    assert loaded > 0
    tab.shot("dashboard-app")
    assert tab.errors == []


def test_the_diff_between_the_two_versions_shows_the_changed_name(tab: Tab, builds: Any) -> None:
    first, second = builds[0]["version"], builds[1]["version"]
    tab.goto(f"/apps/{SLUG}")
    tab.page.get_by_role("link", name="Diff").click()
    tab.page.select_option("select[name=a]", str(first))
    tab.page.select_option("select[name=b]", str(second))
    tab.page.get_by_role("button", name="Compare").click()
    tab.page.wait_for_url(f"**/diff?a={first}&b={second}")
    site = tab.page.locator("section.diff-file", has_text="app/site.py")
    assert "NAME = 'Ericeira Surf School'" in site.locator("tr.diff-del").all_inner_texts()[0]
    added = " ".join(site.locator("tr.diff-add").all_inner_texts())
    assert "NAME = 'Salty Ericeira'" in added
    assert "hero-video.mp4" in tab.page.locator(".diff-files").inner_text()
    tab.shot("dashboard-diff")
    assert tab.errors == []


def test_the_hero_video_plays_in_the_assets_tab(tab: Tab, builds: Any) -> None:
    tab.goto(f"/apps/{SLUG}/assets")
    video = tab.page.locator("video").first
    video.scroll_into_view_if_needed()
    video.evaluate("v => v.play()")
    tab.page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return v.readyState >= 2 && v.currentTime > 0.3; }",
                               timeout=20_000)
    assert video.evaluate("v => v.videoWidth") == 960
    assert video.evaluate("v => v.error") is None
    assert tab.errors == []


def test_every_tab_renders_without_console_errors(tab: Tab, builds: Any) -> None:
    for path in ("versions", "plan", "files", "tests", "build-log", "logs", "domains", "chat"):
        tab.goto(f"/apps/{SLUG}/{path}")
        assert tab.page.locator(".tab.active").count() == 1
    tab.goto(f"/apps/{SLUG}/files?path=app/main.py")
    assert tab.page.locator(".code .kn").count() > 0  # highlighted
    tab.goto(f"/apps/{SLUG}/logs")
    tab.page.wait_for_function("() => document.querySelector('[data-logs-state]').textContent"
                               " === 'live'", timeout=10_000)
    tab.goto(f"/apps/{SLUG}")
    tab.page.wait_for_function("() => document.querySelector('[data-stat=cpu]').textContent"
                               ".includes('%')", timeout=20_000)
    assert tab.errors == []


def test_the_chat_in_the_page_plans_a_change_and_approving_it_deploys_it(
        tab: Tab, builds: Any, installation: Installation) -> None:
    tab.goto(f"/apps/{SLUG}/chat")
    tab.page.fill("#chat-text", "make it dark")
    tab.page.get_by_role("button", name="Send").click()
    tab.page.locator(".job-done").wait_for(timeout=60_000)
    pending = tab.page.locator(".pending")
    assert "theme: light → dark" in pending.locator(".plan-changes").inner_text()
    tab.page.get_by_role("button", name="Approve and build").click()
    tab.page.locator(".job-done").wait_for(timeout=300_000)
    built = builds[1]["version"] + 1
    assert f"v{built} is live at" in tab.page.locator(".job-message").inner_text()
    said = tab.page.locator(".bubble-user .bubble-text").all_inner_texts()
    assert said[-2:] == ["make it dark", "approve"]
    assert installation.run_json("show", SLUG)["current_version"] == built
    assert tab.errors == []


def test_rolling_back_by_the_form_serves_the_first_version_again(
        tab: Tab, builds: Any, installation: Installation) -> None:
    first = builds[0]["version"]
    host = f"{SLUG}.localhost"
    assert "Salty Ericeira" in installation.get(host, "/").text
    tab.goto(f"/apps/{SLUG}")
    tab.page.select_option("#rollback-version", str(first))
    tab.page.get_by_role("button", name="Roll back").click()
    # The job's panel follows the rollback, then the page reloads with its result.
    tab.page.locator(".job-done").wait_for(timeout=180_000)
    assert f"rolled back to v{first}" in tab.page.locator(".job-message").inner_text()
    assert tab.page.locator("[data-live-version]").inner_text() == f"live v{first}"
    assert tab.page.locator("h1").inner_text() == "Ericeira Surf School"  # the live plan's title
    page = installation.get(host, "/").text
    assert "Ericeira Surf School" in page and "Salty" not in page
    assert installation.run_json("show", SLUG)["current_version"] == first
    assert tab.errors == []
