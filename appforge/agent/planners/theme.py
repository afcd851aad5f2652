"""Colours: theme words in the description ("dark", "warm orange", "pastel", "ocean"), or the
subject's usual colours when it has none, become a coherent palette.

Every palette is checked, not hoped for: body text reaches a contrast ratio of 7 against the
background and the surface (WCAG AAA), muted text 4.5, and the primary colour carries white button
text at 4.5 or more.
"""

from __future__ import annotations

import re

from appforge.spec import Theme

#: Colour families: (primary, accent). Primaries are deep enough for white button text.
FAMILIES: dict[str, tuple[str, str]] = {
    "blue": ("#1d4ed8", "#f59e0b"),
    "indigo": ("#4338ca", "#06b6d4"),
    "green": ("#15803d", "#ca8a04"),
    "teal": ("#0f766e", "#f97316"),
    "orange": ("#c2410c", "#f59e0b"),
    "purple": ("#7e22ce", "#f472b6"),
    "pink": ("#be185d", "#8b5cf6"),
    "red": ("#b91c1c", "#f59e0b"),
    "yellow": ("#a16207", "#1d4ed8"),
    "earthy": ("#92400e", "#65a30d"),
    "neutral": ("#27272a", "#a1a1aa"),
    "ocean": ("#0e7490", "#f59e0b"),
    "forest": ("#166534", "#a16207"),
    "sunset": ("#c2410c", "#db2777"),
}
#: How each family reads in an image prompt.
FAMILY_WORDS = {
    "blue": "blue", "indigo": "indigo and cyan", "green": "green", "teal": "teal",
    "orange": "warm orange", "purple": "purple", "pink": "pink", "red": "red",
    "yellow": "golden yellow", "earthy": "earthy brown and olive", "neutral": "monochrome",
    "ocean": "ocean blue and teal", "forest": "deep forest green",
    "sunset": "sunset orange and pink",
}
_COLOUR_WORDS: dict[str, str] = {}
for _family, _words in {
    "blue": "blue azure navy sky azul blau bleu blu",
    "indigo": "indigo",
    "green": "green sage mint emerald olive verde grün gruen vert",
    "teal": "teal turquoise cyan aqua türkis turquesa",
    "orange": "orange amber tangerine apricot naranja laranja arancione",
    "purple": "purple violet lilac lavender plum morado lila violett viola roxo púrpura",
    "pink": "pink rose magenta fuchsia rosa",
    "red": "red crimson scarlet burgundy maroon rojo rot rouge rosso vermelho",
    "yellow": "yellow gold golden mustard lemon amarillo gelb jaune giallo amarelo",
    "earthy": "earthy earth brown terracotta beige sand sandy rustic marrón braun brun marrone",
    "neutral": "gray grey monochrome minimal minimalist neutral black white silver gris grau "
               "noir schwarz negro preto nero",
    "ocean": "ocean sea marine nautical",
    "forest": "forest woodland jungle",
    "sunset": "sunset",
}.items():
    _COLOUR_WORDS.update(dict.fromkeys(_words.split(), _family))
_MOOD_WORDS = frozenset({
    "dark", "light", "pastel", "soft", "pale", "warm", "cozy", "cosy", "cool", "icy", "cold",
    "night", "midnight", "bright", "vibrant", "muted", "oscuro", "dunkel", "sombre", "escuro",
    "scuro", "claro", "hell", "clair", "chiaro",
})
_COLOUR_ALTERNATION = "|".join(sorted(_COLOUR_WORDS, key=len, reverse=True))
_DARK = re.compile(
    r"\b(?:dark|oscur[oa]|dunkel\w*|sombre|escur[oa]|scur[oa])\b"
    rf"(?!\s*-?\s*(?:{_COLOUR_ALTERNATION})\b)"
    r"|\b(?:night|midnight)\b|\bblack\b|ダーク|тёмн|темн",
    re.IGNORECASE,
)
_ASSET_PHRASE = re.compile(
    r"\b(?:video|clip|image|picture|photo|photograph|illustration|drawing|shots?|photos|pictures"
    r"|images)\s+(?:of|showing|featuring)\s+[^.,;]*",
    re.IGNORECASE,
)
_LOOK = r"(?:\w+\s+)?(?:theme|palette|colou?rs|tones|look|feel|vibe|style|design|mode)\b"
_WARM = re.compile(rf"\b(?:warm|cozy|cosy)\s+{_LOOK}", re.IGNORECASE)
_COOL = re.compile(rf"\b(?:cool|icy|calm|cold)\s+{_LOOK}", re.IGNORECASE)
_THEME_NOUNS = re.compile(
    r"\b(?:theme|palette|colou?r scheme|colou?rs|dark mode|light mode|night mode|tones|look)\b",
    re.IGNORECASE,
)
WHITE = "#ffffff"


def choose_theme(text: str, default_family: str = "blue") -> tuple[Theme, str]:
    """The palette the description asks for, and its family name (for image prompts)."""
    scan = _ASSET_PHRASE.sub(" ", text)
    words = re.findall(r"[^\W\d_]+", scan.lower())
    colours = [_COLOUR_WORDS[w] for w in words if w in _COLOUR_WORDS]
    moods = {w for w in words if w in _MOOD_WORDS}
    families = list(dict.fromkeys(c for c in colours if c != "neutral" or len(set(colours)) == 1))
    if families:
        family = families[0]
    elif _WARM.search(scan):
        family = "orange"
    elif _COOL.search(scan):
        family = "blue"
    else:
        family = default_family if default_family in FAMILIES else "blue"
    dark = bool(_DARK.search(scan))
    pastel = bool(moods & {"pastel", "soft", "pale"})
    accent = FAMILIES[families[1]][0] if len(families) > 1 else None
    return palette(family, dark=dark, pastel=pastel, accent=accent), family


def palette(family: str, *, dark: bool = False, pastel: bool = False,
            accent: str | None = None) -> Theme:
    """A complete, contrast-checked Theme for a colour family."""
    primary, family_accent = FAMILIES[family]
    return palette_from(primary, accent or family_accent, dark=dark, pastel=pastel)


def palette_from(primary: str, accent: str, *, dark: bool = False, pastel: bool = False) -> Theme:
    """A complete, contrast-checked Theme around a primary and an accent colour."""
    if pastel:
        accent = mix(accent, WHITE, 0.45)
    if dark:
        background = mix("#0b0c10", primary, 0.12)
        surface = mix("#16181d", primary, 0.16)
        text, muted = mix("#f5f5f4", primary, 0.06), mix("#a8a8b0", primary, 0.15)
    else:
        background = mix(WHITE, primary, 0.1 if pastel else 0.04)
        surface = WHITE
        text, muted = mix("#111111", primary, 0.18), mix("#5f6368", primary, 0.2)
    return Theme(
        mode="dark" if dark else "light",
        primary=ensure_contrast(primary, (WHITE,), 4.5),
        accent=accent,
        background=background,
        surface=surface,
        text=ensure_contrast(text, (background, surface), 7),
        muted=ensure_contrast(muted, (background, surface), 4.5),
    )


def is_theme_phrase(phrase: str, *, colour_words: bool = True) -> bool:
    """Whether a list item talks about looks ("a dark theme", "warm orange colours"); with
    ``colour_words`` off, only theme nouns count (so "the sea" stays a subject)."""
    if _THEME_NOUNS.search(phrase):
        return True
    if not colour_words:
        return False
    words = [w for w in re.findall(r"[^\W\d_]+", phrase.lower())
             if w not in ("a", "an", "the", "and", "with", "in", "very", "nice")]
    looks = [w for w in words if w in _COLOUR_WORDS or w in _MOOD_WORDS]
    return bool(words) and len(looks) * 2 > len(words)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#rrggbb`` colour (0 black .. 1 white)."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio between two colours, from 1 (same) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def mix(colour: str, other: str, share: float) -> str:
    """``share`` of ``other`` mixed into ``colour`` (0 -> colour, 1 -> other)."""
    a, b = _rgb(colour), _rgb(other)
    return "#" + "".join(f"{round(x + (y - x) * share):02x}" for x, y in zip(a, b, strict=True))


def ensure_contrast(colour: str, backgrounds: tuple[str, ...], ratio: float) -> str:
    """``colour``, darkened or lightened just enough to reach ``ratio`` against every background."""
    def worst(candidate: str) -> float:
        return min(contrast_ratio(candidate, bg) for bg in backgrounds)

    target = "#000000" if worst("#000000") >= worst("#ffffff") else "#ffffff"
    for step in range(21):
        candidate = mix(colour, target, step / 20)
        if worst(candidate) >= ratio:
            return candidate
    return target
