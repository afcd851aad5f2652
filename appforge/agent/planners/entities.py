"""The records a crud app stores, read from "Each plant has a name, ...", "Plants have ...",
"fields: A, B, C", "an expense tracker with amount, category and date", or, when the description
lists no fields, from the bare app it asks for ("a todo list") or a generic name-and-notes record.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

from appforge.agent.planners.bare_apps import (
    GENERIC_ENTITY,
    GENERIC_FIELDS,
    BareApp,
    bare_app_for_noun,
    bare_app_in_text,
)
from appforge.agent.planners.fields import field_from_phrase
from appforge.agent.planners.inflect import plural, singular, with_article
from appforge.agent.planners.naming import noun_label
from appforge.agent.planners.phrases import (
    CONTAINERS,
    NAME_PREFIX,
    container_object,
    head_noun,
    split_list,
)
from appforge.agent.planners.theme import is_theme_phrase
from appforge.agent.planners.translit import to_ascii
from appforge.spec import IDENT_RE, AddedField, Entity, EntityField, FieldType

MAX_ENTITIES = 8
MAX_FIELDS = 40

_NOUN = r"[^\W\d_][\w-]*?(?:\s+[^\W\d_][\w-]*)??"
_EACH = re.compile(
    rf"\b(?:each|every|cada|jede[rsn]?|chaque|ogni)\s+(?P<noun>{_NOUN})\s*,?\s+"
    r"(?:has|have|should have|will have|must have|needs|need|comes with|contains|includes"
    r"|stores|records|gets|with|should store|should include|should record|store|track|record"
    r"|keep|save|tiene|tendrá|debe tener|hat|haben|a|aura|doit avoir|tem|terá|deve ter|ha"
    r"|avrà|deve avere|:)\s*(?P<list>.+)$",
    re.IGNORECASE,
)
#: "... where parts have a name, SKU ...", "...: clients have a name, ..." (a clause inside).
_CLAUSE_HAVE = re.compile(
    rf"(?:\b(?:where|in which|whose|and)\s+|[:;—–]\s*)(?:(?:the|my|our|all|all the)\s+)?"
    rf"(?P<noun>{_NOUN})\s+(?:has|have|should have|will have|must have|need|needs|contain"
    r"|contains|include|includes|get|gets)\s+(?P<list>.+)$",
    re.IGNORECASE,
)
#: "to store people's name, email, phone and notes", "keep each book's title, author and year".
_STORE = re.compile(
    r"\b(?:store|stores|storing|keep|keeps|keeping|record|records|recording|save|saves|saving"
    r"|log|logs|logging|track|tracks|tracking|hold|holds|with)\s+"
    r"(?:(?:the|each|every|all|my|our|their)\s+)*(?P<noun>[^\W\d_][\w-]*)['’]s?\s+"
    r"(?P<list>[^.;!?\n]+)$",
    re.IGNORECASE,
)
_HAVE = re.compile(
    rf"^(?:(?:the|my|our|all|all the|all my)\s+)?(?P<noun>{_NOUN})\s+"
    r"(?:has|have|should have|will have|must have|need|needs|contain|contains|include|includes"
    r"|get|gets)\s+(?P<list>.+)$",
    re.IGNORECASE,
)
_FIELDS = re.compile(
    r"\b(?:fields|columns|properties|attributes|campos|felder|champs|campi)\b\s*"
    r"(?::|are|like|such as|include|including|for|of)?\s+(?P<list>.+)$",
    re.IGNORECASE,
)
_COLON = re.compile(r"^[^:]{1,80}:\s*(?P<list>.+)$")
_PICTURES_BEFORE_COLON = re.compile(
    r"\b(?:photos|pictures|images|posters|paintings|illustrations|shots|fotos|bilder|gallery"
    r"|galer[ií]a|galerie|galleria|portfolio)\s*$", re.IGNORECASE)
_WITH = re.compile(
    r"\b(?:with|that (?:tracks|stores|records|keeps)|to track|tracking|mit|con|com|avec)\s+"
    r"(?P<list>.+)$",
    re.IGNORECASE,
)
_NAME_TAIL = re.compile(
    r"\s*,?\s*\b(?:called|named|titled|llamad|namens|appel|chamad|chiamat)\w*\b.*$",
    re.IGNORECASE,
)
_NOT_NOUNS = frozenset({
    "app", "application", "site", "website", "page", "it", "this", "that", "there", "everything",
    "everyone", "one", "i", "we", "you", "they", "he", "she", "theme", "design", "home", "hero",
    "header", "footer", "section", "layout", "logo", "video", "image", "which", "who", "what",
    "each", "every", "homepage", "landing", "tool", "system", "platform", "dashboard", "user",
})
_CLAUSE = re.compile(
    r"^(?:i|we|you|it|they|he|she|so|which|where|to|please|make|use|using|the app|this app|in|for"
    r"|on|at|by|then|also|but)\b|\b(?:should|must|want|wants|need|needs|please|would|could|can)\b",
    re.IGNORECASE,
)
_ASSET = re.compile(r"\b(?:video|videos|image|images|picture|pictures|photos|logo|hero|clip)\b",
                    re.IGNORECASE)
#: In a loose "with ..." list, these name app features, not fields.
_UI = re.compile(
    r"\b(?:theme|mode|palette|design|style|layout|fonts?|login|log in|sign[- ]?in|sign[- ]?up"
    r"|auth|authentication|search|filters?|filtering|sort\w*|export\w*|import\w*|charts?"
    r"|graphs?|dashboard"
    r"|api|reminders?|notifications?|animations?|pages?|sections?|buttons?|navbar|footer|header"
    r"|support|offline|responsive|tailwind|bootstrap|users?|accounts?|app|website|site|features?"
    r"|ui|ux|look|feel|vibe|css|menu)\b",
    re.IGNORECASE,
)


#: Words the feature filter would drop that, alone in a list, name data ("author, pages").
_DATA_WORDS = frozenset({"pages", "number of pages", "page count", "users", "search terms"})


@dataclass
class EntityPlan:
    """What the description says about records, and how strongly it says it."""

    entities: list[Entity] = field(default_factory=list)
    bare_app: BareApp | None = None
    #: The description spells out fields ("each X has ...", "fields: ...").
    explicit: bool = False
    #: Enough to call it a crud app when no other word decides.
    evidence: bool = False
    #: Where the fields came from, in words ("listed in the description", "usual for a todo
    #: list"), and the fields added that the description did not name, with why.
    source: str = ""
    added: list[AddedField] = field(default_factory=list)


def plan_entities(text: str, sentences: list[str], phrase: str, *, app_name: str | None,
                  english: bool) -> EntityPlan:
    """Read the entities a crud app needs; empty when the description names none."""
    plan = EntityPlan()
    for noun, items in _explicit_lists(sentences, app_name):
        fields = fields_from_items(items, strict=False)
        entity = build_entity(noun, fields) if fields else None
        if entity and _distinct(entity, plan.entities):
            plan.entities.append(entity)
        if len(plan.entities) == MAX_ENTITIES:
            break
    if plan.entities:
        plan.explicit = plan.evidence = True
        plan.source = "listed in the description"
        return plan

    noun = _main_noun(phrase) if english else None
    found = bare_app_for_noun(noun) if noun else None
    if found:
        plan.bare_app, entity_name = found
    else:
        # the app's own name says nothing of its records ("Roda Livre" keeps no books)
        named = text.replace(app_name, " ") if app_name else text
        plan.bare_app = None if noun else bare_app_in_text(named)
        entity_name = noun or (plan.bare_app.entity if plan.bare_app else None)

    fields, source = _listed_fields(text, sentences)
    listed = [f.name for f in fields]
    if plan.bare_app and not noun and fields and not _asked_outside(plan.bare_app, text, fields):
        # "i miei vini: nome, annata, prezzo e note": a field named "note" asks for no notes app
        plan.bare_app, entity_name = None, None
    if fields and source == "with" and plan.bare_app and len(fields) < 3:
        fields = _merge(list(plan.bare_app.fields), fields)
    elif not fields and plan.bare_app:
        fields = list(plan.bare_app.fields)
    plan.explicit = source == "fields" and bool(fields)
    plan.evidence = plan.explicit or plan.bare_app is not None or bool(fields and noun)
    if fields or entity_name:
        entity = build_entity(entity_name or GENERIC_ENTITY, fields or list(GENERIC_FIELDS))
        if entity:
            plan.entities.append(entity)
            _explain(plan, entity, listed)
    return plan


def _asked_outside(app: BareApp, text: str, fields: list[EntityField]) -> bool:
    """Whether ``app``'s words appear in ``text`` other than as one of the listed fields."""
    rest = text
    for listed in fields:
        rest = re.sub(rf"(?<!\w){re.escape(listed.label)}(?!\w)", " ", rest, flags=re.IGNORECASE)
    return app.triggers.search(rest) is not None


def _explain(plan: EntityPlan, entity: Entity, listed: list[str]) -> None:
    """Say where the entity's fields came from, and why each unlisted one is there."""
    if plan.bare_app:
        usual = f"usual for {with_article(plan.bare_app.display.lower())}"
    else:
        usual = "a record needs something to call it by, and room for notes"
    asked = {_key(name) for name in listed}
    if listed and all(_key(f.name) in asked for f in entity.fields):
        plan.source = "listed in the description"
        return
    plan.source = (f"listed in the description, with what is {usual}" if listed
                   else f"the description names none: {usual}")
    plan.added = [AddedField(entity=entity.name, field=f.name, reason=usual)
                  for f in entity.fields if _key(f.name) not in asked]


def fallback_entity() -> Entity:
    """The generic record of a crud app whose description names none."""
    entity = build_entity(GENERIC_ENTITY, list(GENERIC_FIELDS))
    assert entity is not None
    return entity


def build_entity(noun: str, fields: list[EntityField]) -> Entity | None:
    """``("plant", fields)`` -> Entity plant/plants "Plant"/"Plants"; None for unusable nouns."""
    words = re.findall(r"[^\W\d_]+", noun.lower())
    if not words or not fields:
        return None
    words[-1] = singular(words[-1])
    ascii_words = [w for w in (re.sub(r"[^a-z0-9]", "", to_ascii(w).lower()) for w in words) if w]
    if not ascii_words:
        return None
    name = "_".join(ascii_words)[:30].rstrip("_")
    plural_name = "_".join([*ascii_words[:-1], plural(ascii_words[-1])])[:40].rstrip("_")
    if plural_name == name:
        plural_name = f"{name}_list"
    if keyword.iskeyword(name):
        name += "_"
    if keyword.iskeyword(plural_name):
        plural_name += "_"
    if not (IDENT_RE.match(name) and IDENT_RE.match(plural_name)):
        return None
    label_words = " ".join(words)
    return Entity(name=name, plural=plural_name, label=noun_label(label_words),
                  label_plural=noun_label(" ".join([*words[:-1], plural(words[-1])])),
                  fields=fields[:MAX_FIELDS])


def fields_from_items(items: list[str], *, strict: bool) -> list[EntityField]:
    """Typed fields from list items, deduplicated, with the first text field required.

    ``strict`` drops items that name app features rather than data ("a dark theme", "search").
    """
    fields: list[EntityField] = []
    for item in items:
        if _not_a_field(item, strict):
            continue
        found = field_from_phrase(item)
        if found and all(f.name != found.name for f in fields):
            fields.append(found)
        if len(fields) == MAX_FIELDS:
            break
    primary = next((f for f in fields if f.type == FieldType.text), None)
    if primary is None:
        primary = next((f for f in fields if f.type != FieldType.boolean), None)
    return [f.model_copy(update={"required": f is primary or (
                f.required and f.type != FieldType.boolean)}) for f in fields]


def _not_a_field(item: str, strict: bool) -> bool:
    words = item.split()
    if item.strip().lower() in _DATA_WORDS:
        return False
    if not words or len(words) > 10 or _CLAUSE.search(item) or is_theme_phrase(item):
        return True
    if re.search(r"\b(?:video|image|picture|photo|logo|illustration)\s+(?:of|showing)\b", item,
                 re.IGNORECASE):
        return True
    return strict and bool(_UI.search(item) or _ASSET.search(item))


def _explicit_lists(sentences: list[str], app_name: str | None) -> list[tuple[str, list[str]]]:
    found = []
    for sentence in sentences:
        match = (_EACH.search(sentence) or _HAVE.match(sentence) or _CLAUSE_HAVE.search(sentence)
                 or _possessive_list(sentence))
        if not match:
            continue
        noun = match.group("noun").lower()
        if noun.split()[-1] in _NOT_NOUNS or (app_name and noun == app_name.lower()):
            continue
        found.append((noun, split_list(_NAME_TAIL.sub("", match.group("list")))))
    return found


def _possessive_list(sentence: str) -> re.Match[str] | None:
    """"store people's name, email, phone and notes": a list of two or more, owned by a noun."""
    match = _STORE.search(sentence)
    if match and len(split_list(match["list"])) >= 2:
        return match
    return None


def _listed_fields(text: str, sentences: list[str]) -> tuple[list[EntityField], str]:
    """Fields from "fields: ..." anywhere, else from "with ..." in the first sentence."""
    for sentence in sentences:
        if match := _FIELDS.search(sentence):
            fields = fields_from_items(split_list(_NAME_TAIL.sub("", match["list"])), strict=False)
            if fields:
                return fields, "fields"
    for sentence in sentences[:2]:
        if (match := _COLON.search(sentence)) and not NAME_PREFIX.match(sentence) \
                and not _PICTURES_BEFORE_COLON.search(sentence.split(":", 1)[0]):
            items = split_list(_NAME_TAIL.sub("", match["list"]))
            if items and _WITH.search(items[0]):  # "A reading log: books with a title, ..."
                break  # the "with" reading below names the fields
            if len(items) >= 2 and all(len(item.split()) <= 6 for item in items):
                fields = fields_from_items(items, strict=False)
                if len(fields) >= 2:
                    return fields, "fields"
    if sentences and (match := _WITH.search(sentences[0])):
        items = split_list(_NAME_TAIL.sub("", match["list"]))
        fields = fields_from_items(items, strict=True)
        if fields:
            return fields, "with"
    return [], ""


def _main_noun(phrase: str) -> str | None:
    if not phrase:
        return None
    found = container_object(phrase)
    if found:
        return found.noun
    noun = head_noun(phrase)
    return noun if noun and noun not in _NOT_NOUNS and noun not in CONTAINERS else None


def _merge(defaults: list[EntityField], extra: list[EntityField]) -> list[EntityField]:
    """The bare app's fields plus the listed ones it lacks ("due dates" matches "due_date")."""
    known = {_key(f.name) for f in defaults}
    added = [f.model_copy(update={"required": False}) for f in extra if _key(f.name) not in known]
    return (defaults + added)[:MAX_FIELDS]


def _key(name: str) -> str:
    """A field's name with its last word singular: "due_dates" and "due_date" are one field."""
    *head, last = name.split("_")
    return "_".join([*head, singular(last)])


def _distinct(entity: Entity, others: list[Entity]) -> bool:
    taken = {n for other in others for n in (other.name, other.plural)}
    return entity.name not in taken and entity.plural not in taken
