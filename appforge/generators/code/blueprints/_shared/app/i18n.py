"""The words on the app's pages in the app's language, and its dates and numbers as that language
writes them.

Each language is one catalogue, ``app/locale/<code>.toml``; the app's language (``site.LANGUAGE``,
"pt-BR" reads as "pt") picks one, and English fills any word it lacks, so a page never shows a
key. Adding a language adds a file. Only what a person reads goes through here: the JSON API keeps
its English messages for machine clients.
"""

from __future__ import annotations

import datetime
import decimal
import re
import tomllib
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from app import site

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
FALLBACK = "en"
#: Which numbers take a catalogue's ``one`` form: English and most others only 1, French 0 and 1,
#: Chinese and Japanese never (one form for every number).
_PLURAL_RULES = {
    "one": lambda n: n == 1,
    "zero_one": lambda n: n in (0, 1),
    "none": lambda n: False,
}


def language_code(language: str) -> str:
    """The catalogue for ``language``: its primary subtag when the app has one, else English."""
    primary = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    if re.fullmatch(r"[a-z]{2,3}", primary) and (LOCALE_DIR / f"{primary}.toml").is_file():
        return primary
    return FALLBACK


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"crud": {"edit": ...}}`` -> ``{"crud.edit": ...}``; a table with ``other`` is a plural."""
    words: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict) and "other" not in value:
            words.update(_flatten(value, f"{prefix}{key}."))
        else:
            words[prefix + key] = value
    return words


def load(code: str) -> dict[str, Any]:
    """Every word of catalogue ``code``, English where it has none."""
    words: dict[str, Any] = {}
    for name in dict.fromkeys((FALLBACK, code)):
        with (LOCALE_DIR / f"{name}.toml").open("rb") as file:
            words.update(_flatten(tomllib.load(file)))
    return words


CODE = language_code(site.LANGUAGE)
WORDS = load(CODE)


def _entry(key: str, count: int | None) -> tuple[str, dict[str, Any]]:
    entry = WORDS[key]
    if not isinstance(entry, dict):
        return entry, {}
    number = count or 0
    form = "one" if _PLURAL_RULES[WORDS["meta.plural"]](number) and "one" in entry else "other"
    return entry[form], {"count": format_number(number)}


def t(key: str, count: int | None = None, **values: Any) -> str:
    """The words for ``key`` with ``values`` filled in (``count`` picks a plural form)."""
    text, extra = _entry(key, count)
    return text.format(**extra, **values)


def markup(key: str, count: int | None = None, **values: Any) -> Markup:
    """:func:`t` for templates: the catalogue's text is escaped, and so is every value that is not
    markup already (a field's rendered value may be)."""
    text, extra = _entry(key, count)
    return Markup(escape(text)).format(**extra, **values)


def noun(label: str) -> str:
    """A label inside a sentence: "Garden Bed" -> "garden bed" where the language writes nouns in
    lower case (acronyms kept); German, Chinese and Japanese keep it as it is."""
    if not WORDS["meta.lowercase_nouns"]:
        return label
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in label.split(" "))


def _separators(text: str) -> str:
    """Python's "1,234.5" in this language's separators ("1.234,5", "1 234,5")."""
    return text.translate({ord(","): WORDS["number.group"], ord("."): WORDS["number.decimal"]})


def decimal_text(text: str) -> str:
    """A plain number ("0.5", no grouping) with this language's decimal separator."""
    return text.replace(".", WORDS["number.decimal"])


def format_number(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return _separators(f"{value:,.6f}".rstrip("0").rstrip("."))
    return _separators(f"{value:,}")


def format_money(value: decimal.Decimal | None) -> str:
    return "" if value is None else _separators(f"{value:,.2f}")


def format_date(value: datetime.date | str | None) -> str:
    """A date as people of this language write it: "30 Nov 2026", "30. Nov. 2026", "2026年11月30日".
    Text is read from its first ten characters (an ISO timestamp's date)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.date.fromisoformat(value[:10])
    return WORDS["date.format"].format(
        day=value.day,
        month=WORDS["date.months"][value.month - 1],
        month_number=value.month,
        year=value.year,
    )
