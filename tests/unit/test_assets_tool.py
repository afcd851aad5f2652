"""make_assets renders every requested asset into the workspace, records it, and caches it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appforge.errors import GenerationError, InvalidInput
from appforge.spec import AppSpec, AssetRequest
from appforge.tools.assets import make_assets


def _spec(**theme: str) -> AppSpec:
    return AppSpec(name="Surf", slug="surf", title="Surf", kind="landing", theme=theme or {}, assets=[
        AssetRequest(kind="video", role="hero", name="hero-video", prompt="waves at sunrise",
                     width=160, height=96, seconds=1, seed=3),
        AssetRequest(kind="image", role="hero", name="hero", prompt="waves at sunrise",
                     width=160, height=96, seed=3),
        AssetRequest(kind="image", role="logo", name="logo", prompt="surf", width=64,
                     height=64, seed=1),
    ])


def test_assets_land_in_static_assets_with_a_manifest(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    manifest = make_assets(_spec(), ws, tmp_path / "cache", "procedural", "procedural",
                           lambda _m: None)
    files = {m["file"] for m in manifest}
    assert files == {"static/assets/hero-video.mp4", "static/assets/hero.png",
                     "static/assets/logo.png"}
    for name in files:
        assert (ws / name).stat().st_size > 0
    assert (ws / "static/assets/hero-video-poster.jpg").exists()
    recorded = json.loads((ws / "assets.json").read_text())
    assert recorded == manifest
    assert {m["backend"] for m in manifest} == {"procedural"}
    assert all("seed" in m and m["prompt"] for m in manifest)


def test_unchanged_assets_are_not_redrawn_and_a_theme_change_redraws(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = make_assets(_spec(), tmp_path / "a", cache, "procedural", "procedural",
                        lambda _m: None)
    again = make_assets(_spec(), tmp_path / "b", cache, "procedural", "procedural",
                        lambda _m: None)
    assert not any(m["cached"] for m in first) and all(m["cached"] for m in again)
    assert (tmp_path / "a/static/assets/hero.png").read_bytes() == \
        (tmp_path / "b/static/assets/hero.png").read_bytes()
    changed = make_assets(_spec(primary="#c2410c"), tmp_path / "c", cache, "procedural",
                          "procedural", lambda _m: None)
    assert not any(m["cached"] for m in changed)


def test_editing_a_workspace_asset_does_not_poison_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_assets(_spec(), tmp_path / "a", cache, "procedural", "procedural", lambda _m: None)
    (tmp_path / "a/static/assets/logo.png").write_bytes(b"edited")
    make_assets(_spec(), tmp_path / "b", cache, "procedural", "procedural", lambda _m: None)
    assert (tmp_path / "b/static/assets/logo.png").read_bytes().startswith(b"\x89PNG")


def test_unknown_backend_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown image backend 'dalle'"):
        make_assets(_spec(), tmp_path, tmp_path / "c", "dalle", "procedural", lambda _m: None)


def test_unwritable_workspace_is_a_generation_error(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "static").mkdir(parents=True)
    (ws / "static" / "assets").write_text("a file where a folder should be")
    with pytest.raises(GenerationError, match="cannot make the asset folder"):
        make_assets(_spec(), ws, tmp_path / "cache", "procedural", "procedural", lambda _m: None)
