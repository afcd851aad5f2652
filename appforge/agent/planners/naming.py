"""The app's name and slug: a name the user gave ("called Sprout", "Sprout", "Sprout, a ..."),
or one made from what the app is about ("Ericeira Surf School", "Expense Tracker"), and a DNS
label made from that name.
"""

from __future__ import annotations

import hashlib
import re

from appforge.agent.planners.phrases import container_object, strip_name_prefix
from appforge.agent.planners.translit import to_ascii

#: The name used when nothing in the description can name the app; its slug is "app-<hash>".
FALLBACK_NAME = "My App"

_CALLED = re.compile(
    r"\b(?:called|named|titled|entitled|name it|call it|(?:its|the) name (?:is|should be)"
    r"|name:|llamad[ao]s?|que se llama|se llama|namens|genannt|mit dem namen|appel[ée]e?s?"
    r"|nomm[ée]e?s?|s'appelle|chamad[ao]s?|chiamat[ao]|denominad[ao]|intitulad[ao]"
    r"|называется|под названием|с названием)(?=[\s:\"'“‘«„「『])\s*:?\s*",
    re.IGNORECASE,
)
#: Quoted text, each opening quote with its own closing ones; ASCII quotes need word boundaries
#: so apostrophes ("Grandma's") do not close them.
_QUOTES = (
    r'(?<!\w)"([^"\n]{1,60})"(?!\w)',
    r"“([^”\"\n]{1,60})[”\"]",
    r"(?<!\w)[‘']([^\n]{1,60}?)[’'](?!\w)",
    r"«\s*([^»\n]{1,60}?)\s*»",
    r"„([^“”\"\n]{1,60})[“”\"]",
    r"「([^」\n]{1,60})」",
    r"『([^』\n]{1,60})』",
)
_QUOTED = re.compile("|".join(_QUOTES))
_QUOTED_AT_START = re.compile("|".join(f"^(?:{q})" for q in _QUOTES))
_NOT_QUOTED_NAME = re.compile(r"(?:says?|saying|reads?|label(?:l?ed)?|button|text|heading)\s*$",
                              re.IGNORECASE)
_NAME_STOPS = frozenset({
    "with", "that", "which", "for", "where", "to", "in", "on", "at", "using", "so", "it", "who",
    "because", "but", "a", "an", "is", "will", "should", "and", "or", "-", "–", "—", "con",
    "para", "que", "mit", "für", "und", "pour", "avec", "qui", "et", "com", "per", "che", "ed",
    "и", "для", "с", "y", "e", "mais", "has", "have", "was", "be",
})
_CONNECTORS = frozenset({"de", "del", "da", "do", "di", "von", "van", "la", "le", "of", "the",
                         "and", "&", "y", "e", "et", "und"})
_PROPER_TAIL = re.compile(
    r"^[a-z][\w'-]*(?:\s+[a-z][\w'-]*)*\s+(?P<proper>[A-Z][a-z][\w'’&-]*(?:\s+[A-Z0-9][\w'’&-]*)*)$"
)
_SMALL_WORDS = frozenset({"of", "and", "the", "in", "for", "a", "an", "on", "at", "to", "by",
                          "with", "or", "de", "la", "del"})


def find_name(text: str, sentences: list[str]) -> str | None:
    """The name the user gave the app, if any: "called X", "X, a ...", or a quoted name."""
    called = _CALLED.search(text)
    if called:
        name = _name_after(text[called.end():])
        if name:
            return name
    if sentences:
        leading, _ = strip_name_prefix(sentences[0])
        if leading:
            return _clean(leading)
    for quoted in _QUOTED.finditer(text):
        candidate = _clean(_group(quoted))
        before = text[:quoted.start()]
        if candidate and len(candidate.split()) <= 5 and not _NOT_QUOTED_NAME.search(before):
            first = candidate[0]
            if first.isupper() or first.isdigit() or not first.isascii():
                return candidate
    return None


def _name_after(rest: str) -> str | None:
    quoted = _QUOTED_AT_START.match(rest)
    if quoted:
        return _clean(_group(quoted))
    words: list[str] = []
    tokens = rest.split()
    for index, token in enumerate(tokens[:8]):
        word = token.strip("\"'“”‘’«»„「」『』()[]")
        ended = bool(re.search(r"[,.;:!?)\]」』\"”]$", token)) or not word
        word = word.rstrip(",.;:!?")
        if not word:
            break
        lower = word.lower()
        if words and lower in _CONNECTORS:
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if not following[:1].isupper() or ended:
                break
        elif lower in _NAME_STOPS:
            break
        words.append(word)
        if ended or len(words) == 5:
            break
    return _clean(" ".join(words))


def _group(match: re.Match[str]) -> str:
    return next(group for group in match.groups() if group is not None)


def _clean(name: str) -> str | None:
    name = re.sub(r"\s+", " ", name).strip(" .,;:!?-–—\"'“”‘’«»„「」『』")
    if not re.search(r"\w", name):
        return None
    if len(name) > 60:
        name = name[:60].rsplit(" ", 1)[0]
    if name.isascii() and name == name.lower():
        name = title_case(name)
    return name


def title_case(phrase: str) -> str:
    """``"surf school in ericeira"`` -> ``"Surf School in Ericeira"``; acronyms stay as written."""
    words = phrase.split()
    out = []
    for index, word in enumerate(words):
        if any(c.isupper() for c in word) or (index and word in _SMALL_WORDS):
            out.append(word)
        else:
            out.append("-".join(part[:1].upper() + part[1:] for part in word.split("-")))
    return " ".join(out)


def sentence_case(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


def name_from_phrase(phrase: str, *, sentence: str, place: str | None, owner: str | None,
                     single_word_name: str | None) -> str | None:
    """Make a name from the main phrase: "surf school" + Ericeira -> "Ericeira Surf School",
    "wedding" for Anna and Ben -> "Anna & Ben's Wedding".

    ``single_word_name`` replaces a lone lowercase word ("todo" -> "Todo List").
    """
    words = phrase.split()
    if not words:
        return None
    starts = sentence.lstrip().startswith
    proper_tail = _PROPER_TAIL.match(phrase)  # "my band The Foxes" -> "The Foxes"
    if proper_tail and not starts(proper_tail["proper"]):
        return proper_tail["proper"]
    found = container_object(phrase)
    if found and found.noun and found.form != "mods" and found.container.lower() != "app":
        name = f"{title_case(found.noun)} {found.container}"
    else:
        if len(words) == 1 and single_word_name and (words[0].islower() or starts(words[0])):
            return single_word_name
        kept = words
        if len(words) > 4:
            kept = [w for w in words[-3:] if w.lower() not in ("a", "an", "the")] or words[-1:]
        name = title_case(" ".join(kept))
    # A capital on the sentence's first word says nothing; elsewhere it marks a proper name.
    proper = any(word[:1].isupper() and not starts(word) for word in words)
    if proper:
        return name
    if place and place.lower() not in name.lower():
        return f"{place} {name}"
    if owner and owner.lower() not in name.lower():
        return f"{owner}{chr(39) if owner.endswith('s') else chr(39) + 's'} {name}"
    return name


def name_from_foreign(phrase: str) -> str | None:
    """A name for a description in another language: its first few words, sentence-cased
    (None when that is one long run of text, as unspaced scripts give)."""
    words = phrase.split()[:4]
    if not words or (len(words) == 1 and len(words[0]) > 24):
        return None
    return sentence_case(" ".join(words))


def noun_label(noun: str) -> str:
    """``"workout_session"`` -> ``"Workout session"``."""
    return sentence_case(noun.replace("_", " "))


def make_slug(name: str, description: str) -> str:
    """A DNS label from the name; "app-<hash of the description>" when the name has no letters
    a URL can carry (or is the fallback name)."""
    slug = ""
    if name != FALLBACK_NAME:
        ascii_name = to_ascii(re.sub(r"['’]", "", name)).lower()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")
        if len(slug) > 40:
            cut = slug[:41]
            slug = cut.rsplit("-", 1)[0] if "-" in cut else slug[:40]
            slug = slug.strip("-")
    if not slug:
        digest = hashlib.sha256(description.encode("utf-8", "surrogatepass")).hexdigest()
        slug = f"app-{digest[:6]}"
    return slug

