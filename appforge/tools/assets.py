"""Making an app's images and videos into its workspace, with a cache and a manifest.

Each asset request is rendered by the configured backend into ``static/assets/``. A render is
cached under the data dir by a hash of everything that determines its pixels (backend, request,
theme, title, model), so rebuilding an unchanged app redraws nothing. ``assets.json`` in the
workspace records, for each file, the backend and why it was chosen, the seed, the prompt and the
time it took (and, for diffusers, the model, steps and optimisations).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.errors import GenerationError
from appforge.spec import AppSpec, AssetRequest

if TYPE_CHECKING:
    from appforge.config import Settings

ASSET_DIR = Path("static") / "assets"
MANIFEST = "assets.json"


@dataclass
class Slot:
    """The backend making one kind of asset (image or video) in a build, and why.

    ``tag`` names everything besides the request that decides the pixels (model, steps, ...), so
    a render made by another model or setting is never taken from the cache. ``fallback``: auto
    chose diffusers, so if it fails (out of GPU memory...) the procedural renderer steps in.
    """

    backend: Any
    reason: str = "procedural"
    tag: str = "procedural"
    fallback: bool = False


@dataclass
class Backends:
    image: Slot
    video: Slot

    @classmethod
    def procedural(cls) -> Backends:
        from appforge.generators.image.procedural import ProceduralImageBackend
        from appforge.generators.video.procedural import ProceduralVideoBackend

        image = ProceduralImageBackend()
        return cls(Slot(image, tag=image.tag), Slot(ProceduralVideoBackend()))

    def slot(self, kind: str) -> Slot:
        return self.video if kind == "video" else self.image


def select_backends(settings: Settings, spec: AppSpec) -> Backends:
    """Pick the image and video backends from the settings (``auto`` looks for GPU and weights)."""
    from appforge.generators.diffusion import choose

    chosen = Backends.procedural()
    for kind in sorted({a.kind for a in spec.assets}):
        setting, model = ((settings.video_backend, settings.video_model) if kind == "video"
                          else (settings.image_backend, settings.image_model))
        choice = choose(kind, setting, model, settings.diffusers_device)
        slot = chosen.slot(kind)
        slot.reason = choice.reason
        if choice.backend == "diffusers":
            options = settings.diffusion_options(kind)
            slot.backend = _diffusers_backend(kind)(choice.model, choice.model_path, options)
            slot.tag = f"diffusers:{choice.model}:{options}"
            slot.fallback = setting == "auto"
    return chosen


def _diffusers_backend(kind: str) -> Any:
    if kind == "video":
        from appforge.generators.video.diffusers_backend import DiffusersVideoBackend

        return DiffusersVideoBackend
    from appforge.generators.image.diffusers_backend import DiffusersImageBackend

    return DiffusersImageBackend


def _fall_back(slot: Slot, kind: str, exc: GenerationError, log: Callable[[str], None]) -> None:
    """``auto`` picked diffusers and it failed: say why and use the procedural renderer."""
    procedural = Backends.procedural().slot(kind)
    slot.backend = procedural.backend
    slot.reason = f"auto: diffusers failed ({exc}); used the procedural renderer"
    slot.tag, slot.fallback = procedural.tag, False
    log(slot.reason)


def make_assets(spec: AppSpec, workspace: Path, cache_root: Path, backends: Backends,
                log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Render every asset the spec asks for; return the manifest entries."""
    out_dir = workspace / ASSET_DIR
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GenerationError(f"cannot make the asset folder {out_dir}: "
                              f"{exc.strerror or exc}") from None
    for reason in sorted({backends.slot(a.kind).reason for a in spec.assets}):
        log(reason)
    # Images first: a video with the same role animates its still.
    ordered = sorted(spec.assets, key=lambda a: a.kind == "video")
    manifest = []
    for request in ordered:
        slot = backends.slot(request.kind)
        start = time.monotonic()
        while True:
            key = _cache_key(slot.tag, request, spec)
            cached = cache_root / key
            hit = (cached / request.filename).exists()
            try:
                if not hit:
                    _render(request, spec, slot.backend, cached, out_dir)
                break
            except GenerationError as exc:
                if not slot.fallback:
                    raise
                _fall_back(slot, request.kind, exc, log)
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
            "seconds": request.seconds, "backend": slot.backend.name, "reason": slot.reason,
            "cached": hit, "render_seconds": round(seconds, 3),
            **({"report": asdict(slot.backend.last_report)}
               if not hit and getattr(slot.backend, "last_report", None) else {}),
        })
    (workspace / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _credit_artwork(spec, workspace, backends.image.backend, log)
    return manifest


def _credit_artwork(spec: AppSpec, workspace: Path, backend: Any,
                    log: Callable[[str], None]) -> None:
    """An app showing artwork from the picture set carries its licence notice: CREDITS.md at
    its root and beside its pictures (served with them), and a line in its README."""
    from appforge.generators.image.artwork import CREDITS_FILES, README_LINE

    artwork = getattr(backend, "artwork", None)
    uses = getattr(backend, "uses_artwork", None)
    if artwork is None or uses is None or not any(uses(a, spec.title) for a in spec.assets):
        return
    try:
        notice = artwork.notice()
        for name in CREDITS_FILES:
            (workspace / name).write_text(notice, encoding="utf-8")
        readme = workspace / "README.md"
        if readme.is_file() and README_LINE not in (text := readme.read_text(encoding="utf-8")):
            readme.write_text(text.rstrip("\n") + f"\n\n## Credits\n\n{README_LINE}\n",
                              encoding="utf-8")
    except OSError as exc:
        raise GenerationError(f"could not write the pictures' credits into the workspace: "
                              f"{exc.strerror or exc}") from None
    log(f"pictures: {artwork.label} artwork (CC-BY 4.0), credited in CREDITS.md")


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


def make_image(settings: Settings, spec: AppSpec, workspace: Path, name: str, prompt: str,
               width: int, height: int) -> str:
    """One picture asked for while coding (the coder's generate_image tool); returns a summary."""
    return _make_one(settings, spec, workspace, AssetRequest(
        kind="image", role="feature", name=name, prompt=prompt, width=width, height=height,
        seed=_seed(name)))


def make_video(settings: Settings, spec: AppSpec, workspace: Path, name: str, prompt: str,
               seconds: float) -> str:
    """One clip asked for while coding (the coder's generate_video tool); returns a summary."""
    return _make_one(settings, spec, workspace, AssetRequest(
        kind="video", role="feature", name=name, prompt=prompt, width=960, height=540,
        seconds=seconds, seed=_seed(name)))


def _make_one(settings: Settings, spec: AppSpec, workspace: Path, request: AssetRequest) -> str:
    slot = select_backends(settings, spec.model_copy(update={"assets": [request]})) \
        .slot(request.kind)
    out = workspace / ASSET_DIR / request.filename
    out.parent.mkdir(parents=True, exist_ok=True)
    slot.backend.generate(request, spec.theme, spec.title, out)
    return (f"made {ASSET_DIR.as_posix()}/{request.filename} ({request.width}x{request.height}"
            + (f", {request.seconds:g} s, poster {ASSET_DIR.as_posix()}/"
               f"{request.poster_filename}" if request.kind == "video" else "")
            + f"; {slot.reason})")


def _seed(name: str) -> int:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
