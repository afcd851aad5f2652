"""The offline image backend: pictures drawn from the theme's palette, with no model and no GPU.

When the picture set is installed (see :mod:`.artwork`), a picture shows what its prompt names:
the subjects are read in any language the planner plans in (:mod:`.subjects`) and stood in a
scene that suits them (:mod:`.compose`); a poster's caption becomes a poster with the event's
name, date and place (:mod:`.poster`); a logo shows its subject in the theme's two tones. When
the prompt names nothing the set has, or the set is missing, logos are an app's initials and
other pictures a scene picked by the prompt (see :mod:`.scenes`). Output depends only on the
request's seed and prompt, the theme, the title and the set's version, so rebuilding an app
reproduces its images byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from appforge.generators.image.artwork import Artwork, installed
from appforge.generators.image.compose import compose, render_subject_logo
from appforge.generators.image.files import write_file
from appforge.generators.image.logo import render_logo
from appforge.generators.image.palette import Palette
from appforge.generators.image.poster import is_poster, read_poster, render_poster
from appforge.generators.image.scenes import render_scene, scene_for
from appforge.generators.image.subjects import Reading, read_subjects
from appforge.spec import AssetRequest, Theme

#: How far a "background" image fades towards the page colour, so text on it stays readable.
_BACKGROUND_FADE = 0.55
#: Bumped when the way subjects are composed changes, so cached pictures are redrawn.
COMPOSER_VERSION = 1
_LOGO_MOTIF = re.compile(r'^.*?"[^"]*",\s*(?P<motif>[^,]+)')
#: What the planner adds after a hero's or background's scene: ", earthy brown and olive tones,
#: wide shot".
_PLAN_STYLE = re.compile(r",[^,]*\btones(?:,\s*(?:wide shot|subtle))?\s*$")


def seed_for(request: AssetRequest) -> int:
    """A 64-bit seed from the request's seed and prompt (stable across runs and machines)."""
    digest = hashlib.sha256(f"{request.seed}\x00{request.prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass
class PictureReport:
    """What a picture shows, kept in the app's assets.json: the scene, the subjects, the set."""

    scene: str
    artwork: str = ""
    subjects: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    poster: dict[str, str] | None = None


class ProceduralImageBackend:
    """Draws logos, scenes, subjects and posters with numpy and Pillow; see the module docstring."""

    name: str = "procedural"

    def __init__(self, artwork: Artwork | None | bool = True) -> None:
        #: The picture set: True finds the installed one, None or False draws without it.
        self.artwork: Artwork | None = installed() if artwork is True else (artwork or None)
        self.last_report: PictureReport | None = None

    @property
    def tag(self) -> str:
        """What besides the request decides the pixels (the assets cache keys on it)."""
        if self.artwork is None:
            return self.name
        return f"{self.name}+{self.artwork.label}+composer{COMPOSER_VERSION}"

    def reading(self, request: AssetRequest, title: str) -> Reading:
        """The subjects and setting ``request`` asks for (none without the picture set)."""
        if self.artwork is None:
            return Reading()
        text = subject_text(request)
        found = read_subjects(text, self.artwork, limit=1 if request.role == "logo" else 3)
        if not found.subjects and request.role != "gallery":
            # "Blue Door Bakery": the app's name may say what it is about.
            by_title = read_subjects(title, self.artwork, limit=1)
            return Reading(by_title.subjects, found.setting or by_title.setting)
        return found

    def uses_artwork(self, request: AssetRequest, title: str) -> bool:
        """Whether the picture for ``request`` shows artwork from the set (then it is credited)."""
        return request.kind == "image" and bool(self.reading(request, title).subjects)

    def render(self, request: AssetRequest, theme: Theme, title: str) -> Image.Image:
        """The picture for ``request`` in memory: RGBA for a logo, RGB otherwise."""
        palette = Palette.from_theme(theme)
        rng = np.random.default_rng(seed_for(request))
        reading = self.reading(request, title)
        label = self.artwork.label if self.artwork else ""
        main = reading.subjects[0] if reading.subjects else None
        if request.role == "logo":
            size = min(request.width, request.height)
            if main is None or self.artwork is None:
                self.last_report = PictureReport("initials")
                return render_logo(size, title, palette, rng)
            self.last_report = PictureReport("logo", label, [main.id], [main.name])
            return render_subject_logo(size, main.id, palette, rng, self.artwork)
        caption = request.alt or request.prompt
        if is_poster(caption) and request.role in ("gallery", "feature"):
            text = read_poster(caption, title)
            canvas = render_poster(text, main.id if main else None, request.width,
                                   request.height, palette, rng, self.artwork)
            self.last_report = PictureReport(
                "poster", label if main else "", [main.id] if main else [],
                [main.name] if main else [], {"event": text.event, "date": text.date,
                                              "place": text.place})
        elif main is not None and self.artwork is not None:
            canvas, made = compose(reading, request.prompt, request.width, request.height,
                                   palette, rng, self.artwork)
            self.last_report = PictureReport(made.scene, label, made.subjects, made.names)
        else:
            kind = scene_for(request.prompt)
            canvas = render_scene(kind, request.width, request.height, palette, rng)
            self.last_report = PictureReport(kind)
        if request.role == "background":
            canvas.rgb += (palette.background - canvas.rgb) * np.float32(_BACKGROUND_FADE)
        return canvas.to_image()

    def generate(self, request: AssetRequest, theme: Theme, title: str, out: Path) -> Path:
        """Render ``request`` and write it as a PNG at ``out``; returns ``out``."""
        buffer = io.BytesIO()
        self.render(request, theme, title).save(buffer, format="PNG")
        write_file(buffer.getvalue(), out, "image")
        return out


def subject_text(request: AssetRequest) -> str:
    """The words that name what the picture shows: a logo's motif, a hero's or a background's
    prompt without the colours the plan adds (its alt text may be the planner's own words in
    the app's language, while the prompt says the scene in English), otherwise its caption (the
    prompt's colour and light words would name things too: "olive tones", "morning")."""
    if request.role == "logo":
        match = _LOGO_MOTIF.match(request.prompt)
        return match["motif"] if match else request.prompt
    if request.role in ("hero", "background") and (tail := _PLAN_STYLE.search(request.prompt)):
        return request.prompt[:tail.start()]
    if request.role == "gallery" and request.alt and not request.prompt.startswith(request.alt):
        # a caption the planner translated: the prompt's scene, without its last words (light)
        return request.prompt.rsplit(", ", 1)[0]
    return request.alt or request.prompt
