"""make_assets renders every requested asset into the workspace, records it, and caches it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appforge.errors import GenerationError
from appforge.spec import AppSpec, AssetRequest
from appforge.tools.assets import Backends, make_assets


def _spec(**theme: str) -> AppSpec:
    return AppSpec(name="Surf", slug="surf", title="Surf", kind="landing", theme=theme or {},
                   assets=[
        AssetRequest(kind="video", role="hero", name="hero-video", prompt="waves at sunrise",
                     width=160, height=96, seconds=1, seed=3),
        AssetRequest(kind="image", role="hero", name="hero", prompt="waves at sunrise",
                     width=160, height=96, seed=3),
        AssetRequest(kind="image", role="logo", name="logo", prompt="surf", width=64,
                     height=64, seed=1),
    ])


def test_assets_land_in_static_assets_with_a_manifest(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    manifest = make_assets(_spec(), ws, tmp_path / "cache", Backends.procedural(),
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
    first = make_assets(_spec(), tmp_path / "a", cache, Backends.procedural(),
                        lambda _m: None)
    again = make_assets(_spec(), tmp_path / "b", cache, Backends.procedural(),
                        lambda _m: None)
    assert not any(m["cached"] for m in first) and all(m["cached"] for m in again)
    assert (tmp_path / "a/static/assets/hero.png").read_bytes() == \
        (tmp_path / "b/static/assets/hero.png").read_bytes()
    changed = make_assets(_spec(primary="#c2410c"), tmp_path / "c", cache,
                          Backends.procedural(), lambda _m: None)
    assert not any(m["cached"] for m in changed)


def test_editing_a_workspace_asset_does_not_poison_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    make_assets(_spec(), tmp_path / "a", cache, Backends.procedural(), lambda _m: None)
    (tmp_path / "a/static/assets/logo.png").write_bytes(b"edited")
    make_assets(_spec(), tmp_path / "b", cache, Backends.procedural(), lambda _m: None)
    assert (tmp_path / "b/static/assets/logo.png").read_bytes().startswith(b"\x89PNG")


def test_unknown_backend_is_refused_by_name() -> None:
    from appforge.generators.diffusion import choose

    with pytest.raises(GenerationError, match="unknown image backend 'dalle'"):
        choose("image", "dalle", "stabilityai/sd-turbo")


def test_a_model_id_is_found_in_the_hugging_face_cache_and_only_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("huggingface_hub")
    from appforge.generators.diffusion import resolve_model

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve_model("org/tiny-pipe") is None  # no folder for it: not there
    repo = tmp_path / "hub" / "models--org--tiny-pipe"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snapshot = repo / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    assert resolve_model("org/tiny-pipe") is None  # a snapshot without a pipeline
    (snapshot / "model_index.json").write_text("{}")
    assert resolve_model("org/tiny-pipe") == snapshot
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # HF_HOME/hub is the same cache
    assert resolve_model("org/tiny-pipe") == snapshot
    assert resolve_model("org/other") is None


def test_auto_without_gpu_or_weights_uses_procedural_and_says_why(tmp_path: Path) -> None:
    from appforge.config import Settings
    from appforge.tools.assets import select_backends

    settings = Settings(home=tmp_path, image_model=str(tmp_path / "no-such-model"))
    backends = select_backends(settings, _spec())
    assert backends.image.backend.name == backends.video.backend.name == "procedural"
    assert backends.image.reason.startswith("images: procedural renderer (auto: ")
    lines: list[str] = []
    manifest = make_assets(_spec(), tmp_path / "ws", tmp_path / "cache", backends, lines.append)
    assert any("no-such-model is not on this machine" in line for line in lines)
    assert all("procedural renderer (auto: " in m["reason"] for m in manifest)


def test_diffusers_asked_for_without_its_model_is_a_clear_error(tmp_path: Path) -> None:
    from appforge.config import Settings
    from appforge.tools.assets import select_backends

    settings = Settings(home=tmp_path, image_backend="diffusers",
                        image_model=str(tmp_path / "no-such-model"))
    with pytest.raises(GenerationError, match="diffusers image backend cannot run") as info:
        select_backends(settings, _spec())
    assert "APPFORGE_IMAGE_BACKEND=auto" in (info.value.hint or "")


def test_unwritable_workspace_is_a_generation_error(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / "static").mkdir(parents=True)
    (ws / "static" / "assets").write_text("a file where a folder should be")
    with pytest.raises(GenerationError, match="cannot make the asset folder"):
        make_assets(_spec(), ws, tmp_path / "cache", Backends.procedural(), lambda _m: None)


def test_auto_falls_back_to_procedural_when_diffusers_fails(tmp_path: Path) -> None:
    """auto picked diffusers (GPU and weights present) but the model fails, e.g. out of memory."""
    from appforge.generators.image.diffusers_backend import DiffusersImageBackend
    from appforge.generators.diffusion import DiffusionOptions
    from appforge.tools.assets import Backends, Slot

    pytest.importorskip("diffusers")
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    backend = DiffusersImageBackend("broken", str(broken), DiffusionOptions(device="cpu"))
    backends = Backends.procedural()
    backends.image = Slot(backend, reason="auto: ...", tag="diffusers:x", fallback=True)
    lines: list[str] = []
    manifest = make_assets(_spec(), tmp_path / "ws", tmp_path / "cache", backends, lines.append)
    hero = next(m for m in manifest if m["file"].endswith("hero.png"))
    assert hero["backend"] == "procedural"
    assert hero["reason"].startswith("auto: diffusers failed")
    assert any("used the procedural renderer" in line for line in lines)
    # asked for diffusers explicitly: the error stands
    backends.image = Slot(backend, reason="diffusers: ...", tag="diffusers:x", fallback=False)
    with pytest.raises(GenerationError):
        make_assets(_spec(), tmp_path / "ws2", tmp_path / "cache", backends, lines.append)
