"""The images and videos an app asks for: a logo and a hero for every app, the videos and images
the description mentions ("a hero video of waves at sunrise", "an image of a lighthouse"), and a
gallery's photos ("six photos of foxes and owls").

Seeds come from a hash of the slug and the asset name, so the same description always asks for
the same pictures.
"""

from __future__ import annotations

import hashlib
import re

from appforge.agent.planners.gallery import (  # noqa: F401  (the planner's names for them)
    DEFAULT_PHOTOS,
    MAX_PHOTOS,
    Gallery,
    find_gallery,
    subject_phrase,
)
from appforge.spec import AssetRequest, Kind

MAX_EXTRA_IMAGES = 4
_VIDEO = re.compile(
    r"(?P<pre>(?:[\w-]+\s+){0,3})(?:video|clip|footage|animation)\s+"
    r"(?:of|showing|featuring|with)\s+(?P<prompt>[^.;!?\n]+)",
    re.IGNORECASE,
)
_IMAGE = re.compile(
    r"(?P<pre>(?:[\w-]+\s+){0,2})(?:image|picture|photo|photograph|illustration|drawing)\s+"
    r"(?:of|showing|featuring)\s+(?P<prompt>[^.;!?\n]+)",
    re.IGNORECASE,
)
_LOGO = re.compile(r"\blogo\s+(?:of|with|showing|featuring)\s+(?P<prompt>[^.;!?\n]+)",
                   re.IGNORECASE)
_PROMPT_CUT = re.compile(
    r",.*$|\s+and\s+(?:a|an|the|some)\s+.*$|\s+(?:for|on|in)\s+the\s+(?:hero|header|top|page)\b.*$"
    r"|\s+(?:called|named|with\s+(?:a|an)\s+(?:dark|light|warm|pastel)\b).*$",
    re.IGNORECASE,
)
_SECONDS = re.compile(r"(\d+(?:\.\d+)?)[\s-]*(?:seconds?|secs?|s)\b", re.IGNORECASE)
_VARIATIONS = (
    "in soft natural light", "golden hour light", "close-up, shallow depth of field",
    "wide shot on a misty morning", "dramatic evening light", "minimal composition, muted tones",
    "seen from above", "candid moment in warm light",
)


def plan_assets(*, kind: Kind, slug: str, name: str, text: str, hero_subject: str,
                logo_symbol: str, colours: str, gallery: Gallery | None,
                fallback_subject: str) -> list[AssetRequest]:
    """Every asset the app needs, with prompts, sizes and deterministic seeds."""
    assets: list[AssetRequest] = []

    def add(**request: object) -> None:
        prompt = re.sub(r"\s+", " ", str(request.pop("prompt"))).strip()[:500]
        asset_name = str(request["name"])
        assets.append(AssetRequest(prompt=prompt or name, seed=asset_seed(slug, asset_name),
                                   **request))  # type: ignore[arg-type]

    logo_match = _LOGO.search(text)
    logo_motif = _clip(logo_match["prompt"]) if logo_match else logo_symbol
    add(kind="image", role="logo", name="logo", width=512, height=512, alt=f"{name} logo",
        prompt=f'a simple flat vector logo for "{name}", {logo_motif}, {colours}, plain background')

    hero_prompt, extras, background = hero_subject, [], None
    for match in _IMAGE.finditer(text):
        pre, prompt = match["pre"].lower(), _clip(match["prompt"])
        if not prompt:
            continue
        if re.search(r"\b(?:hero|header|banner|cover|main|top)\b", pre):
            hero_prompt = prompt
        elif "background" in pre:
            background = prompt
        elif kind != Kind.gallery or not re.search(r"\d", pre):
            extras.append(prompt)
    if kind != Kind.gallery:
        width, height = (1280, 720) if kind == Kind.landing else (1280, 480)
        add(kind="image", role="hero", name="hero", width=width, height=height,
            alt=hero_prompt, prompt=f"{hero_prompt}, {colours} tones, wide shot")
    if background:
        add(kind="image", role="background", name="background", width=1280, height=720,
            alt=background, prompt=f"{background}, {colours} tones, subtle")
    for index, prompt in enumerate(extras[:MAX_EXTRA_IMAGES], start=1):
        add(kind="image", role="feature", name=f"image-{index:02d}", width=1024, height=576,
            alt=prompt, prompt=prompt)
    if video := _VIDEO.search(text):
        prompt = _clip(video["prompt"])
        role = "background" if "background" in video["pre"].lower() else "hero"
        seconds_match = _SECONDS.search(video.group(0))
        seconds = float(seconds_match.group(1)) if seconds_match else 4.0
        add(kind="video", role=role, name=f"{role}-video", width=960, height=540,
            seconds=max(1.0, min(20.0, seconds)), fps=24, alt=prompt or hero_prompt,
            prompt=prompt or hero_prompt)
    if kind == Kind.gallery:
        gallery = gallery or Gallery()
        subjects = gallery.subjects or [fallback_subject]
        for index in range(gallery.count):
            subject = subjects[index % len(subjects)]
            variation = _VARIATIONS[(index // len(subjects)) % len(_VARIATIONS)]
            add(kind="image", role="gallery", name=f"photo-{index + 1:02d}", width=768,
                height=768, alt=subject, prompt=f"{subject}, {variation}")
    return assets


def _clip(prompt: str) -> str:
    return _PROMPT_CUT.sub("", prompt).strip(" ,.'\"")[:200]


def asset_seed(slug: str, asset_name: str) -> int:
    return int(hashlib.sha256(f"{slug}/{asset_name}".encode()).hexdigest()[:8], 16)
