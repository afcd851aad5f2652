"""Posters: an event's name, date and place set in type over its artwork, hung on a wall.

A gallery picture whose caption is a poster ("a poster for the Blue Note Jazz Night on June 12
at the Harbour Hall", "carteles para el festival de jazz", "爵士音乐节的海报") is drawn as a
portrait poster: a field of the theme's primary colour, the subject large in a halo of the
accent, the event's name in bold capitals below it and the date and place on a line of their
own. The poster hangs on a wall of the page's colour, so a square gallery tile shows a poster.
Type is DejaVu (Latin, Greek, Cyrillic) or Droid Sans Fallback (Chinese, Japanese) from Debian.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from appforge.generators.image.artwork import Artwork
from appforge.generators.image.canvas import Canvas
from appforge.generators.image.compose import paste
from appforge.generators.image.logo import FONT_CANDIDATES, bold_font_path
from appforge.generators.image.palette import BLACK, WHITE, Palette, mix, to_rgb8

POSTER_WORDS = re.compile(
    r"\b(?:posters?|p[oó]ster(?:es)?|carte(?:l|les)|cartaz(?:es)?|affiches?|plakate?|manifest[oi]"
    r"|locandin[ae])\b|海报|海報|ポスター", re.IGNORECASE)
_FOR = re.compile(
    r"^.*?(?:posters?|p[oó]ster(?:es)?|carte(?:l|les)|cartaz(?:es)?|affiches?|plakate?"
    r"|manifest[oi]|locandin[ae])\s+(?:for|para|pour|für|fur|per|de|del|do|da|du|von)\s+"
    r"(?:(?:the|a|an|el|la|los|las|le|les|l'|der|die|das|den|dem|il|lo|o|os|as|un|una|une|ein"
    r"|eine|einen)\s+)?(?P<rest>.+)$", re.IGNORECASE)
_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
           r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|enero|febrero|marzo"
           r"|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|janeiro"
           r"|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|janvier"
           r"|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
           r"|januar|februar|märz|juni|juli|oktober|dezember|gennaio|febbraio|aprile|maggio"
           r"|giugno|luglio|settembre|ottobre")
_DATE = re.compile(
    rf"(?:\b(?:on|el|le|am|il|em|no|the)\s+)?(?P<date>\b(?:\d{{1,2}}(?:st|nd|rd|th|\.)?\s+"
    rf"(?:de\s+)?(?:{_MONTHS})\b(?:\s+\d{{4}})?|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?"
    rf"(?:,?\s+\d{{4}})?|\d{{1,2}}[/.]\d{{1,2}}(?:[/.]\d{{2,4}})?)|\d{{1,2}}月\d{{1,2}}日)",
    re.IGNORECASE)
_PLACE = re.compile(r"\s+(?:at|in|en|em|à|a|au|im|in der|nel|al|no|na)\s+(?:the\s+)?"
                    r"(?P<place>[A-ZÀ-Þ][\w'’.-]*(?:\s+[A-ZÀ-Þ][\w'’.-]*)*)")
_CUT = re.compile(r",.*$|\s+(?:in soft|golden hour|close-up|wide shot|dramatic|minimal|seen from"
                  r"|candid).*$", re.IGNORECASE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
CJK_FONTS = ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
             "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
             "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
REGULAR_FONTS = tuple(p.replace("-Bold", "").replace("Bold", "Regular").replace("arialbd", "arial")
                      for p in FONT_CANDIDATES)


@dataclass(frozen=True)
class PosterText:
    """What a poster says: "Blue Note Jazz Night", "June 12", "Harbour Hall"."""

    event: str
    date: str = ""
    place: str = ""


def is_poster(text: str) -> bool:
    return bool(POSTER_WORDS.search(text))


def read_poster(text: str, fallback: str) -> PosterText:
    """The event's name, date and place from a poster's caption; ``fallback`` names the event
    when the caption does not ("a poster" of an app called "Blues Nights")."""
    text = _CUT.sub("", text.strip())
    match = _FOR.match(text)
    rest = match["rest"] if match else ""
    date = ""
    if found := _DATE.search(rest):
        date = found["date"]
        rest = (rest[:found.start()] + rest[found.end():]).strip()
    place = ""
    if found := _PLACE.search(rest):
        place = found["place"].strip(" .,")
        rest = rest[:found.start()].strip()
    event = rest.strip(" .,")
    if _CJK.search(text) and not event:
        event = re.sub(r"(?:的)?(?:海报|海報|ポスター)$|の$", "", text).strip()
    if not event:
        event = fallback
    elif event == event.lower() and not _CJK.search(event):
        event = event.title()
    return PosterText(event[:80], date[:30], place[:40])


def render_poster(text: PosterText, subject: str | None, width: int, height: int,
                  palette: Palette, rng: np.random.Generator, artwork: Artwork | None) -> Canvas:
    """A poster for ``text`` with picture ``subject`` (an artwork id, or None), on a wall."""
    wall = mix(palette.background, palette.primary, 0.12)
    canvas = Canvas(width, height, wall)
    canvas.vertical_gradient(mix(wall, WHITE, 0.25), mix(wall, BLACK, 0.08))
    ph = round(height * 0.88)
    pw = min(round(ph * 0.707), round(width * 0.9))
    left, top = (width - pw) // 2, (height - ph) // 2
    aspect = width / height
    canvas.ellipse_glow(aspect / 2 + 0.01, 0.52, pw / height * 0.5, 0.46,
                        mix(wall, BLACK, 0.55), 0.45)
    poster = _poster(text, subject, pw, ph, palette, rng, artwork)
    paste(canvas, poster, left, top)
    return canvas


def _poster(text: PosterText, subject: str | None, width: int, height: int, palette: Palette,
            rng: np.random.Generator, artwork: Artwork | None) -> Image.Image:
    field = mix(palette.primary, BLACK, 0.35 if not palette.dark else 0.55)
    canvas = Canvas(width, height, field)
    canvas.vertical_gradient(mix(field, BLACK, 0.3), field, 0.0, 1.0)
    aspect = width / height
    cy = 0.3 + float(rng.uniform(-0.02, 0.02))
    canvas.glow(aspect / 2, cy, 0.2, mix(palette.accent, WHITE, 0.2), 0.55)
    canvas.disc(aspect / 2, cy, 0.2, mix(palette.accent, field, 0.25), 0.9)
    canvas.ring(aspect / 2, cy, 0.235, 0.004, WHITE, 0.6)
    if subject is not None and artwork is not None:
        picture = artwork.fitted(subject, round(height * 0.3))
        paste(canvas, picture, (width - picture.width) // 2,
              round(cy * height - picture.height / 2))
    image = canvas.to_image()
    draw = ImageDraw.Draw(image)
    ink = to_rgb8(palette.on(field))
    margin = round(width * 0.08)
    y = round(height * 0.58)
    lines, font = _fit(draw, text.event.upper() if not _CJK.search(text.event) else text.event,
                       width - 2 * margin, round(height * 0.24), True)
    for line in lines:
        box = draw.textbbox((0, 0), line, font=font)
        draw.text(((width - (box[2] - box[0])) / 2 - box[0], y - box[1]), line, font=font,
                  fill=ink)
        y += round((box[3] - box[1]) * 1.25) if box[3] > box[1] else font.size
    details = "  ·  ".join(part for part in (text.date, text.place) if part)
    if details:
        rule_y = round(height * 0.86)
        draw.line((margin, rule_y, width - margin, rule_y), fill=to_rgb8(palette.accent),
                  width=max(1, height // 200))
        small = _font(round(height * 0.04), details, bold=True)
        small = _shrink(draw, details, small, width - 2 * margin, bold=True)
        box = draw.textbbox((0, 0), details, font=small)
        draw.text(((width - (box[2] - box[0])) / 2 - box[0], rule_y + height * 0.03 - box[1]),
                  details, font=small, fill=to_rgb8(mix(palette.accent, WHITE, 0.45)))
    return image.convert("RGBA")


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int, height: int, bold: bool,
         ) -> tuple[list[str], ImageFont.FreeTypeFont | ImageFont.ImageFont]:
    """The largest type at which ``text`` fits in the box, wrapped on words (or characters)."""
    size = max(8, height // 2)
    while True:
        font = _font(size, text, bold)
        lines = _wrap(draw, text, font, width)
        line_h = size * 1.25
        if (len(lines) * line_h <= height and all(_width(draw, ln, font) <= width for ln in lines)
                or size <= 8):
            return lines, font
        size = int(size * 0.9)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    units = list(text) if _CJK.search(text) and " " not in text else text.split()
    joiner = "" if len(units) == len(text) else " "
    lines: list[str] = []
    for unit in units:
        trial = f"{lines[-1]}{joiner}{unit}" if lines else unit
        if lines and _width(draw, trial, font) <= width:
            lines[-1] = trial
        else:
            lines.append(unit)
    return lines or [text]


def _shrink(draw: ImageDraw.ImageDraw, text: str, font, width: int, bold: bool):
    size = getattr(font, "size", 12)
    while _width(draw, text, font) > width and size > 8:
        size = int(size * 0.9)
        font = _font(size, text, bold)
    return font


def _width(draw: ImageDraw.ImageDraw, text: str, font) -> float:
    box = draw.textbbox((0, 0), text, font=font)
    return box[2] - box[0]


def _font(size: int, text: str, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _cjk_font() if _CJK.search(text) else (bold_font_path() if bold else _regular())
    if path is None:
        path = bold_font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


@lru_cache(maxsize=1)
def _cjk_font() -> str | None:
    return next((p for p in CJK_FONTS if Path(p).is_file()), None)


@lru_cache(maxsize=1)
def _regular() -> str | None:
    return next((p for p in REGULAR_FONTS if Path(p).is_file()), None)
