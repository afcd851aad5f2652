"""Reading a description: its sentences, the main phrase that says what the app is, whom it is
for, and the comma-and-"and" lists that name fields or subjects.

Everything here is plain text in, plain text out; the other planner modules decide what the
phrases mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appforge.agent.planners.bare_apps import KNOWN_NOUNS
from appforge.agent.planners.inflect import singular
from appforge.agent.planners.places import NOT_PLACES

_ABBREVIATIONS = (("e.g.", "eg"), ("i.e.", "ie"), ("etc.", "etc"), ("vs.", "vs"),
                  ("approx.", "approx"))
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[。！？；])|\n+")

#: A leading "Sprout, a ..." / "Sprout is a ..." / "Sprout: a ...", with the name in group "name".
NAME_PREFIX = re.compile(
    r"^\s*[\"'“‘«„「]?(?P<name>[A-Z0-9][\w'’&!+.-]*(?:\s+[A-Z0-9][\w'’&!+.-]*){0,3})"
    r"[\"'”’»“」]?\s*(?:,|:|—|–|\s-\s|\s+is\s+)\s*"
    r"(?=(?i:a|an|the|my|our|your|un|una|uno|ein|eine|une|um|uma|il|la|el|le)\s)"
)
_NOT_NAMES = frozenset({
    "build", "make", "create", "please", "hey", "hi", "hello", "okay", "ok", "so", "now", "i",
    "we", "it", "this", "that", "there", "here", "what", "just", "also", "then", "design",
    "generate", "write", "need", "want", "mine", "note", "basically", "idea",
})

_REQUEST = re.compile(
    r"^(?:please|pls|hey|hi|hello|ok|okay|so|now|just|basically"
    r"|i(?:'d| would)? (?:like|want|need)(?: you)?(?: to)?(?: (?:have|get))?"
    r"|we(?:'d| would)? (?:like|want|need)(?: you)?(?: to)?(?: (?:have|get))?"
    r"|(?:i|we) (?:run|own|have|manage|am|are)|i'm|we're|i've got|we've got|there is|there's"
    r"|(?:can|could|would|will) you(?: please)?|let'?s|help me"
    r"|(?:build|make|create|generate|design|set up|setup|spin up|write|code|give|develop"
    r"|put together|get)(?: me| us)?|for me|for us|me|us)\b[\s,!:]*",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"^(?:a|an|the|my|our|your|some|one|another|this|each|every|all)\s+",
                      re.IGNORECASE)
FILLER_ADJECTIVES = frozenset({
    "simple", "small", "little", "basic", "tiny", "quick", "nice", "clean", "modern", "beautiful",
    "pretty", "cute", "minimal", "minimalist", "sleek", "elegant", "lovely", "cool", "awesome",
    "fancy", "new", "personal", "private", "shared", "single", "responsive", "online", "free",
    "mobile-friendly", "web-based", "easy", "friendly", "stylish", "colorful", "colourful",
    "dark", "light", "pastel", "warm", "bright", "fun", "great", "good", "complete", "full",
    "one-page", "single-page", "static", "professional", "slick", "stunning", "gorgeous",
    "daily", "weekly", "monthly", "family", "favourite", "favorite", "own", "whole",
    "themed", "dark-themed", "light-themed", "coloured", "colored", "styled", "looking",
})
#: Colour words in front of what the app is: "a teal todo list", "a forest-themed journal".
_LOOKS = re.compile(
    r"^(?:(?:[\w]+[\s-])?(?:themed|coloured|colored|styled|toned)"
    r"|(?:dark|light|pale|bright|deep|soft)?[\s-]?(?:blue|green|red|teal|orange|purple|pink"
    r"|yellow|grey|gray|brown|navy|turquoise|violet|lilac|beige|golden|earthy|pastel|minimal"
    r"|minimalist|monochrome)(?:\s+(?:and|&)\s+\w+)?"
    r"|(?:ocean|forest|sunset|sea|sky|sand)[\s-](?:blue|green|orange|pink|gold|coloured|colored))"
    r"\s+(?=\w)",
    re.IGNORECASE,
)
_APP_PREFIX = re.compile(
    r"^(?:(?:landing|home|web|one|single|marketing|splash|sales)[\s-]*page|homepage|website"
    r"|web\s*site|site|web\s*app(?:lication)?|webapp|mobile app|app(?:lication)?|tool|platform"
    r"|dashboard|system|portal|service|page|portfolio|gallery|album|program)"
    r"\s+(?:for|of|about|to|that|which|where|so|showing|showcasing|presenting|promoting"
    r"|advertising|in which|with which)\s+",
    re.IGNORECASE,
)
_LETS = re.compile(
    r"^(?:lets?|allows?|helps?|enables?)\s+(?:me|us|you|people|users|someone)\s+(?:to\s+)?"
    r"|^(?:i|we|you|users|people|they|one|someone)\s+(?:can|could|will|may|should)\s+",
    re.IGNORECASE,
)
_CUT = re.compile(
    r"\s+(?:with|called|named|titled|that|which|where|who|so|using|to|and|but|plus|because"
    r"|featuring|including|for|in|at|near|on|from|by|like|about|is|are|should|must|has|have"
    r"|selling|showing|offering|showcasing|presenting|serving|making|teaching|run|based)\b.*$"
    r"|[,:;()\"“”«»„「」—–!?].*$|\s-\s.*$|\.(?:\s.*)?$",
    re.IGNORECASE,
)
_TRAILING_APP = re.compile(
    r"\s+(?:web\s*app|app|application|website|web\s*site|site|tool|system|platform|page"
    r"|webpage|program|software|business|company)$",
    re.IGNORECASE,
)
_OWNER = re.compile(
    r"\b(?:for|by)\s+(?P<owner>[A-Z][\w'’-]*(?:\s+(?:and\s+|&\s+)?[A-Z][\w'’-]*){0,3})"
)

#: Who or what an app is for, never what it stores: "an inventory for my coffee shop".
OWNER_NOUNS = frozenset({
    "shop", "store", "cafe", "café", "restaurant", "bakery", "workshop", "warehouse", "garage",
    "office", "kitchen", "lab", "studio", "home", "house", "family", "team", "company",
    "business", "school", "class", "club", "church", "farm", "band", "me", "us", "myself",
    "household", "apartment", "flat", "startup", "department", "wedding", "trip", "project",
    "classroom", "gym", "salon", "clinic", "bar", "hotel", "library", "boat", "van", "car",
})
#: Verbs that open a phrase without naming a container ("post recipes" -> "recipes").
_LEADING_VERB = re.compile(
    r"^(?:post|share|add|create|write|upload|publish|find|browse|see|view|discover|swap|sell"
    r"|buy|order|submit|compare|search|edit|enter|input|show|display|check|remember"
    r"|monitor|follow|count|schedule|join|contact|read|sign up (?:for|to)|subscribe to"
    r"|register for|learn about|read about)\s+(?:(?:and|or)\s+\w+\s+)?"
    r"(?:(?:my|our|their|your|the|all|some)\s+)*(?=\w)",
    re.IGNORECASE,
)

CONTAINERS = (
    "tracker", "tracking app", "list", "log", "logbook", "logger", "manager", "inventory",
    "catalog", "catalogue", "database", "db", "collection", "journal", "diary", "register",
    "registry", "directory", "organizer", "organiser", "planner", "library", "box", "book",
    "keeper", "board", "sheet", "spreadsheet", "vault", "hub", "crm", "records", "app",
)
_CONTAINER_RE = "|".join(sorted((re.escape(c) for c in CONTAINERS), key=len, reverse=True))
_CONTAINER_FOR = re.compile(
    rf"^(?P<mods>(?:.*?\s)?)(?P<container>{_CONTAINER_RE})\s+for\s+"
    r"(?P<determiner>(?:my|our|the|a|an|your|his|her)\s+)?"
    r"(?P<owner>[^\W\d_][\w'-]*(?:\s+[^\W\d_][\w'-]*){0,2}?)"
    r"(?=\s*(?:$|[,.;:!?()])|\s+(?:with|that|which|called|named|where|to|in|at|and|so|using)\b)",
    re.IGNORECASE,
)
_ABOUT = re.compile(
    r"^(?P<medium>blog|newsletter|podcast|magazine|vlog|zine|forum|wiki)\s+(?:about|on|for)\s+"
    r"(?:(?:my|our|the)\s+)?(?P<topic>[^\W\d_][\w'-]*(?:\s+[^\W\d_][\w'-]*){0,2}?)"
    r"(?=\s*(?:$|[,.;:!?])|\s+(?:with|called|named|that|which|and|in|for)\b)",
    re.IGNORECASE,
)
_VERBS = {
    "track": "Tracker", "keep track of": "Tracker", "manage": "Manager", "log": "Log",
    "record": "Log", "organize": "Organizer", "organise": "Organiser", "catalog": "Catalog",
    "catalogue": "Catalogue", "collect": "Collection", "list": "List", "store": "Tracker",
    "save": "Tracker", "plan": "Planner", "keep": "Tracker", "note": "Notes", "rate": "Ratings",
    "review": "Reviews",
}
_VERB_FORMS = re.compile(
    r"^(?P<verb>keep(?:s|ing)? track of|track(?:s|ing)?|manag(?:e|es|ing)|log(?:s|ging)?"
    r"|record(?:s|ing)?|organi[sz](?:e|es|ing)|catalog(?:ue)?(?:s|ing|uing)?|collect(?:s|ing)?"
    r"|list(?:s|ing)?|stor(?:e|es|ing)|sav(?:e|es|ing)|plan(?:s|ning)?|keep(?:s|ing)?"
    r"|not(?:e|es|ing)|rat(?:e|es|ing)|review(?:s|ing)?)\s+(?P<object>.+)$",
    re.IGNORECASE,
)
_DETERMINERS = re.compile(
    r"^(?:(?:all|every|each|any)\s+)?"
    r"(?:(?:of\s+)?(?:my|our|your|their|the|his|her|some|a|an)\s+)*",
    re.IGNORECASE,
)
_POSSESSIVES = frozenset({"my", "our", "your", "their", "his", "her", "the", "a", "an", "all"})
_OBJECT_CUT = re.compile(
    r"\s+(?:with|that|which|who|i|we|you|they|to|for|in|on|at|and|or|by|from|so|where|when"
    r"|called|named|like|using|over|per|of)\b.*$|[,.;:()!?].*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ContainerObject:
    """"tracker of books" / "track my books" / "book tracker": the container and the record noun."""

    container: str  # "Tracker"
    noun: str | None  # "book" (singular, lowercase), or None when no word names the record
    form: str = "mods"  # "of" (tracker of books), "verb" (track my books), "mods" (book tracker)


def sentences(text: str) -> list[str]:
    """The description's sentences, trailing punctuation removed, empty ones dropped."""
    for abbreviation, plain in _ABBREVIATIONS:
        text = re.sub(re.escape(abbreviation), plain, text, flags=re.IGNORECASE)
    parts = (part.strip(" \t.!?;。！？；") for part in _SENTENCE_END.split(text))
    return [part for part in parts if part]


def split_list(text: str) -> list[str]:
    """``"a name, a location and notes (optional, short)"`` -> its three items.

    Commas inside parentheses do not split, and "between 1 and 5" stays one item.
    """
    text = re.sub(r"(\d)\s+and\s+(\d)", r"\1 to \2", text)
    masked, groups = _mask_parentheses(text)
    items = re.split(
        r"\s*[,;]\s*(?:and\s+|or\s+|y\s+|e\s+|et\s+|und\s+)?"
        r"|\s+(?:and|&|plus|as well as|or|y|und|et|e|ed|и)\s+",
        masked, flags=re.IGNORECASE,
    )
    out = []
    for item in items:
        for index, group in enumerate(groups):
            item = item.replace(f"\x00{index}\x00", group)
        item = item.strip(" .!?:\"'“”")
        if item:
            out.append(item)
    return out


def _mask_parentheses(text: str) -> tuple[str, list[str]]:
    groups: list[str] = []

    def keep(match: re.Match[str]) -> str:
        groups.append(match.group(0))
        return f"\x00{len(groups) - 1}\x00"

    return re.sub(r"\([^()]*\)", keep, text), groups


def strip_name_prefix(sentence: str) -> tuple[str | None, str]:
    """Split "Sprout, a plant tracker" into ("Sprout", "a plant tracker")."""
    match = NAME_PREFIX.match(sentence)
    if not match or match.group("name").split()[0].lower() in _NOT_NAMES:
        return None, sentence
    return match.group("name").strip(" .'’"), sentence[match.end():]


def strip_request(phrase: str) -> str:
    """Drop "please build me a ..." and the like from the front of a phrase."""
    previous = None
    while previous != phrase:
        previous = phrase
        phrase = _REQUEST.sub("", phrase, count=1).strip()
        phrase = _ARTICLE.sub("", phrase).strip()
        phrase = _LETS.sub("", phrase).strip()
        phrase = _LOOKS.sub("", phrase)
        words = phrase.split(" ", 1)
        if len(words) == 2 and words[0].lower() in FILLER_ADJECTIVES:
            phrase = words[1].strip(" ,")
    return phrase


def main_phrase(sentence: str) -> str:
    """What the app is, from its first sentence: "a landing page for a surf school in Ericeira"
    -> "surf school"; "A plant watering tracker called Sprout" -> "plant watering tracker"."""
    _, phrase = strip_name_prefix(sentence)
    phrase = re.sub(r"\bto[\s-]?dos?\b", "todo", strip_request(phrase), flags=re.IGNORECASE)
    previous = None
    while previous != phrase:
        previous = phrase
        phrase = strip_request(_APP_PREFIX.sub("", phrase, count=1))
    phrase = _LEADING_VERB.sub("", phrase)
    phrase = _ABOUT.sub(r"\g<topic> \g<medium>", phrase)
    phrase = _CONTAINER_FOR.sub(_container_for, phrase)
    phrase = _CUT.sub("", phrase).strip()
    while True:
        shorter = _TRAILING_APP.sub("", phrase).strip()
        if shorter == phrase or not shorter:
            break
        phrase = shorter
    return "" if _TRAILING_APP.fullmatch(" " + phrase) else phrase


def _container_for(match: re.Match[str]) -> str:
    """"inventory for my coffee shop" -> "coffee shop inventory" (who it is for);
    "tracker for my plants" -> "tracker of my plants" (what it holds)."""
    owner, mods = match["owner"], match["mods"] or ""
    if singular(owner.split()[-1].lower()) in OWNER_NOUNS:
        return f"{owner} {mods}{match['container']}"
    return f"{mods}{match['container']} of {match['determiner'] or ''}{owner}"


def find_owner(sentence: str) -> str | None:
    """A capitalised owner the app is for: "a portfolio for Jane Doe" -> "Jane Doe"."""
    match = _OWNER.search(sentence)
    if not match or match.group("owner").split()[0] in NOT_PLACES:
        return None
    return re.sub(r"\s+and\s+", " & ", match.group("owner").strip("'’-"))


def container_object(phrase: str) -> ContainerObject | None:
    """Read the record noun out of "tracker of books", "track my books" or "book tracker"."""
    match = re.match(rf"^(?:.*?\s)?(?P<container>{_CONTAINER_RE})\s+of\s+(?P<object>.+)$", phrase,
                     re.IGNORECASE)
    if match:
        return ContainerObject(match.group("container").title(), head_noun(match.group("object")),
                               "of")
    match = _VERB_FORMS.match(phrase)
    if match and not re.fullmatch(_CONTAINER_RE, match.group("object").strip(), re.IGNORECASE):
        verb = re.sub(r"(?:s|ing|ning|ging|uing)$", "", match.group("verb").lower())
        container = (_VERBS.get(verb) or _VERBS.get(verb + "e") or _VERBS.get(verb[:-1])
                     or "Tracker")
        return ContainerObject(container, head_noun(match.group("object")), "verb")
    match = re.match(rf"^(?P<mods>.+?)\s+(?P<container>{_CONTAINER_RE})$", phrase, re.IGNORECASE)
    if match:
        return ContainerObject(match.group("container").title(), modifier_noun(match.group("mods")))
    return None


def head_noun(phrase: str) -> str | None:
    """The record noun of an object phrase: "all my favourite movies I've seen" -> "movie"."""
    phrase = _DETERMINERS.sub("", phrase.strip())
    phrase = _OBJECT_CUT.sub("", phrase)
    words = [w for w in re.findall(r"[^\W\d_][\w'-]*", phrase.lower())
             if w not in FILLER_ADJECTIVES]
    return _nouny(singular(words[-1])) if words else None


def modifier_noun(mods: str, preferred: frozenset[str] = KNOWN_NOUNS) -> str | None:
    """The record noun of the words before a container: "plant watering" -> "plant"."""
    words = [w for w in re.split(r"[\s-]+", _DETERMINERS.sub("", mods.lower().strip())) if w]
    words = [w for w in words if w not in FILLER_ADJECTIVES and w not in _POSSESSIVES
             and not (len(w) > 4 and w.endswith("ing"))]
    words = [w for w in words if re.fullmatch(r"[^\W\d_][\w']*", w)]
    if not words:
        return None
    for word in words:
        if singular(word) in preferred:
            return singular(word)
    if singular(words[-1]) in OWNER_NOUNS:  # "coffee shop inventory": who it is for
        return None
    return _nouny(singular(words[-1]))


def _nouny(word: str) -> str | None:
    word = word.strip("'-")
    usable = len(word) >= 2 and word not in FILLER_ADJECTIVES and word not in OWNER_NOUNS
    return word if usable else None

