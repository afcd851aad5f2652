"""Making an app's images and videos into its workspace, with a cache and a manifest.

Each asset request is rendered by the configured backend into ``static/assets/``. A render is
cached under the data dir by a hash of everything that determines its pixels (backend, request,
theme, title), so rebuilding an unchanged app redraws nothing. ``assets.json`` in the workspace
records, for each file, the backend, the seed, the prompt and the time it took.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appforge.errors import GenerationError, InvalidInput
from appforge.spec import AppSpec, AssetRequest

ASSET_DIR = Path("static") / "assets"
MANIFEST = "assets.json"


def image_backend(name: str) -> Any:
    """The image backend named in the settings."""
    if name == "procedural":
        from appforge.generators.image.procedural import ProceduralImageBackend

        return ProceduralImageBackend()
    raise InvalidInput(f"unknown image backend {name!r}; available: procedural")


def video_backend(name: str) -> Any:
    """The video backend named in the settings."""
    if name == "procedural":
        from appforge.generators.video.procedural import ProceduralVideoBackend

        return ProceduralVideoBackend()
    raise InvalidInput(f"unknown video backend {name!r}; available: procedural")


def make_assets(spec: AppSpec, workspace: Path, cache_root: Path, image_backend_name: str,
                video_backend_name: str, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Render every asset the spec asks for; return the manifest entries."""
    out_dir = workspace / ASSET_DIR
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerationError(f"cannot make the asset folder {out_dir}: "
                              f"{exc.strerror or exc}") from None
    images = image_backend(image_backend_name)
    videos = video_backend(video_backend_name) if any(a.kind == "video" for a in spec.assets) \
        else None
    # Images first: a video with the same role animates its still.
    ordered = sorted(spec.assets, key=lambda a: a.kind == "video")
    manifest = []
    for request in ordered:
        backend = videos if request.kind == "video" else images
        key = _cache_key(backend.name, request, spec)
        cached = cache_root / key
        start = time.monotonic()
        hit = (cached / request.filename).exists()
        if not hit:
            _render(request, spec, backend, cached, out_dir)
        files = [request.filename] + ([request.poster_filename] if request.poster_filename else [])
        try:
            for name in files:
                _place(cached / name, out_dir / name)
        except OSError as exc:
            raise GenerationError(f"could not write {request.filename} into the workspace: "
                                  f"{exc.strerror or exc}") from None
        seconds = time.monotonic() - start
        log(f"{request.kind} {request.filename}: {'cached' if hit else f'{seconds:.2f} s'}")
        manifest.append({
            "file": f"{ASSET_DIR.as_posix()}/{request.filename}",
            "poster": (f"{ASSET_DIR.as_posix()}/{request.poster_filename}"
                       if request.poster_filename else None),
            "kind": request.kind, "role": request.role, "prompt": request.prompt,
            "seed": request.seed, "width": request.width, "height": request.height,
            "seconds": request.seconds, "backend": backend.name, "cached": hit,
            "render_seconds": round(seconds, 3),
        })
    (workspace / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _render(request: AssetRequest, spec: AppSpec, backend: Any, cached: Path,
            out_dir: Path) -> None:
    tmp = cached.with_name(cached.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        if request.kind == "video":
            still = _still_for(request, spec, out_dir)
            backend.generate(request, spec.theme, spec.title, tmp / request.filename, still=still)
        else:
            backend.generate(request, spec.theme, spec.title, tmp / request.filename)
        shutil.rmtree(cached, ignore_errors=True)
        tmp.rename(cached)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise GenerationError(f"could not make {request.filename}: {exc.strerror or exc}") from None


def _still_for(request: AssetRequest, spec: AppSpec, out_dir: Path) -> Path | None:
    """The already-made image of the same role, which the video animates."""
    for other in spec.assets:
        if other.kind == "image" and other.role == request.role:
            path = out_dir / other.filename
            if path.exists():
                return path
    return None


def _place(src: Path, dest: Path) -> None:
    # A copy, not a link: a later edit of the workspace must never change the cache.
    shutil.copyfile(src, dest)


def _cache_key(backend: str, request: AssetRequest, spec: AppSpec) -> str:
    payload = json.dumps({"backend": backend, "request": request.model_dump(),
                          "theme": spec.theme.model_dump(), "title": spec.title,
                          "still": [a.model_dump() for a in spec.assets
                                    if request.kind == "video" and a.kind == "image"
                                    and a.role == request.role]},
                         sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]
