"""The app's name and slug: a name the user gave ("called Sprout", "Sprout", "Sprout, a ..."),
or one made from what the app is about ("Ericeira Surf School", "Expense Tracker"), and a DNS
label made from that name.
"""

from __future__ import annotations

import hashlib
import re

from appforge.agent.planners.counts import PICTURE_NOUNS
from appforge.agent.planners.phrases import container_object, strip_name_prefix
from appforge.agent.planners.places import NOT_PLACES, PLACE_WORDS
from appforge.agent.planners.translit import to_ascii

#: The name used when nothing in the description can name the app; its slug is "app-<hash>".
FALLBACK_NAME = "My App"
#: Slugs are the app's name, short enough to read and type: cut between words past this.
SLUG_LIMIT = 40

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
#: Chinese and Japanese: "叫小芽的", "名为小芽的", "店名是晨光".
_CJK_CALLED = re.compile(r"(?:叫做|名为|名叫|名字是|名字叫|店名是|店名叫|叫)"
                         r"(?P<name>[^\s，。、的「」“”『』,.]{1,12}?)(?=的|，|。|,|$)")
_RUN = re.compile(r"(?<![\w'’])(?P<run>[A-ZÀ-ÖØ-Þ][\w'’-]*"
                  r"(?:\s+(?:(?:de|del|da|do|di|la|le|of|the|von|van|&)\s+)?[A-ZÀ-ÖØ-Þ][\w'’-]*)*)")
#: Words that may follow an English name: "for Bolt, an ...", "for Blue Door Bakery showing".
_AFTER_NAME = frozenset({"showing", "selling", "offering", "featuring", "presenting", "run",
                         "located", "based", "about", "on", "near", "from", "by", "of"})
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
_PICTURES = re.compile(rf"(?:{PICTURE_NOUNS}|galerie|sammlung)$", re.IGNORECASE)
_SMALL_WORDS = frozenset({"of", "and", "the", "in", "for", "a", "an", "on", "at", "to", "by",
                          "with", "or", "de", "la", "del"})


def find_name(text: str, sentences: list[str], language: str = "en") -> str | None:
    """The name the user gave the app, if any: "called X", "X, a ...", or a quoted name."""
    return given_name(text, sentences, language)[0]


def given_name(text: str, sentences: list[str], language: str = "en") -> tuple[str | None, str]:
    """The name the user gave the app and how it was given: "called" (called/named X),
    "leading" ("Sprout, a ..."), "quoted", "for" (a capitalised name such as "a page for Blue
    Door Bakery"), or (None, "")."""
    called = _CALLED.search(text)
    if called:
        name = _name_after(text[called.end():])
        if name:
            return name, "called"
    if match := _CJK_CALLED.search(text):
        return match["name"], "called"
    if sentences:
        leading, _ = strip_name_prefix(sentences[0])
        if leading:
            return _clean(leading), "leading"
    for quoted in _QUOTED.finditer(text):
        candidate = _clean(_group(quoted))
        before = text[:quoted.start()]
        if candidate and len(candidate.split()) <= 5 and not _NOT_QUOTED_NAME.search(before):
            first = candidate[0]
            if first.isupper() or first.isdigit() or not first.isascii():
                return candidate, "quoted"
    run = capitalised_name(sentences, language)
    return (run, "for") if run else (None, "")


def capitalised_name(sentences: list[str], language: str) -> str | None:
    """A run of capitalised words inside a sentence that names the app ("a website for Ericeira
    Surf School with ...", "a escola de surf Onda Azul na Ericeira"); never a place ("in
    Lisbon"), a month, a language, an acronym, a sentence's first word or, in English, a word
    that only describes the next one ("my Etsy shop")."""
    if language not in PLACE_WORDS:
        return None
    place_word = re.compile(rf"(?:^|\s)(?:{PLACE_WORDS[language]})\s*$", re.IGNORECASE)
    for sentence in sentences:
        if _shouted(sentence):
            continue
        for match in _RUN.finditer(sentence):
            words = match["run"].split()
            while words and words[-1].lower() in _CONNECTORS:
                words.pop()
            before, after = sentence[:match.start()], sentence[match.end():]
            if not words or not before.strip(" \"'“‘«„") or place_word.search(before):
                continue
            if words[0] in NOT_PLACES or all(w.isupper() and len(w) > 1 for w in words):
                continue
            if "&" in words or (language == "de" and len(words) < 2):
                continue
            if language == "de" and _PICTURES.match(words[0]):
                continue  # German capitalises nouns: "Fotos von Füchsen" is what, not a name
            if language == "en" and not _ends_name(after):
                continue
            if (re.search(r"(?:\bfor|\bby)\s*$", before) and re.match(r"\s+and\s+[A-Z]", after)) \
                    or re.search(r"[A-Z][\w'’-]*\s+(?:and|&)\s*$", before):
                continue  # "for Anna and Ben": whose it is, not what it is called
            return _clean(" ".join(words))
    return None


def _ends_name(after: str) -> bool:
    """Whether what follows a capitalised run ends it as a name (not "my Etsy shop")."""
    following = re.match(r"\s*([^\s]*)", after)
    word = following.group(1) if following else ""
    if not word or not word[0].isalnum():
        return True
    return word.lower().rstrip(",.;:!?") in _NAME_STOPS | _AFTER_NAME


def _shouted(sentence: str) -> bool:
    letters = [c for c in sentence if c.isalpha()]
    return len(letters) > 8 and all(c.isupper() for c in letters)


def _name_after(rest: str) -> str | None:
    quoted = _QUOTED_AT_START.match(rest)
    if quoted:
        return _clean(_group(quoted))
    words: list[str] = []
    tokens = rest.split()
    proper = bool(tokens) and tokens[0].strip("\"'“”‘’«»„「」『』()[]")[:1].isupper()
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
        elif lower in _NAME_STOPS or (proper and words and word[:1].islower()):
            break  # "named Lea Park showing six photos", "llamado Sol Café en Sevilla"
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
    if owner and owner.lower() not in name.lower():  # whose it is says more than where
        return f"{owner}{chr(39) if owner.endswith('s') else chr(39) + 's'} {name}"
    if place and place.lower() not in name.lower():
        return f"{place} {name}"
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


def make_slug(name: str, description: str, fallback: str = "") -> str:
    """A short DNS label from the name (at most 40 characters, cut between words); from
    ``fallback`` words when the name has no letters a URL can carry (a name in Chinese
    characters); "app-<hash of the description>" when neither has (or the name is the fallback
    name)."""
    slug = ""
    for source in (name, fallback):
        if source and source != FALLBACK_NAME:
            ascii_name = to_ascii(re.sub(r"['’]", "", source)).lower()
            slug = _short(re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-"))
        if slug:
            break
    if not slug:
        digest = hashlib.sha256(description.encode("utf-8", "surrogatepass")).hexdigest()
        slug = f"app-{digest[:6]}"
    return slug


def _short(slug: str, limit: int = SLUG_LIMIT) -> str:
    if len(slug) <= limit:
        return slug
    cut = slug[:limit + 1]
    return (cut.rsplit("-", 1)[0] if "-" in cut else slug[:limit]).strip("-")
