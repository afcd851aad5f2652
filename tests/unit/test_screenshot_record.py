"""Where a version's screenshot is recorded, and where it sits in the build graph (no Docker)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from appforge.config import Settings
from appforge.errors import BuildFailed
from appforge.sandbox.apt_images import apt_error, apt_sources
from appforge.sandbox.browser import _image_failed, thumbnail_path
from appforge.store import Store

#: The versions table as appforge made it before screenshots.
OLD_VERSIONS = """
CREATE TABLE versions (
    slug TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'building',
    description TEXT NOT NULL DEFAULT '', spec TEXT NOT NULL, workspace TEXT NOT NULL,
    image TEXT NOT NULL DEFAULT '', upstream TEXT NOT NULL DEFAULT '',
    test_summary TEXT NOT NULL DEFAULT '', timings TEXT NOT NULL DEFAULT '{}',
    error TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, PRIMARY KEY (slug, version));
INSERT INTO versions (slug, version, spec, workspace, created_at)
    VALUES ('old', 1, '{}', '/w/old/v1', 0);
"""


def test_a_store_made_before_screenshots_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "appforge.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_VERSIONS)
    store = Store(path)
    assert store.get_version("old", 1).screenshot == ""
    store.update_version("old", 1, screenshot="/w/old/v1/.appforge/screenshot.png")
    assert Store(path).get_version("old", 1).screenshot.endswith("screenshot.png")


def test_each_version_keeps_its_own_screenshot(tmp_path: Path) -> None:
    store = Store(tmp_path / "appforge.sqlite")
    store.upsert_app("cafe", "Cafe", "Cafe", "landing", "cafe.localhost")
    for _ in range(2):
        store.new_version("cafe", "a cafe", {}, tmp_path / "apps")
    store.update_version("cafe", 1, screenshot="/a/v1.png")
    assert [v.screenshot for v in store.list_versions("cafe")] == ["/a/v1.png", ""]


def test_screenshot_runs_after_verify_and_ends_the_build() -> None:
    from appforge.agent.graph import STAGES, builder

    assert STAGES[-2:] == ("verify", "screenshot")
    assert ("verify", "screenshot") in builder.edges
    assert ("screenshot", "__end__") in builder.edges
    assert not any(a == "verify" and b != "screenshot" for a, b in builder.edges)


def test_browser_image_uses_the_configured_mirror(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, debian_mirror="http://mirror.example/debian")
    sources = apt_sources(settings)
    assert sources[:2] == ["deb http://mirror.example/debian bookworm main",
                           "deb http://mirror.example/debian bookworm-updates main"]


def test_a_failed_browser_image_build_says_what_apt_said() -> None:
    detail = ("Step 3/7 : RUN apt-get update\nReading package lists...\n"
              "\x1b[91mE\x1b[0m\n\x1b[91m: \x1b[0m\n\x1b[91mFailed to fetch http://m/debian/dists/"
              "bookworm/InRelease  Could not connect to m:80\x1b[0m\n"
              "The command '/bin/sh -c rm -f ...' returned a non-zero code: 100")
    exc = _image_failed("appforge/browser:bookworm", "http://m/debian",
                        apt_error(BuildFailed("docker build failed: The command ...",
                                              detail=detail)))
    assert str(exc) == ("cannot make the browser image appforge/browser:bookworm: E: Failed to "
                        "fetch http://m/debian/dists/bookworm/InRelease  Could not connect to m:80")
    assert "APPFORGE_SCREENSHOTS=false" in (exc.hint or "")


def test_the_thumbnail_sits_beside_the_screenshot() -> None:
    assert thumbnail_path(Path("/w/.appforge/screenshot.png")) == \
        Path("/w/.appforge/screenshot-thumb.png")
