"""Turning any script into plain ASCII for slugs: accents folded, Cyrillic and Greek by table,
Japanese kana and Korean Hangul by their Unicode names ("スプラウト" -> "supurauto").

Characters with no reading (Chinese characters, most other scripts) become a space, so the words
around them stay apart.
"""

from __future__ import annotations

import re
import unicodedata

_LATIN = {"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d", "þ": "th", "ð": "d",
          "ı": "i", "ħ": "h", "ŋ": "ng", "&": " and "}
_CYRILLIC = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r",
     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "i", "yi",
     "ye", "g"],
    strict=True,
))
_GREEK = dict(zip(
    "αβγδεζηθικλμνξοπρσςτυφχψω",
    ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o", "p", "r", "s",
     "s", "t", "y", "f", "ch", "ps", "o"],
    strict=True,
))
#: Unicode names kana after the Kunrei system; Hepburn reads better in a URL.
_HEPBURN = {"si": "shi", "ti": "chi", "tu": "tsu", "hu": "fu", "zi": "ji", "di": "ji", "du": "zu",
            "wo": "o"}
_KANA = re.compile(r"^(?:HIRAGANA|KATAKANA) LETTER (SMALL )?([A-Z]+)$")
_HANGUL = re.compile(r"^HANGUL SYLLABLE ([A-Z]+)$")


def to_ascii(text: str) -> str:
    """``"Crème Brûlée"`` -> ``"Creme Brulee"``; ``"Росток"`` -> ``"Rostok"``."""
    out: list[str] = []
    double_next = False
    # Composed first (NFKC), so kana keep their voicing marks; accents are folded per character.
    for char in unicodedata.normalize("NFKC", text):
        if char.isascii():
            out.append(char)
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        if base and base.isascii():
            out.append(base)
            continue
        reading = _reading(char.lower())
        if reading is None:
            reading = _reading(base.lower())
        if reading is not None:
            out.append(reading.capitalize() if char != char.lower() else reading)
            continue
        name = unicodedata.name(char, "")
        if kana := _KANA.match(name):
            small, sound = bool(kana.group(1)), kana.group(2).lower()
            if small and sound in ("tu", "tsu"):
                double_next = True
                continue
            if small:
                _join_small(out, sound)
                continue
            sound = _HEPBURN.get(sound, sound)
            if double_next and sound[0] not in "aeiouyn":
                sound = sound[0] + sound
            double_next = False
            out.append(sound)
        elif hangul := _HANGUL.match(name):
            out.append(hangul.group(1).lower())
        elif "PROLONGED SOUND MARK" in name:
            continue
        else:
            out.append(" ")
    return "".join(out)


def _reading(char: str) -> str | None:
    for table in (_LATIN, _CYRILLIC, _GREEK):
        if char in table:
            return table[char]
    return None


def _join_small(out: list[str], sound: str) -> None:
    """Fold a small kana into the syllable before it: "ki" + "ya" -> "kya", "fu" + "a" -> "fa"."""
    previous = out.pop() if out and out[-1].isalpha() else ""
    if not previous:
        out.append(sound)
        return
    if sound.startswith("y") and previous in ("shi", "chi", "ji"):
        out.append(previous[:-1] + sound[1:])
    elif sound.startswith("y"):
        out.append(previous[:-1] + sound)
    else:
        out.append(previous[:-1] + sound)
