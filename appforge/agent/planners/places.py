"""The place an app is about ("in Ericeira", "en Sevilla", "à Lyon", "在上海", "場所は京都"), and the
capitalised runs of words a description names things with, so a name never swallows its place.
"""

from __future__ import annotations

import re

#: Words that put a place after them, by language.
PLACE_WORDS = {
    "en": r"in|at|near|from|based in|located in|around",
    "es": r"en|desde|cerca de",
    "pt": r"em|na|no|nas|nos|perto de",
    "fr": r"à|a|au|aux|en|près de",
    "de": r"in|im|aus|bei|nahe",
    "it": r"a|in|ad|vicino a",
}
_CAPITAL_RUN = (r"[A-ZÀ-ÖØ-Þ][\w'’-]*(?:\s+(?:(?:de|do|da|del|di|la|le|sur|am|upon|on)\s+)?"
                r"[A-ZÀ-ÖØ-Þ][\w'’-]*)*")
_PLACES = {
    lang: re.compile(rf"(?<![\w'’])(?:{words})\s+(?P<place>{_CAPITAL_RUN})")
    for lang, words in PLACE_WORDS.items()
}
#: Capitalised words that are no place: languages, months, days, pronouns.
NOT_PLACES = frozenset({
    "English", "Spanish", "German", "French", "Portuguese", "Italian", "Japanese", "Russian",
    "Chinese", "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December", "Monday", "Tuesday", "Wednesday",
    "Thursday", "Friday", "Saturday", "Sunday", "Dark", "Light", "Python", "React", "I", "The",
    "A", "An", "My", "Our", "Markdown", "Excel", "Google", "Instagram",
})
#: Chinese: "在上海" / "位于上海"; Japanese: "場所は京都" / "京都にある".
_CJK_PLACE = re.compile(
    r"(?:在|位于|位於|地点是|地点在|場所は|所在地は)\s*(?P<place>[\u4e00-\u9fff]{2,4}?)"
    r"(?=$|[，。、,.!！的开開にのでです市])"
    r"|(?P<place2>[\u4e00-\u9fff]{2,4}?)(?:市)?(?:にある|の街|にあります)"
)


def find_place(sentences: list[str], language: str = "en") -> str | None:
    """The place the app is about: "a surf school in Ericeira" -> "Ericeira"."""
    if language in ("zh", "ja"):
        for sentence in sentences:
            if match := _CJK_PLACE.search(sentence):
                return match["place"] or match["place2"]
        return None
    pattern = _PLACES.get(language, _PLACES["en"])
    for sentence in sentences:
        for match in pattern.finditer(sentence):
            words = match.group("place").split()
            while words and words[-1][:1].islower():
                words.pop()
            place = " ".join(words).strip("'’-")
            if place and words[0] not in NOT_PLACES and "." not in place \
                    and not _is_shouted(sentence):
                return place
    return None


def _is_shouted(sentence: str) -> bool:
    letters = [c for c in sentence if c.isalpha()]
    return len(letters) > 8 and all(c.isupper() for c in letters)
