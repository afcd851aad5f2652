"""A contact sheet of the offline pictures: do they show what each description is about?

Usage: python bench/gallery.py [--out docs/img/contact-sheet.png] [--scale 0.5] [--json]

Each row is one description (in English, Spanish, Portuguese, French, German, Italian, Chinese
and Japanese), planned by the blueprint planner exactly as a build would plan it; the row shows
the app's logo, its hero (landing and CRUD apps) and its first gallery pictures, drawn by the
procedural backend at ``--scale`` of the planned size, with the subjects each picture shows. The
sheet goes to ``--out`` for a person to judge at a glance; the figures (seconds per picture by
role, with the picture set and without) are printed. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appforge.agent.planners.blueprint import BlueprintPlanner
from appforge.generators.image.poster import CJK_FONTS, REGULAR_FONTS
from appforge.generators.image.procedural import ProceduralImageBackend

DESCRIPTIONS = (
    "A portfolio for a photographer named Lea Park showing six photos of foxes and owls in the snow",
    "a gallery of 4 posters for a blues festival",
    "a gallery of 3 posters for the Blue Note Jazz Night on June 12 at the Harbour Hall",
    "Landing page for a coffee roastery in Portland",
    "a surf school in Biarritz",
    "a bike repair shop selling bike parts",
    "a houseplant tracker: plants have name, days between waterings",
    "página para una panadería llamada Pan de Oro en Madrid",
    "una galería de seis fotos de zorros y búhos en la nieve",
    "uma galeria de fotos de raposas e corujas",
    "Une galerie de photos de renards et de hiboux",
    "Eine Galerie mit Fotos von Füchsen und Eulen",
    "una galleria di foto di gatti e cani",
    "一个展示六张狐狸照片的画廊",
    "キツネとフクロウの写真のギャラリー",
    "a recipe site with a hero image of fresh bread; recipes have title, ingredients and minutes",
    "a gallery of saxophones, guitars and violins",
    "a landing page for a yoga studio by the sea",
)
CELL = 180  # height of a row's pictures on the sheet


def render_row(description: str, scale: float, backend: ProceduralImageBackend,
               timings: dict[str, list[float]]) -> tuple[list[Image.Image], list[str]]:
    spec = BlueprintPlanner().plan(description)
    images, notes = [], []
    gallery = [a for a in spec.assets if a.role == "gallery"][:3]
    chosen = [a for a in spec.assets if a.role in ("logo", "hero")] + gallery
    for asset in chosen:
        request = asset.model_copy(update={
            "width": max(16, round(asset.width * scale)),
            "height": max(16, round(asset.height * scale))})
        start = time.perf_counter()
        image = backend.render(request, spec.theme, spec.title)
        timings.setdefault(asset.role, []).append(time.perf_counter() - start)
        report = backend.last_report
        shows = ", ".join(report.names) if report and report.names else report.scene if report \
            else "?"
        notes.append(f"{asset.role}: {shows}")
        images.append(image)
    return images, [f"{spec.title} ({spec.language})", *notes]


def contact_sheet(rows: list[tuple[str, list[Image.Image], list[str]]]) -> Image.Image:
    """Two columns of rows: the description and what each picture shows, then the pictures."""
    widths = [sum(round(i.width * CELL / i.height) + 8 for i in images) for _, images, _ in rows]
    column = 300 + max(widths) + 24
    half = (len(rows) + 1) // 2
    sheet = Image.new("RGB", (2 * column, half * (CELL + 16) + 16), (245, 245, 242))
    draw = ImageDraw.Draw(sheet)
    for index, (description, images, notes) in enumerate(rows):
        left, y = (index // half) * column, 16 + (index % half) * (CELL + 16)
        draw.multiline_text((left + 12, y), _wrap(description, 34),
                            font=_font(15, description), fill=(20, 20, 20), spacing=3)
        shows = "\n".join(notes[1:])
        draw.multiline_text((left + 12, y + 120), shows, font=_font(12, shows),
                            fill=(90, 90, 90), spacing=2)
        x = left + 300
        for image in images:
            thumb = image.resize((round(image.width * CELL / image.height), CELL),
                                 Image.Resampling.LANCZOS)
            if thumb.mode == "RGBA":
                sheet.paste(thumb, (x, y), thumb)
            else:
                sheet.paste(thumb, (x, y))
            x += thumb.width + 8
    return sheet


def _wrap(text: str, width: int) -> str:
    if " " not in text:
        return "\n".join(text[i:i + width // 2] for i in range(0, len(text), width // 2))
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + len(word) < width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines[:5])


def _font(size: int, text: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu for Latin text; Droid Sans Fallback for Chinese and Japanese (it has no Latin)."""
    cjk = any("\u3040" <= c <= "\u9fff" for c in text)
    for path in (*CJK_FONTS, *REGULAR_FONTS) if cjk else REGULAR_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img/contact-sheet.png")
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backend = ProceduralImageBackend()
    if backend.artwork is None:
        print("the picture set is not installed: the sheet shows procedural art only",
              file=sys.stderr)
    timings: dict[str, list[float]] = {}
    rows = []
    for description in DESCRIPTIONS:
        images, notes = render_row(description, args.scale, backend, timings)
        rows.append((description, images, notes))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # 256 colours with dithering: a third of the bytes, and no visible banding at this size.
    contact_sheet(rows).quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(args.out, optimize=True)
    plain = ProceduralImageBackend(artwork=None)
    plain_times: dict[str, list[float]] = {}
    for description in DESCRIPTIONS[:6]:
        render_row(description, args.scale, plain, plain_times)
    figures = {
        "artwork": backend.artwork.label if backend.artwork else None,
        "scale": args.scale, "descriptions": len(DESCRIPTIONS), "sheet": str(args.out),
        "seconds_per_picture": {role: round(statistics.median(t), 4)
                                for role, t in sorted(timings.items())},
        "seconds_per_picture_without_artwork": {role: round(statistics.median(t), 4)
                                                for role, t in sorted(plain_times.items())},
        "rows": [{"description": d, "shows": notes} for d, _, notes in rows],
    }
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=1))
    else:
        print(f"{len(rows)} descriptions -> {args.out} (pictures at {args.scale:g}x)")
        for role, seconds in figures["seconds_per_picture"].items():
            without = figures["seconds_per_picture_without_artwork"].get(role)
            print(f"  {role:8} {seconds * 1000:7.1f} ms median per picture"
                  + (f" (procedural only: {without * 1000:.1f} ms)" if without else ""))
        for _, _, notes in rows:
            print("  " + " | ".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
