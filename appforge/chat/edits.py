"""Rules that apply a change asked for in words to an AppSpec: the blueprint planner's half of the
chat ("add a category field", "make it dark", "call it Sprout", "use the domain
sprout.example.com").

Each rule reads only its own kind of request, so one message can ask for several changes ("call it
Sprout and make it dark"). A message no rule understands raises :class:`EditNotUnderstood`, which
lists what the rules can do; nothing is changed then. What changed is worked out afterwards by
comparing the specs (:func:`appforge.chat.changes.spec_changes`), the same way for LLM edits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from appforge.errors import InvalidInput
from appforge.spec import AppSpec, validate_domain


class EditNotUnderstood(InvalidInput):
    """No rule read a change in the message."""


EXAMPLES = (
    '"add a category field", "add a due date field to tasks", "remove the notes field", '
    '"add a field for the date I finished it", "make the price field optional", "rename the notes field to comments", "make it dark", '
    '"make it green", "use #0f766e as the main colour", "call it Sprout", '
    '"use the domain sprout.example.com", "change the tagline to \\"Water on time\\"", '
    '"make the button say Join now", "make the hero image a misty forest", "add a video of '
    'waves", "remove the video"'
)

_END = r"(?=\s*(?:$|[.;!?\n]|,\s|\s+and\s+(?:make|call|name|use|add|remove|change|set|"\
       r"rename|switch|give)\b))"
_QUOTED = r"[\"“”'‘’]"
_NAME = re.compile(
    rf"\b(?:call|name|rename)\s+(?:it|the\s+app|this(?:\s+app)?)\s+(?:to\s+)?{_QUOTED}?"
    rf"(?P<name>[^\"“”‘’.;!?\n]{{1,60}}?){_QUOTED}?{_END}"
    rf"|\b(?:change|set)\s+the\s+(?:app(?:'s)?\s+)?name\s+to\s+{_QUOTED}?"
    rf"(?P<name2>[^\"“”‘’.;!?\n]{{1,60}}?){_QUOTED}?{_END}",
    re.IGNORECASE)
_DOMAIN = re.compile(
    r"\b(?:custom\s+)?domain\s+(?:to\s+|is\s+|:\s*|name\s+)?(?P<domain>[^\s,;!?]+?)\.?(?=$|[\s,;!?])",
    re.IGNORECASE)
_NO_DOMAIN = re.compile(r"\b(?:remove|drop|delete|clear)\s+the\s+(?:custom\s+)?domain\b",
                        re.IGNORECASE)


def _quoted_setting(nouns: str, limit: int) -> re.Pattern[str]:
    """``change the <noun> to "..."``: the quoted words become the new text."""
    return re.compile(rf"\b(?:change|set|make)\s+the\s+(?:{nouns})\s+(?:to\s+|say\s+)?"
                      rf"{_QUOTED}(?P<text>[^\"“”]{{1,{limit}}}){_QUOTED}", re.IGNORECASE)


_TAGLINE = _quoted_setting("tagline|subtitle|slogan", 200)
_TITLE = _quoted_setting("title|headline|heading", 120)
_CTA = re.compile(
    rf"\b(?:make\s+)?the\s+(?:main\s+)?(?:button|call[\s-]to[\s-]action|cta)\s+"
    rf"(?:say|read|to)\s+{_QUOTED}?(?P<text>[^\"“”.;!?\n]{{1,40}}?){_QUOTED}?{_END}",
    re.IGNORECASE)
_FIELD_LIST = r"(?P<fields>[^.;!?\n]+?)"
_ADD_FIELDS = re.compile(
    rf"\badd\s+(?:(?:an?|the)\s+)?{_FIELD_LIST}\s+fields?"
    r"(?:\s+(?:to|on|for)\s+(?:the\s+|each\s+|every\s+)?(?P<entity>[\w-]+))?"
    r"|\badd\s+fields?\s+(?:called\s+|named\s+)?(?P<fields2>[^.;!?\n]+?)"
    r"(?:\s+(?:to|on|for)\s+(?:the\s+|each\s+|every\s+)?(?P<entity2>[\w-]+))?(?=$|[.;!?\n])",
    re.IGNORECASE)
#: "add a field for the date I finished it", "add a column with how many pages it has".
_ADD_DESCRIBED = re.compile(
    r"\b(?:add|include|give\s+(?:it|them|each\s+[\w-]+))\s+(?:(?:a|an|another|one more)\s+)?"
    r"(?:new\s+)?(?:field|column|box|place|spot)\s+(?:for|with|to (?:hold|store|record|keep|track"
    r"|say|show)|that (?:holds|stores|says|shows|records|keeps)|holding|storing|showing|saying)\s+"
    r"(?P<what>[^.;!?\n]+?)(?:\s+(?:to|on)\s+(?:the\s+|each\s+|every\s+)?(?P<entity>[\w-]+))?"
    r"(?=$|[.;!?\n])", re.IGNORECASE)
_REMOVE_FIELD = re.compile(
    r"\b(?:remove|drop|delete)\s+(?:the\s+)?(?P<field>[\w' -]+?)\s+field"
    r"(?:\s+from\s+(?:the\s+)?(?P<entity>[\w-]+))?", re.IGNORECASE)
_RENAME_FIELD = re.compile(
    rf"\brename\s+(?:the\s+)?(?P<field>[\w' -]+?)\s+field\s+to\s+{_QUOTED}?"
    rf"(?P<to>[\w' -]+?){_QUOTED}?{_END}", re.IGNORECASE)
_FIELD_REQUIRED = re.compile(
    r"\bmake\s+(?:the\s+)?(?P<field>[\w' -]+?)\s+(?:field\s+)?(?P<how>optional|required|mandatory)\b",
    re.IGNORECASE)
_DARK = re.compile(r"\b(?:dark|night)(?:\s+(?:mode|theme|look|background))?\b", re.IGNORECASE)
_LIGHT = re.compile(r"\b(?:light|bright|white)(?:\s+(?:mode|theme|look|background))\b"
                    r"|\bmake\s+it\s+light\b|\blight\s+again\b", re.IGNORECASE)
_THEME_VERB = re.compile(
    r"\b(?:make|turn|switch|change|use|paint|colou?r|go|theme)\b[^.;!?\n]*", re.IGNORECASE)
_HEX = re.compile(r"#[0-9a-fA-F]{6}\b")
_HERO_IMAGE = re.compile(
    r"\b(?:make|change|set|use)\s+(?:the\s+)?(?:hero|main|header|banner)\s+(?:image|picture|photo)"
    r"\s+(?:to\s+|into\s+|show\s+|be\s+|of\s+)?(?:an?\s+(?:image|picture|photo)\s+of\s+)?"
    r"(?P<prompt>[^.;!?\n]{3,200})", re.IGNORECASE)
_ADD_VIDEO = re.compile(
    r"\badd\s+(?:an?\s+)?(?:short\s+)?(?:hero\s+)?(?:video|clip)(?:\s+(?:of|showing)\s+"
    r"(?P<prompt>[^.;!?\n]{3,200}))?", re.IGNORECASE)
_REMOVE_VIDEO = re.compile(r"\b(?:remove|drop|delete)\s+the\s+(?:hero\s+)?(?:video|clip)\b",
                           re.IGNORECASE)

Rule = Callable[[str, dict[str, Any], "EditContext"], bool]


class EditContext:
    """What a rule may need besides the spec: whether the slug may still follow the name."""

    def __init__(self, *, deployed: bool) -> None:
        self.deployed = deployed


def apply_edit(spec: AppSpec, message: str, *, deployed: bool) -> AppSpec:
    """The spec changed as ``message`` asks; raises :class:`EditNotUnderstood` if no rule reads
    a change in it, and the spec's own errors (an invalid domain, a field that exists) if the
    change cannot be made."""
    text = re.sub(r"\s+", " ", (message or "").strip())
    if not text:
        raise InvalidInput("the message is empty: say what to change")
    data = spec.model_dump(mode="json")
    ctx = EditContext(deployed=deployed)
    applied = [rule(text, data, ctx) for rule in RULES]
    if not any(applied):
        raise EditNotUnderstood(
            f"I could not read a change in {message.strip()[:120]!r}",
            hint=f"try one of: {EXAMPLES}; or configure an LLM (APPFORGE_LLM_BASE_URL) for "
                 "free-form changes")
    try:
        return AppSpec.model_validate(data)
    except ValueError as exc:
        raise InvalidInput(f"that change makes an invalid plan: {_first_error(exc)}") from None


def restyle(spec: AppSpec, message: str) -> AppSpec | None:
    """Only the colour and light/dark rules (after an LLM revision); None if they read nothing."""
    data = spec.model_dump(mode="json")
    if not _theme(re.sub(r"\s+", " ", message), data, EditContext(deployed=True)):
        return None
    return AppSpec.model_validate(data)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return str(first.get("msg", exc)).removeprefix("Value error, ")
    return str(exc)


# Naming -----------------------------------------------------------------------------------------
def _rename(text: str, data: dict[str, Any], ctx: EditContext) -> bool:
    from appforge.agent.planners.naming import make_slug

    match = _NAME.search(text)
    if not match:
        return False
    name = (match.group("name") or match.group("name2") or "").strip(" \"'“”‘’")
    if not name:
        return False
    if name.islower():
        name = " ".join(w[:1].upper() + w[1:] for w in name.split())
    old = data["name"]
    data["title"] = data["title"].replace(old, name) if old in data["title"] else name
    data["name"] = name
    for asset in data["assets"]:
        asset["prompt"] = asset["prompt"].replace(old, name)
    if not ctx.deployed:  # nothing is live yet: the address may still follow the name
        data["slug"] = make_slug(name, data.get("description") or name)
    return True


def _domain(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    if _NO_DOMAIN.search(text):
        data["domain"] = None
        return True
    match = _DOMAIN.search(text)
    if not match:
        return False
    data["domain"] = validate_domain(match.group("domain").strip("\"'“”<>"))
    return True


def _words(pattern: re.Pattern[str], key: str) -> Rule:
    def rule(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
        match = pattern.search(text)
        if not match:
            return False
        data[key] = match.group("text").strip()
        return True

    return rule


# Fields -----------------------------------------------------------------------------------------
def _entity(data: dict[str, Any], word: str | None) -> dict[str, Any]:
    entities = data["entities"]
    if not entities:
        raise InvalidInput(f"this {data['kind']} app stores no records, so it has no fields to "
                           "change", hint="fields belong to data apps (a tracker, a catalogue)")
    if not word:
        return entities[0]
    low = word.lower().rstrip("s")
    for entity in entities:
        if low in {entity["name"], entity["plural"].rstrip("s"), entity["label"].lower(),
                   entity["label_plural"].lower().rstrip("s")}:
            return entity
    return entities[0]


def _find_field(entity: dict[str, Any], words: str) -> dict[str, Any]:
    low = words.strip().lower()
    ident = re.sub(r"[^a-z0-9]+", "_", low).strip("_")
    for field in entity["fields"]:
        if low in {field["name"], field["label"].lower()} or ident == field["name"]:
            return field
    names = ", ".join(f["name"] for f in entity["fields"])
    raise InvalidInput(f"{entity['label_plural']} have no {words.strip()!r} field",
                       hint=f"the fields are: {names}")


def _add_fields(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    from appforge.agent.planners.fields import field_from_phrase

    found = False
    for match in _ADD_FIELDS.finditer(text):
        listed = match.group("fields") or match.group("fields2") or ""
        if re.fullmatch(r"\s*(?:an?|the|another|new|a new)?\s*", listed, re.IGNORECASE):
            continue  # "add a field for ...": the field is described, not named
        if re.search(r"\b(?:video|clip|image|picture)\b", listed, re.IGNORECASE):
            continue
        entity = _entity(data, match.group("entity") or match.group("entity2"))
        for phrase in re.split(r",\s*|\s+and\s+|\s*&\s*", listed):
            phrase = re.sub(r"^(?:an?|the)\s+", "", phrase.strip(), flags=re.IGNORECASE)
            if not phrase:
                continue
            field = field_from_phrase(phrase)
            if field is None:
                raise InvalidInput(f"{phrase!r} does not name a field I can add")
            if any(f["name"] == field.name for f in entity["fields"]):
                raise InvalidInput(f"{entity['label_plural']} already have a {field.name} field")
            entity["fields"].append(_in_language(field, data).model_dump(mode="json"))
            found = True
    return found


def _in_language(field: Any, data: dict[str, Any]) -> Any:
    """``field`` labelled in the app's language ("rating" in a Spanish app: "Valoración")."""
    from appforge.agent.planners.localise import field_label

    label = field_label(field.name, field.label, str(data.get("language") or "en"))
    return field.model_copy(update={"label": label})


def _add_described_field(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    """"add a field for the date I finished it" -> finished_on, a date."""
    from appforge.agent.planners.described import field_from_description

    found = False
    for match in _ADD_DESCRIBED.finditer(text):
        entity = _entity(data, match.group("entity"))
        field = field_from_description(match.group("what"))
        if field is None:
            raise InvalidInput(f"{match.group('what')!r} does not say what the field holds",
                               hint='say what it holds: "add a field for the date I bought it"')
        if any(f["name"] == field.name for f in entity["fields"]):
            raise InvalidInput(f"{entity['label_plural']} already have a {field.name} field")
        entity["fields"].append(_in_language(field.model_copy(update={"required": False}), data)
                                .model_dump(mode="json"))
        found = True
    return found


def _remove_field(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    match = _REMOVE_FIELD.search(text)
    if not match:
        return False
    entity = _entity(data, match.group("entity"))
    field = _find_field(entity, match.group("field"))
    if len(entity["fields"]) == 1:
        raise InvalidInput(f"{field['name']} is the only field of {entity['label_plural']}: "
                           "add another before removing it")
    entity["fields"].remove(field)
    return True


def _rename_field(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    from appforge.agent.planners.fields import field_from_phrase

    match = _RENAME_FIELD.search(text)
    if not match:
        return False
    entity = _entity(data, None)
    field = _find_field(entity, match.group("field"))
    new = field_from_phrase(match.group("to"))
    if new is None:
        raise InvalidInput(f"{match.group('to')!r} is not a usable field name")
    field["name"], field["label"] = new.name, new.label
    return True


def _field_required(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    match = _FIELD_REQUIRED.search(text)
    if not match or not data["entities"]:
        return False
    entity = _entity(data, None)
    field = _find_field(entity, re.sub(r"^the\s+", "", match.group("field"), flags=re.IGNORECASE))
    field["required"] = match.group("how").lower() != "optional"
    return True


# Looks ------------------------------------------------------------------------------------------
def _theme(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    from appforge.agent.planners.theme import (
        _COLOUR_WORDS,
        FAMILIES,
        FAMILY_WORDS,
        palette_from,
    )

    clauses = " ".join(m.group(0) for m in _THEME_VERB.finditer(text))
    clauses = _HERO_IMAGE.sub(" ", _ADD_VIDEO.sub(" ", clauses))
    words = re.findall(r"[^\W\d_]+", clauses.lower())
    family = next((_COLOUR_WORDS[w] for w in words if w in _COLOUR_WORDS
                   and w not in {"black", "white"}), None)
    hexes = _HEX.findall(clauses)
    dark = True if _DARK.search(clauses) else False if _LIGHT.search(clauses) else None
    if family is None and not hexes and dark is None:
        return False
    theme = data["theme"]
    old_family = _family_of(theme["primary"], FAMILIES)
    if hexes:
        primary, accent = hexes[0], hexes[1] if len(hexes) > 1 else theme["accent"]
    elif family:
        primary, accent = FAMILIES[family]
    else:
        primary, accent = theme["primary"], theme["accent"]
    is_dark = theme["mode"] == "dark" if dark is None else dark
    data["theme"] = palette_from(primary, accent, dark=is_dark).model_dump(mode="json")
    if family and old_family and family != old_family:
        for asset in data["assets"]:  # image prompts name the colours
            asset["prompt"] = asset["prompt"].replace(FAMILY_WORDS[old_family],
                                                      FAMILY_WORDS[family])
    return True


def _family_of(primary: str, families: dict[str, tuple[str, str]]) -> str | None:
    from appforge.agent.planners.theme import ensure_contrast

    for family, (colour, _accent) in families.items():
        if primary.lower() in {colour, ensure_contrast(colour, ("#ffffff",), 4.5)}:
            return family
    return None


# Assets -----------------------------------------------------------------------------------------
def _hero_image(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    match = _HERO_IMAGE.search(text)
    if not match:
        return False
    prompt = match.group("prompt").strip()
    heroes = [a for a in data["assets"] if a["role"] == "hero" and a["kind"] == "image"]
    if not heroes:
        raise InvalidInput("this app has no hero image to change")
    for asset in heroes:
        asset["prompt"], asset["alt"] = prompt[:500], prompt[:120]
    for video in (a for a in data["assets"] if a["role"] == "hero" and a["kind"] == "video"):
        video["prompt"] = prompt[:500]
    return True


def _video(text: str, data: dict[str, Any], _ctx: EditContext) -> bool:
    if _REMOVE_VIDEO.search(text):
        before = len(data["assets"])
        data["assets"] = [a for a in data["assets"] if a["kind"] != "video"]
        if len(data["assets"]) == before:
            raise InvalidInput("this app has no video to remove")
        return True
    match = _ADD_VIDEO.search(text)
    if not match:
        return False
    if data["kind"] != "landing":
        raise InvalidInput(f"videos go on landing pages; this is a {data['kind']} app")
    hero = next((a for a in data["assets"] if a["role"] == "hero" and a["kind"] == "image"), None)
    prompt = (match.group("prompt") or (hero["prompt"] if hero else data["title"])).strip()
    videos = [a for a in data["assets"] if a["kind"] == "video"]
    if videos:
        videos[0]["prompt"] = prompt[:500]
        return True
    data["assets"].append({"kind": "video", "role": "hero", "name": "hero-video",
                           "prompt": prompt[:500], "width": 768, "height": 432, "seconds": 4.0,
                           "fps": 24, "seed": 0, "alt": prompt[:120]})
    return True


RULES: tuple[Rule, ...] = (
    _rename, _domain, _words(_TAGLINE, "tagline"), _words(_TITLE, "title"),
    _words(_CTA, "call_to_action"), _rename_field, _remove_field, _add_fields,
    _add_described_field, _field_required,
    _hero_image, _video, _theme,
)
