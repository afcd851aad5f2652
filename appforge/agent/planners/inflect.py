"""English word forms the blueprint planner needs: plurals, singulars, articles and counts.

Simple rules plus a few irregulars; good enough for entity names ("plant" / "plants",
"category" / "categories", "person" / "people") and image prompts ("a fox", "an owl").
"""

from __future__ import annotations

import re

_IRREGULAR = {
    "person": "people", "child": "children", "man": "men", "woman": "women", "mouse": "mice",
    "goose": "geese", "foot": "feet", "tooth": "teeth", "ox": "oxen", "cactus": "cacti",
    "leaf": "leaves", "knife": "knives", "wife": "wives", "life": "lives", "half": "halves",
    "shelf": "shelves", "wolf": "wolves", "calf": "calves", "thief": "thieves", "loaf": "loaves",
}
_SINGULAR = {plural: single for single, plural in _IRREGULAR.items()}
#: Words whose plural is the word itself (or that have no plural).
_UNCHANGED = frozenset({
    "sheep", "fish", "deer", "series", "species", "news", "data", "equipment", "information",
    "software", "hardware", "music", "money", "furniture", "luggage", "feedback", "advice",
    "rice", "moose", "aircraft", "salmon", "trout", "bison",
})
#: Singulars ending in -ie, so "movies" is not read as "movy".
_IE_WORDS = frozenset({
    "movie", "cookie", "pie", "tie", "calorie", "selfie", "brownie", "smoothie", "rookie",
    "zombie", "hoodie", "goalie", "freebie", "newbie", "veggie", "lie", "birdie", "genie",
})
_O_ES = frozenset({"potato", "tomato", "hero", "echo", "veto", "mosquito", "torpedo"})
_US_ES = frozenset({"status", "bus", "bonus", "virus", "campus", "census", "focus", "chorus"})

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "a dozen": 12,
    "a couple of": 2, "a couple": 2, "a few": 3, "several": 5,
}
_NUMBER_NAMES = {value: word for word, value in NUMBER_WORDS.items()
                 if " " not in word and word != "several"}
_NUMBER_NAMES[12] = "twelve"


def plural(word: str) -> str:
    """The plural of a lowercase English noun (``"category"`` -> ``"categories"``)."""
    if word in _UNCHANGED:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word in _O_ES:
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(?:s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def singular(word: str) -> str:
    """The singular of a lowercase English noun (``"foxes"`` -> ``"fox"``)."""
    if word in _UNCHANGED or word in _IRREGULAR:
        return word
    if word in _SINGULAR:
        return _SINGULAR[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-1] if word[:-1] in _IE_WORDS else word[:-3] + "y"
    if word.endswith("oes") and word[:-2] in _O_ES:
        return word[:-2]
    if word.endswith("es") and word[:-2] in _US_ES:
        return word[:-2]
    if re.search(r"(?:ss|x|z|ch|sh)es$", word):
        return word[:-2]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def is_plural(word: str) -> bool:
    return singular(word) != word


def with_article(phrase: str) -> str:
    """``"owl"`` -> ``"an owl"``; ``"fox"`` -> ``"a fox"``."""
    first = phrase.lower()
    vowel = first[:1] in set("aeiou") and not first.startswith(("uni", "use", "usu", "eu", "one"))
    if first.startswith(("hour", "honest", "heir", "honou")):
        vowel = True
    return f"{'an' if vowel else 'a'} {phrase}"


def count_word(number: int) -> str:
    """``6`` -> ``"six"`` (digits above twelve)."""
    return _NUMBER_NAMES.get(number, str(number))


def parse_number(word: str) -> int | None:
    """``"six"`` / ``"6"`` / ``"a dozen"`` -> the number, else None."""
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)
