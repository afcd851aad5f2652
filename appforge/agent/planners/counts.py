"""How many pictures a description asks for, and of what, in every language the planner reads:
"six photos of foxes", "4 posters for a blues festival", "seis fotos de zorros", "vier Fotos von
Füchsen", "六张猫咪照片", "猫の写真を8枚".

Number words and picture nouns are tables, one line per language; the code only finds them.
"""

from __future__ import annotations

import re

#: Number words by language (English multiword forms such as "a dozen" included); "un", "eine"
#: and the like are left out: they are articles far more often than counts.
NUMBERS: dict[str, dict[str, int]] = {
    "en": {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12,
           "a dozen": 12, "a couple of": 2, "a couple": 2, "a few": 3, "several": 5,
           "fifteen": 15, "twenty": 20},
    "es": {"dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
           "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
           "veinte": 20},
    "pt": {"dois": 2, "duas": 2, "três": 3, "tres": 3, "quatro": 4,
           "cinco": 5, "seis": 6, "sete": 7, "oito": 8, "nove": 9, "dez": 10, "onze": 11,
           "doze": 12, "vinte": 20},
    "fr": {"deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
           "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "vingt": 20},
    "de": {"zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
           "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12,
           "zwanzig": 20},
    "it": {"due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6,
           "sette": 7, "otto": 8, "nove": 9, "dieci": 10, "undici": 11, "dodici": 12,
           "venti": 20},
}
#: Chinese and Japanese numerals (一 .. 十二, 二十), read digit by digit.
CJK_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9, "十": 10}
#: Nouns for pictures, every language; "posters" and "paintings" are pictures too.
PICTURE_NOUNS = (
    "photos|photographs|pictures|images|shots|paintings|drawings|illustrations|portraits|prints"
    "|artworks|posters|covers|flyers|sketches|watercolou?rs|renders|"
    "fotos|fotograf[ií]as|im[áa]genes|imagens|ilustraciones|ilustra[çc][õo]es|carteles|afiches"
    "|cuadros|pinturas|cartazes|p[óo]steres|quadros|desenhos|dibujos|"
    "affiches|dessins|peintures|tableaux|"
    "bilder|plakate|poster|zeichnungen|gem[äa]lde|illustrationen|aufnahmen|"
    "foto|fotografie|immagini|manifesti|disegni|dipinti|quadri|illustrazioni|locandine"
)
_ALL_NUMBERS = {word: value for table in NUMBERS.values() for word, value in table.items()}
_NUMBER_RE = "|".join(sorted((re.escape(w) for w in _ALL_NUMBERS), key=len, reverse=True))
COUNT = re.compile(
    rf"(?<!\w)(?P<count>\d{{1,3}}|{_NUMBER_RE})\s+(?:[\w-]+\s+){{0,2}}?"
    rf"(?P<noun>{PICTURE_NOUNS})\b",
    re.IGNORECASE,
)
_CJK_NUMBER = "[一二两三四五六七八九十]{1,3}|\\d{1,3}"
#: "六张猫咪照片", "8枚の写真", "写真を8枚", "写真8枚".
CJK_COUNT = re.compile(
    rf"(?P<count>{_CJK_NUMBER})\s*(?:张|張|幅|枚)"
    rf"|(?:写真|照片|画像|图片|圖片|ポスター|海报|イラスト|绘画|絵)を?\s*(?P<after>{_CJK_NUMBER})\s*枚"
)


def number(word: str) -> int | None:
    """``"six"`` / ``"seis"`` / ``"6"`` / ``"六"`` / ``"十二"`` -> the number, else None."""
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    if word in _ALL_NUMBERS:
        return _ALL_NUMBERS[word]
    if word and all(c in CJK_DIGITS for c in word):
        if "十" not in word:
            return CJK_DIGITS[word[-1]]
        tens, _, units = word.partition("十")
        return (CJK_DIGITS.get(tens, 1) if tens else 1) * 10 + (CJK_DIGITS.get(units, 0)
                                                               if units else 0)
    return None


def picture_count(text: str) -> tuple[int | None, str | None]:
    """The number of pictures asked for and the noun used ("posters"), or (None, None)."""
    if match := COUNT.search(text):
        return number(match["count"]), match["noun"].lower()
    if match := CJK_COUNT.search(text):
        return number(match["count"] or match["after"]), None
    return None, None
