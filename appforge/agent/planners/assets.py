"""The images and videos an app asks for: a logo and a hero for every app, the videos and images
the description mentions ("a hero video of waves at sunrise", "an image of a lighthouse"), and a
gallery's photos ("six photos of foxes and owls").

Seeds come from a hash of the slug and the asset name, so the same description always asks for
the same pictures.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from appforge.agent.planners.inflect import (
    NUMBER_WORDS,
    is_plural,
    parse_number,
    singular,
    with_article,
)
from appforge.agent.planners.phrases import split_list
from appforge.agent.planners.theme import is_theme_phrase
from appforge.spec import AssetRequest, Kind

DEFAULT_PHOTOS = 6
MAX_PHOTOS = 24
MAX_EXTRA_IMAGES = 4
_GALLERY_NOUNS = (r"photos|photographs|pictures|images|shots|paintings|drawings|illustrations"
                  r"|portraits|prints|artworks|pieces|works|fotos|bilder|imágenes|immagini|写真")
_NUMBER = "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True))
_COUNT = re.compile(rf"(?<!\w)(?P<count>\d{{1,3}}|{_NUMBER})\s+(?:[\w-]+\s+){{0,2}}?"
                    rf"(?:{_GALLERY_NOUNS})\b", re.IGNORECASE)
_SUBJECTS = re.compile(rf"\b(?:{_GALLERY_NOUNS})\s+(?:of|showing|featuring|de|von|di)\s+"
                       r"(?P<subjects>[^.;:!?\n]+)", re.IGNORECASE)
_SUBJECT_CUT = re.compile(
    r"\s+(?:with|for|that|which|in an?|on an?|using|so|taken|shot|by|called|named|as)\b.*$"
    r"|\s+-\s.*$|[,(]\s*(?:in|with|for|using|called|named)\b.*$",
    re.IGNORECASE,
)
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


@dataclass(frozen=True)
class Gallery:
    """What a gallery shows: how many photos, and of what."""

    count: int = DEFAULT_PHOTOS
    subjects: list[str] = field(default_factory=list)  # image subjects: ["a fox", "an owl"]
    label: str | None = None  # the subjects as written: "foxes and owls"


def find_gallery(text: str) -> Gallery:
    """``"a portfolio of six photos of foxes and owls"`` -> 6 photos of "a fox", "an owl"."""
    count = DEFAULT_PHOTOS
    if match := _COUNT.search(text):
        count = max(1, min(MAX_PHOTOS, parse_number(match["count"]) or DEFAULT_PHOTOS))
    match = _SUBJECTS.search(text)
    if not match:
        return Gallery(count)
    label = _SUBJECT_CUT.sub("", match["subjects"]).strip(" ,")
    label = re.sub(rf"^(?:(?:{_NUMBER}|\d+)\s+|(?:the|my|our|some)\s+)+", "", label,
                   flags=re.IGNORECASE)
    items = [item for item in split_list(label) if not is_theme_phrase(item, colour_words=False)]
    subjects = [subject_phrase(item) for item in items if re.search(r"\w", item)][:MAX_PHOTOS]
    return Gallery(count, subjects, label or None) if subjects else Gallery(count)


def subject_phrase(item: str) -> str:
    """What one photo shows: "foxes" -> "a fox"; longer phrases stay as written."""
    words = re.sub(r"^(?:a|an|the|some|my|our)\s+", "", item.strip(), flags=re.IGNORECASE).split()
    if 1 <= len(words) <= 2 and words[-1].isascii() and is_plural(words[-1].lower()):
        return with_article(" ".join([*words[:-1], singular(words[-1].lower())]))
    return " ".join(words)


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
