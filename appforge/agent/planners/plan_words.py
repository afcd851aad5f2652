"""The words the offline planner writes into a plan, in the plan's language: copy (taglines,
calls to action, features, alt texts), the usual records' and fields' labels, and the little
grammar a gallery caption needs ("zorros en la nieve" -> "un zorro en la nieve").

The words live in ``words/<language>.toml``, one file per language; English copy stays with the
topics and usual apps it belongs to. Adding a language adds a file.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

_WORDS = Path(__file__).with_name("words")


@cache
def plan_words(language: str) -> dict[str, Any] | None:
    """The word tables of ``language``, or None where there are none (English, other)."""
    path = _WORDS / f"{language}.toml"
    if language == "en" or not path.is_file():
        return None
    with path.open("rb") as handle:
        return tomllib.load(handle)


def languages() -> list[str]:
    """The languages with word tables, besides English."""
    return sorted(path.stem for path in _WORDS.glob("*.toml"))


def fill(template: str, **values: str | None) -> str:
    """A template with its blanks filled; ``{in_place}`` from ``place`` (or nothing)."""
    words = values.pop("words", None)
    place = values.get("place")
    in_place = str(words["copy"]["in_place"]).format(place=place) if words and place else ""
    things = values.get("things") or ""
    return template.format_map(_Blanks(in_place=in_place, Things=things[:1].upper() + things[1:],
                                       **{k: v or "" for k, v in values.items()}))


class _Blanks(dict):
    def __missing__(self, key: str) -> str:
        return ""


def caption(item: str, language: str) -> str:
    """What one picture shows, as a caption: the plural noun in front made singular with its
    article ("zorros en la nieve" -> "un zorro en la nieve", "Füchsen" -> "ein Fuchs"); the
    phrase as written when its noun is not known."""
    words = plan_words(language)
    item = item.strip()
    if not words or not item:
        return item
    grammar = words["grammar"]
    # "renards et de hiboux": the list's "de" and any article belong to no one picture
    item = without_lead(item, [*grammar["list_particles"], *grammar["label_articles"]]) or item
    head, _, rest = item.partition(" ")
    nouns: dict[str, str] = words["nouns"]
    found = nouns.get(head) or nouns.get(head.lower())
    if found is None:
        found = _rule_singular(head, grammar)
    return f"{found} {rest}".strip() if found else item


def without_lead(text: str, words: list[str]) -> str:
    """``text`` without the ``words`` it starts with ("de la ", "l'")."""
    if not words:
        return text
    lead = "|".join(re.escape(w) if w.endswith("'") else re.escape(w) + r"\s+"
                    for w in sorted(words, key=len, reverse=True))
    return re.sub(rf"^(?:{lead})+", "", text, flags=re.IGNORECASE).strip()


def _rule_singular(noun: str, grammar: dict[str, Any]) -> str | None:
    """``"gatos"`` -> ``"un gato"`` by the language's endings; None when unsure."""
    if not noun.isalpha() or not any(noun.lower().endswith(end) for end, _ in grammar["singular"]):
        return None
    low = noun.lower()
    single = next(low[: len(low) - len(end)] + repl for end, repl in grammar["singular"]
                  if low.endswith(end))
    articles = grammar["articles"]
    if any(single.endswith(end) for end in grammar["feminine_endings"]):
        article = articles.get("feminine")
    elif any(single.endswith(end) for end in grammar["masculine_endings"]):
        article = articles.get("masculine")
    else:
        return None
    return f"{article} {single}" if article else None


def plural_label(label: str, text: str, language: str) -> str:
    """The plural of a record's label in the description's language: as the description writes
    it when it does ("Jede Pflanze ... meine Pflanzen"), otherwise by the usual endings."""
    words = plan_words(language)
    if not words or language in ("zh", "ja"):
        return label
    low = label.lower()
    for match in re.finditer(rf"\b{re.escape(low)}(\w{{1,3}})\b", text.lower()):
        ending = match.group(1)
        if ending in ("s", "es", "n", "en", "e", "er", "nen", "x", "i"):
            return label + ending
    if language == "de":
        return label if low.endswith(("er", "el", "en", "chen", "lein")) else \
            label + ("n" if low.endswith("e") else "e")
    if language == "it":
        return label[:-1] + {"o": "i", "a": "e", "e": "i"}.get(low[-1], low[-1]) \
            if low[-1] in "oae" else label
    if language == "es" and not low.endswith(("a", "e", "i", "o", "u", "á", "é", "s")):
        return label + "es"
    return label if low.endswith(("s", "x")) else label + "s"


def kept_phrase(text: str, language: str) -> tuple[str, str] | None:
    """What the description says it keeps, after a possessive: ("i miei", "vini"), or
    ("mi", "clínica dental"); None without one."""
    words = plan_words(language)
    possessives = sorted(words["grammar"].get("possessives", []) if words else [], key=len,
                         reverse=True)
    if not words or not possessives:
        return None
    lead = "|".join(re.escape(word) for word in possessives)
    match = re.search(rf"(?<!\w)(?P<lead>{lead})\s+(?P<rest>[^\W\d_]+(?:\s+[^\W\d_']+){{0,3}})",
                      text, re.IGNORECASE)
    if not match:
        return None
    grammar = words["grammar"]
    stops = {*grammar.get("settings", []), *grammar.get("name_stops", [])}
    first, *others = match["rest"].split()
    kept = [first]
    for word in others:
        if word.lower() in stops:
            break
        kept.append(word)
    while len(kept) > 1 and kept[-1].lower() in grammar.get("list_particles", []):
        kept.pop()  # "mi tienda de": the "de" leads nowhere
    return match["lead"], " ".join(kept)


def kept_things(name: str | None, text: str, language: str) -> str | None:
    """A name for an app whose description calls it only an app or a list: what it keeps, as
    the description says it ("un'app per gestire i miei vini" -> "I miei vini"); None when the
    name says more than that or the description names nothing kept."""
    words = plan_words(language)
    if not words or not name or name.lower() not in words["grammar"].get("app_words", []):
        return None
    found = kept_phrase(text, language)
    if found is None:
        return None
    said = " ".join(found)
    return said[:1].upper() + said[1:]


def singular_noun(noun: str, language: str) -> str | None:
    """``"vini"`` -> ``"vino"``, ``"recetas"`` -> ``"receta"`` by the language's table and
    endings; None when unsure (German plurals, words with no plural ending)."""
    words = plan_words(language)
    if not words:
        return None
    known = words["nouns"].get(noun) or words["nouns"].get(noun.lower())
    if known:
        return known.split(" ", 1)[-1].split("'", 1)[-1]
    found = _rule_singular(noun, words["grammar"])
    return found.split(" ", 1)[-1] if found else None
