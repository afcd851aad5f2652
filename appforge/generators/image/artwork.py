"""The picture set the offline backend draws subjects with: Twemoji's SVGs and their CLDR names.

``scripts/install.sh`` unpacks it from npm into ``artwork/`` beside this module (see
``scripts/install_artwork.py``): ``svg/`` holds the pictures, ``index.json`` each picture's group
and its names and keywords in eight languages, ``LICENSE.md`` the notice every app that shows
them carries. Pictures are drawn with resvg at the size asked for. When the set or resvg is
missing, :func:`installed` answers None and the backend draws procedural scenes only;
:func:`doctor_line` says so.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image

ARTWORK_DIR = Path(__file__).resolve().parent / "artwork"
#: Where a generated app keeps the notice (served with its pictures) and a copy at its root.
CREDITS_FILES = ("static/assets/CREDITS.md", "CREDITS.md")
#: The line an app's README gains when one of its pictures uses the set.
README_LINE = ("Some pictures use artwork from Twemoji (CC-BY 4.0, Twitter, Inc and other "
               "contributors); see CREDITS.md.")
_MEASURE = 256  # pixels at which a picture's drawn area is measured


@dataclass(frozen=True)
class Entry:
    """One picture: ``1F98A``, "animals-nature", "animal-mammal", names by language."""

    id: str
    group: str
    subgroup: str
    names: dict[str, tuple[str, ...]]

    @property
    def name(self) -> str:
        """Its English CLDR name: "fox", "hot beverage"."""
        return (self.names.get("en") or (self.id,))[0]


class Artwork:
    """An unpacked picture set: its entries, and each picture drawn at any size."""

    def __init__(self, root: Path, index: dict) -> None:
        self.root = root
        self.version = str(index.get("version", ""))
        self.label = f"{index.get('set', 'Twemoji')} {self.version}".strip()
        self.entries = {
            e["id"]: Entry(e["id"], e.get("group", ""), e.get("subgroup", ""),
                           {lang: tuple(words) for lang, words in e.get("names", {}).items()})
            for e in index.get("entries", [])
        }

    @classmethod
    def load(cls, root: Path) -> Artwork:
        """The set under ``root``; :class:`OSError` or :class:`ValueError` when unusable."""
        index = json.loads((root / "index.json").read_text(encoding="utf-8"))
        artwork = cls(root, index)
        if not artwork.entries:
            raise ValueError(f"{root / 'index.json'} lists no pictures")
        return artwork

    def notice(self) -> str:
        """The licence notice an app that shows these pictures carries."""
        return (self.root / "LICENSE.md").read_text(encoding="utf-8")

    def picture(self, id: str, height: int) -> Image.Image:
        """Picture ``id`` as RGBA, cropped to what is drawn, ``height`` pixels tall."""
        box = self._drawn_box(id)
        # Draw the whole picture so large that its drawn part is ``height`` tall, then crop.
        scale = height / max(box[3] - box[1], 1e-6)
        size = max(1, round(scale))
        full = self._draw(id, size)
        crop = tuple(round(v * size) for v in box)
        return full.crop(crop)  # type: ignore[arg-type]

    def fitted(self, id: str, longest: int) -> Image.Image:
        """Picture ``id`` cropped to what is drawn, its longer side ``longest`` pixels: a wide
        picture (a bicycle) is as large to the eye as a tall one (a bottle)."""
        x0, y0, x1, y1 = self._drawn_box(id)
        tall = (y1 - y0) / max(x1 - x0, y1 - y0, 1e-6)
        return self.picture(id, max(4, round(longest * tall)))

    def _drawn_box(self, id: str) -> tuple[float, float, float, float]:
        return _drawn_box(self.root, id)

    def _draw(self, id: str, size: int) -> Image.Image:
        return _draw(self.root, id, size)


@lru_cache(maxsize=512)
def _drawn_box(root: Path, id: str) -> tuple[float, float, float, float]:
    """The drawn part of a picture, as fractions of its square."""
    bbox = _draw(root, id, _MEASURE).getchannel("A").getbbox() or (0, 0, _MEASURE, _MEASURE)
    return tuple(v / _MEASURE for v in bbox)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _draw(root: Path, id: str, size: int) -> Image.Image:
    import resvg_py

    svg = (root / "svg" / f"{id}.svg").read_text(encoding="utf-8")
    png = resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size, skip_system_fonts=True)
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


@lru_cache(maxsize=4)
def _installed(root: Path) -> tuple[Artwork | None, str]:
    try:
        import resvg_py  # noqa: F401
    except ImportError:
        return None, "resvg-py is not installed (pip install resvg-py)"
    if not (root / "index.json").is_file():
        return None, f"no picture set in {root}"
    try:
        return Artwork.load(root), ""
    except (OSError, ValueError, KeyError) as exc:
        return None, f"the picture set in {root} is unreadable: {exc}"


def installed(root: Path = ARTWORK_DIR) -> Artwork | None:
    """The picture set installed with appforge, or None (the backend then draws scenes only)."""
    return _installed(root)[0]


def missing_reason(root: Path = ARTWORK_DIR) -> str:
    """Why :func:`installed` answers None ("" when it does not)."""
    return _installed(root)[1]


def doctor_line(root: Path = ARTWORK_DIR) -> tuple[bool, str, str]:
    """(ok, what was found, how to fix it) for ``appforge doctor``."""
    artwork = installed(root)
    if artwork is None:
        return (False, (f"{missing_reason(root)}; pictures are procedural scenes without "
                "their subjects"), "run scripts/install.sh (it unpacks Twemoji from npm)")
    languages = sorted({lang for e in artwork.entries.values() for lang in e.names})
    return (True, (f"{artwork.label}: {len(artwork.entries)} pictures of subjects, named in "
            f"{', '.join(languages)} (CC-BY 4.0, credited in each app)"), "")
