"""Turning a phrase such as "the date it was last watered" into a typed :class:`EntityField`.

The name is a short snake_case identifier made from the phrase ("last_watered"); the type is
guessed from its words, the last word first (English puts the head noun last: "payment date" is a
date, "date paid" is too), then the first ("days between waterings" counts days), then the rest.
"""

from __future__ import annotations

import keyword
import re

from appforge.agent.planners.inflect import singular
from appforge.agent.planners.translit import to_ascii
from appforge.spec import RESERVED_FIELDS, UPLOAD_TYPES, EntityField, FieldType

_RATING = frozenset({"rating", "ratings", "stars", "star"})
_WORDS_BY_TYPE: tuple[tuple[FieldType, frozenset[str]], ...] = (
    (FieldType.rating, _RATING),
    # Uploads: "a receipt photo", "a cover image", "an attachment", "the signed pdf".
    (FieldType.image, frozenset({
        "photo", "photograph", "picture", "pic", "image", "img", "avatar", "cover", "logo",
        "scan", "thumbnail", "portrait", "headshot", "selfie", "snapshot", "screenshot", "foto",
        "bild", "imagen", "imagem", "immagine"})),
    (FieldType.file, frozenset({
        "file", "attachment", "document", "doc", "pdf", "upload", "datei", "archivo",
        "fichier", "arquivo", "documento", "dokument", "anhang"})),
    (FieldType.money, frozenset({
        "amount", "price", "cost", "total", "salary", "budget", "balance", "fee", "rent",
        "income", "revenue", "payment", "wage", "tip", "spend", "spent", "spending", "deposit",
        "expense", "refund", "subtotal", "tax", "precio", "preis", "prix", "preco", "prezzo",
        "importe", "betrag", "montant", "valor", "costo", "kosten", "coste", "cout"})),
    (FieldType.date, frozenset({
        "date", "when", "deadline", "birthday", "anniversary", "dob", "expiry", "expires",
        "expiration", "dated", "fecha", "datum", "cumpleanos", "geburtstag", "anniversaire"})),
    (FieldType.email, frozenset({"email", "mail", "correo", "courriel"})),
    (FieldType.phone, frozenset({"phone", "mobile", "tel", "telephone", "cell", "cellphone",
                                 "whatsapp", "fax", "telefono", "telefon"})),
    (FieldType.url, frozenset({"url", "website", "link", "homepage", "site", "web", "href",
                               "uri", "enlace", "webseite"})),
    (FieldType.long_text, frozenset({
        "notes", "note", "description", "body", "content", "bio", "comments", "comment",
        "details", "ingredients", "instructions", "summary", "directions", "method", "review",
        "message", "story", "thoughts", "reflection", "remarks", "feedback", "memo", "biography",
        "abstract", "synopsis", "plot", "lyrics", "notas", "notizen", "beschreibung",
        "descripcion", "ingredientes", "zutaten", "comentarios", "anmerkungen"})),
    (FieldType.integer, frozenset({
        "quantity", "qty", "count", "year", "years", "age", "days", "minutes", "hours",
        "servings", "pages", "reps", "sets", "calories", "seconds", "weeks", "months", "laps",
        "guests", "copies", "stock", "units", "points", "floors", "rooms", "seats", "times",
        "visits", "streak", "episodes", "chapters", "population", "capacity", "attendees",
        "duration", "cantidad", "menge", "anzahl", "quantite", "quantidade", "quantita", "edad",
        "alter", "jahr", "ano", "anno", "annee"})),
    (FieldType.decimal, frozenset({
        "weight", "height", "distance", "temperature", "temp", "percentage", "percent",
        "length", "width", "depth", "km", "miles", "kg", "lbs", "speed", "pace", "bmi",
        "volume", "latitude", "longitude", "lat", "lng", "ratio", "abv", "elevation",
        "altitude", "gewicht", "peso", "poids", "distancia", "entfernung"})),
)
_BOOLEAN = frozenset({
    "active", "done", "completed", "complete", "paid", "archived", "favorite", "favourite",
    "published", "enabled", "visible", "finished", "checked", "approved", "verified",
    "available", "read", "watched", "pinned", "private", "public", "featured", "confirmed",
    "attended", "returned", "sold", "shipped", "delivered", "resolved", "starred", "visited",
    "owned", "hecho", "erledigt", "fait", "feito", "fatto", "pagado", "bezahlt", "paye",
})
_BOOLEAN_PREFIXES = frozenset({"is", "has", "was", "can", "needs", "should", "are", "have"})
_IRREGULAR_PAST = frozenset({"fed", "seen", "done", "run", "read", "met", "paid", "given",
                             "taken", "bought", "sold", "cut", "worn", "eaten", "made", "sent"})
_UNITS: dict[str, FieldType] = {
    **dict.fromkeys(("euro", "euros", "eur", "dollar", "dollars", "usd", "gbp", "chf", "yen"),
                    FieldType.money),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "hours", "hour", "hrs", "days",
                     "seconds", "secs", "weeks", "months", "years"), FieldType.integer),
    **dict.fromkeys(("kg", "km", "miles", "mi", "lbs", "lb", "pounds", "g", "grams", "cm", "mm",
                     "m", "meters", "metres", "litres", "liters", "l", "ml", "celsius",
                     "fahrenheit", "percent", "kilograms", "kilometers", "kilometres", "inches",
                     "feet", "ounces", "oz"), FieldType.decimal),
}
_DROP = frozenset({"a", "an", "the", "its", "their", "his", "her", "my", "our", "your", "it",
                   "they", "was", "were", "is", "are", "been", "be", "i", "we", "you", "s", "ve",
                   "d", "ll", "re", "m", "el", "la", "los", "las", "un", "una", "der", "die",
                   "das", "ein", "eine", "einen", "einem", "einer", "eines", "den", "dem", "des", "le", "les",
                   "une", "o", "os", "um", "uma", "il", "lo"})
#: Inflected forms a field should not be named by ("einen Namen" is a name).
_BASE_FORMS = {"namen": "name"}
_RANGE = re.compile(
    r"(?:\b(?:from|between|de|von|entre)\s+)?(-?\d+(?:\.\d+)?)\s*"
    r"(?:to|-|–|—|through|thru|\.\.|a|bis|à)\s*"
    r"(-?\d+(?:\.\d+)?)"
)
_OUT_OF = re.compile(r"(?:\bout of|/)\s*(\d+(?:\.\d+)?)")
_STARS = re.compile(r"\b(\d+)\s*-?\s*stars?\b")
_DATE_PHRASE = re.compile(
    r"^(?:date|day|when)\s+(?:when\s+|that\s+|on which\s+)?"
    r"(?:it|they|he|she|i|we|you|this|the \w+)(?:'s)?\s+(?:was|were|is|are|got|had been|has been"
    r"|last)?\s*(?P<rest>.+)$"
)
_DATE_OF = re.compile(r"^date\s+of\s+(?P<rest>.+)$")
_COUNT_OF = re.compile(r"^(?:number|no\.?|count|num|quantity|amount)\s+of\s+(?P<rest>.+)$")
_HOW = re.compile(r"^how\s+(?P<how>many|much|often|long)\s+(?P<rest>.+)$")
_WHETHER = re.compile(r"^(?:whether|if|is it|are they)\s+(?P<rest>.+)$")
#: A verb a person does something with, before the thing it names: "enter a bill" is a bill.
_IMPERATIVE = re.compile(r"(?i)^(?:enter|type|input|add|record|log|track|see|view|show|pick|"
                         r"choose|select|set|get|keep|store|write down|note down|upload)\s+"
                         r"(?=(?:a|an|the|its|their|his|her|my|our|your|some|any)\s)")
_ACRONYMS = re.compile(r"\b(?:url|isbn|sku|vat|bmi|abv|gps|api|ip|dob)\b", re.IGNORECASE)
_EXAMPLES = re.compile(r"\b(?:e\.?g\.?|eg|like|such as|for example|for instance|i\.?e\.?|ie)\b.*$")


def field_from_phrase(phrase: str) -> EntityField | None:
    """``"days between waterings"`` -> ``days_between_waterings: integer``; None if the phrase
    has no usable words."""
    display = re.sub(r"\s+", " ", phrase.replace("’", "'")).strip(" .,;:!?\"'")
    low = display.lower()
    hints = " ".join(re.findall(r"\(([^)]*)\)", low))
    low = re.sub(r"\([^)]*\)", " ", low)
    display = re.sub(r"\s*\([^)]*\)", "", display)
    required: bool | None = None
    if re.search(r"\boptional\b", f"{low} {hints}"):
        required = False
    elif re.search(r"\b(?:required|mandatory)\b", f"{low} {hints}"):
        required = True
    low = re.sub(r"\b(?:optional|required|mandatory)\b", " ", low)
    display = re.sub(r"(?i)\b(?:optional|required|mandatory)\b", " ", display)
    low, display = _EXAMPLES.sub("", low), re.sub(r"(?i)" + _EXAMPLES.pattern, "", display)
    bounds = _bounds(low) or _bounds(hints)
    low = _STARS.sub(" ", _OUT_OF.sub(" ", _RANGE.sub(" ", low)))
    display = _STARS.sub(" ", _OUT_OF.sub(" ", _RANGE.sub(" ", display)))
    money_hint = bool(re.search(r"[€$£¥]", phrase))
    # "enter a bill", "see the tip": what a person does, not what the field is called
    low, display = _IMPERATIVE.sub("", low.strip()), _IMPERATIVE.sub("", display.strip())
    low = re.sub(r"^(?:(?:a|an|the|its|their|his|her|my|our|your|some|any)\s+)+", "",
                 re.sub(r"\s+", " ", low).strip(" -:,"))
    display = re.sub(r"(?i)^(?:(?:a|an|the|its|their|his|her|my|our|your|some|any)\s+)+", "",
                     re.sub(r"\s+", " ", display).strip(" -:,"))
    # "a pinned flag", "a paid checkbox", "an active yes/no" name a boolean by its first words.
    flag = re.match(r"^(.+?)\s+(?:flag|checkbox|check box|toggle|yes/no|yes or no)$", low)
    if flag:
        low = flag.group(1)
        display = re.sub(r"(?i)\s+(?:flag|checkbox|check box|toggle|yes/no|yes or no)$", "",
                         display)
    guess = _read(low, hints, money_hint)
    if guess is None:
        return None
    name, ftype, label_from_name = guess
    if flag:
        ftype = FieldType.boolean
    name = _identifier(name)
    if name is None:
        return None
    if name in RESERVED_FIELDS:
        if not name.endswith("_at"):
            return None
        name, ftype, label_from_name = name[:-3] + "_on", FieldType.date, True
    minimum, maximum = _typed_bounds(ftype, bounds)
    if bounds is not None and ("score" in name.split("_") or ftype in (FieldType.text,
                                                                      FieldType.long_text)):
        small_scale = 0 <= bounds[0] and bounds[1] <= 10
        ftype = FieldType.rating if small_scale or "score" in name else FieldType.integer
        minimum, maximum = bounds
    if ftype == FieldType.rating and minimum is None:
        minimum, maximum = 1, 5
    display = re.sub(r"\s+", " ", re.sub(r"[_€$£¥]+", " ", display)).strip()
    label = _humanize(name) if label_from_name or not display else display[:1].upper() + display[1:]
    label = _ACRONYMS.sub(lambda m: m.group(0).upper(), label)
    return EntityField(name=name, label=label[:60].strip(), type=ftype,
                       required=bool(required) and ftype != FieldType.boolean,
                       min=minimum, max=maximum)


def _read(low: str, hints: str, money_hint: bool) -> tuple[str, FieldType, bool] | None:
    """(name words, type, whether the label should come from the name) for a cleaned phrase."""
    if match := _DATE_OF.match(low):
        return f"{match['rest']} date", FieldType.date, True
    if match := _DATE_PHRASE.match(low):
        words = _words(match["rest"])
        if len(words) == 1 and words[0] != "last":
            words.append("on")
        return " ".join(words), FieldType.date, True
    if match := _COUNT_OF.match(low):
        ftype = FieldType.integer
        if low.startswith("amount"):
            money = _guess(_words(match["rest"]), money_hint) == FieldType.money
            ftype = FieldType.money if money else FieldType.decimal
        return " ".join(_words(match["rest"])), ftype, False
    if match := _HOW.match(low):
        if match["how"] == "often":
            return "frequency", FieldType.text, True
        if match["how"] == "long":
            return "duration", FieldType.integer, True
        words = _words(match["rest"])
        if match["how"] == "many":
            return " ".join(words), FieldType.integer, True
        money = _guess(words, money_hint) == FieldType.money
        return " ".join(words), FieldType.money if money else FieldType.decimal, True
    if match := _WHETHER.match(low):
        return " ".join(_words(match["rest"])), FieldType.boolean, True
    words = _words(low)
    if not words:
        return None
    name_words, unit = _split_unit(words, hints)
    ftype = _guess(name_words, money_hint) or (unit and _UNITS[unit]) or FieldType.text
    if unit and _UNITS[unit] != FieldType.money:
        name_words = [*name_words, unit]
    return " ".join(name_words), ftype, False


def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", to_ascii(text).lower())
    words = [_BASE_FORMS.get(w, w) for w in words]
    kept = [w for i, w in enumerate(words)
            if w not in _DROP or (i == 0 and w in _BOOLEAN_PREFIXES and len(words) > 1)]
    return kept or [w for w in words if w not in ("a", "an", "the")]


def _split_unit(words: list[str], hints: str) -> tuple[list[str], str | None]:
    """``["price", "in", "euros"]`` -> (["price"], "euros"); a unit in parentheses counts too."""
    for marker in ("in", "per"):
        if marker in words[1:]:
            at = words.index(marker, 1)
            rest = words[at + 1:]
            if marker == "in" and len(rest) == 1 and rest[0] in _UNITS:
                return words[:at], rest[0]
            if marker == "per":
                return words, None
    hint_words = re.findall(r"[a-z]+", hints)
    if len(hint_words) == 1 and hint_words[0] in _UNITS:
        return words, hint_words[0]
    return words, None


def _guess(words: list[str], money_hint: bool = False) -> FieldType | None:
    if not words:
        return None
    typing = words[:words.index("per")] if "per" in words[1:] else words
    if len(typing) == 1 and typing[0] in _BOOLEAN:
        return FieldType.boolean
    if typing[0] in _BOOLEAN_PREFIXES and len(typing) > 1:
        return FieldType.boolean
    if len(typing) >= 2 and typing[0] == "last" and (
            typing[1].endswith("ed") or typing[1] in _IRREGULAR_PAST):
        return FieldType.date
    if len(typing) >= 2 and typing[-1] == "on" and (
            typing[-2].endswith("ed") or typing[-2] in _IRREGULAR_PAST or typing[-2] == "born"):
        return FieldType.date
    order = [typing[-1], typing[0], *typing[1:-1]]
    for at, word in enumerate(order):
        # An upload is named by its head noun ("receipt photo", "photo of the receipt"); a
        # "document title" is text and a "photo count" a number.
        head = at == 0 or (at == 1 and len(typing) > 2 and typing[1] == "of")
        for form in (word, singular(word)):
            for ftype, vocabulary in _WORDS_BY_TYPE:
                if form in vocabulary and (head or ftype not in UPLOAD_TYPES):
                    return ftype
    if "score" in typing:
        return FieldType.integer
    return FieldType.money if money_hint else None


def _bounds(text: str) -> tuple[float, float] | None:
    if match := _RANGE.search(text):
        low, high = sorted((float(match.group(1)), float(match.group(2))))
        return _tidy(low), _tidy(high)
    if match := _OUT_OF.search(text):
        high = float(match.group(1))
        return (1 if high <= 10 else 0), _tidy(high)
    if match := _STARS.search(text):
        return 1, _tidy(float(match.group(1)))
    return None


def _tidy(value: float) -> float:
    return int(value) if value.is_integer() else value


def _typed_bounds(ftype: FieldType,
                  bounds: tuple[float, float] | None) -> tuple[float | None, float | None]:
    if bounds is None:
        return None, None
    if ftype in (FieldType.rating, FieldType.integer, FieldType.decimal, FieldType.money):
        return bounds
    return None, None


def _identifier(words: str) -> str | None:
    name = re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", to_ascii(words).lower())).strip("_")
    if not name:
        return None
    parts = name.split("_")[:6]
    name = ""
    for part in parts:
        candidate = f"{name}_{part}" if name else part
        if len(candidate) > 40:
            break
        name = candidate
    name = name or parts[0][:40]
    if not name[0].isalpha():
        name = f"field_{name}"[:40].rstrip("_")
    if keyword.iskeyword(name):
        name += "_"
    return name


def _humanize(name: str) -> str:
    words = name.split("_")
    if words[0] in ("is", "has") and len(words) > 1:
        words = words[1:]
    return " ".join(words).strip().capitalize() or name
