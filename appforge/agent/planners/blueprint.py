"""The blueprint planner: rules, no LLM, that read a free-text description into an AppSpec.

It reads, in order: the language; a name the user gave; the records ("Each plant has ...");
the kind of app; a name made from the subject when none was given; the topic, which picks the
default colours, copy and imagery; the theme words; the assets; the custom domain. Every step
is deterministic, so the same description always gives the same spec.
"""

from __future__ import annotations

import re
import unicodedata

from appforge.agent.planners import assets as asset_rules
from appforge.agent.planners import wording
from appforge.agent.planners.bare_apps import GENERIC_ENTITY, bare_app_for_noun
from appforge.agent.planners.cjk import cjk_name, slug_words
from appforge.agent.planners.cjk_fields import cjk_fields, with_listed_fields
from appforge.agent.planners.entities import EntityPlan, fallback_entity, plan_entities
from appforge.agent.planners.inflect import with_article
from appforge.agent.planners.kinds import choose_kind
from appforge.agent.planners.language import detect_language, foreign_phrase, is_cjk
from appforge.agent.planners.localise import (
    localise_assets,
    localise_entities,
    name_generic_record,
    things_of,
)
from appforge.agent.planners.naming import (
    FALLBACK_NAME,
    make_slug,
    name_from_foreign,
    name_from_phrase,
    title_case,
)
from appforge.agent.planners.naming import given_name as given
from appforge.agent.planners.phrases import find_owner, main_phrase, sentences
from appforge.agent.planners.places import find_place
from appforge.agent.planners.plan_words import kept_things
from appforge.agent.planners.theme import FAMILY_WORDS, choose_theme
from appforge.agent.planners.topics import GENERIC, Topic, find_topic
from appforge.agent.planners.translit import to_ascii
from appforge.errors import InvalidDomain, InvalidInput
from appforge.spec import AddedField, AppSpec, Entity, Kind, Reading, validate_domain

MAX_DESCRIPTION = 4000
EXAMPLE = '"a plant-watering tracker called Sprout. Each plant has a name and a location"'
_DOMAIN = re.compile(
    r"\b(?:at|on|under|domain|host(?:ed)?(?:\s+(?:at|on))?|deploy(?:ed)?\s+(?:to|at|on)"
    r"|address|url)\s*:?\s+(?:the\s+)?(?:(?:custom\s+)?domain\s+|host\s+|address\s+)?"
    r"(?:https?://)?(?P<domain>(?:[\w-]+\.)+[^\W\d_]{2,})(?![\w-]*@)",
    re.IGNORECASE,
)
_GALLERY_WORDS = re.compile(
    r"\s*\b(?:(?:photo(?:graphy)?|picture|image|art|photos|pictures|images)\s+)?"
    r"(?:gallery|galleries|portfolio|album|collection|showcase)\b.*$",
    re.IGNORECASE,
)
_ART_NOUNS = frozenset({"posters", "paintings", "illustrations", "drawings", "prints",
                        "portraits", "sketches", "watercolours", "watercolors", "covers"})
_NAME_CHARS = re.compile(r"[^\w\s'’&!+.,:()-]")


class BlueprintPlanner:
    """Plans an app from its description with rules; works offline and instantly."""

    name = "blueprint"

    def __init__(self) -> None:
        #: What the last plan read, in lines the build prints under its plan stage.
        self.last_notes: list[str] = []

    def plan(self, description: str) -> AppSpec:
        text = _checked(description)
        read = _unshouted(text)
        parts = sentences(read) or [read]
        language = detect_language(read)
        english = language == "en"
        given_name, name_from = given(read, parts, language)
        phrase = main_phrase(parts[0]) if english else ""
        entity_plan = plan_entities(read, parts, phrase, app_name=given_name, english=english)
        if is_cjk(language):
            entity_plan = with_listed_fields(entity_plan, cjk_fields(read, language))
        kind = choose_kind(read, parts[0], entity_plan)
        entities = localise_entities(_entities(kind, entity_plan), language=language, text=read)
        entities = name_generic_record(entities, language=language, text=read)
        gallery = asset_rules.find_gallery(read, language) if kind == Kind.gallery else None
        place = find_place(parts, language)
        name = _tidy_name(given_name) or _tidy_name(_derived_name(
            kind=kind, language=language, text=read, first=parts[0], phrase=phrase,
            place=place, entity_plan=entity_plan, entities=entities, gallery=gallery)) \
            or FALLBACK_NAME
        topic = find_topic(read)
        slug_name, slug_about = _slug_sources(read, language, topic, name, given=bool(given_name))
        slug = make_slug(slug_name, text, slug_about)
        theme, family = choose_theme(read, topic.palette)
        assets = asset_rules.plan_assets(
            kind=kind, slug=slug, name=name, text=read,
            hero_subject=_hero_subject(kind, english, phrase, place, topic, entities, name),
            logo_symbol=topic.symbol, colours=FAMILY_WORDS[family], gallery=gallery,
            fallback_subject=_gallery_subject(phrase) or (
                topic.imagery if topic is not GENERIC else "a quiet landscape"),
        )
        things = things_of(entities, language)
        assets = localise_assets(assets, language=language, kind=kind, name=name,
                                 topic=None if topic is GENERIC else topic.key, things=things,
                                 subjects=bool(gallery and gallery.subjects))
        features = wording.features(language=language, topic=topic, name=name, place=place) \
            if kind == Kind.landing else []
        what = _what(kind, english, phrase, entity_plan) if given_name else None
        spec = AppSpec(
            name=name,
            slug=slug,
            title=wording.title(name=name, what=what),
            tagline=wording.tagline(kind=kind, language=language, topic=topic, name=name,
                                    place=place, entities=entities, gallery=gallery, slug=slug,
                                    things=things),
            description=description,
            kind=kind,
            entities=entities,
            theme=theme,
            assets=assets,
            features=features,
            call_to_action=wording.cta(kind=kind, language=language, topic=topic, text=read),
            domain=find_domain(text),
            language=language,
            reading=_reading(name_from if given_name else "made" if name != FALLBACK_NAME
                             else "none", place, topic, gallery, entity_plan, entities, kind),
        )
        self.last_notes = spec.reading.lines()
        return spec


def _unshouted(text: str) -> str:
    """An all-capitals description read as ordinary text (its capitals mark no names)."""
    letters = [c for c in text if c.isalpha()]
    return text.lower() if len(letters) > 8 and all(c.isupper() for c in letters) else text


def _slug_sources(text: str, language: str, topic: Topic, name: str,
                  given: bool) -> tuple[str, str]:
    """What a slug is made of, best first: the name, or what the app is about in English where
    the name has no letters a URL can carry (Chinese characters) or is a Chinese or Japanese
    sentence the planner made (a given kana name, "さくら", reads well: ``sakura``)."""
    about = "" if topic is GENERIC else topic.key
    if is_cjk(language):
        # a kana name reads well ("sakura"); other names lose their Chinese characters
        if given and not re.search(r"[\u4e00-\u9fff]", name):
            return name, slug_words(text) or about
        return slug_words(text) or about, ""  # nothing known: "app-<hash>"
    if to_ascii(name).strip(" -_'.") and re.search(r"[A-Za-z0-9]", to_ascii(name)):
        return name, ""
    return name, about


def _reading(name_from: str, place: str | None, topic: Topic,
             gallery: asset_rules.Gallery | None, entity_plan: EntityPlan,
             entities: list[Entity], kind: Kind) -> Reading:
    """What the planner read, for people to check."""
    fields_from, added = "", []
    if kind == Kind.crud:
        present = {(e.name, f.name) for e in entities for f in e.fields}
        fields_from = entity_plan.source
        added = [a for a in entity_plan.added if (a.entity, a.field) in present]
        if not entity_plan.entities:
            usual = "the description names no records: a name and notes to start with"
            fields_from = usual
            added = [AddedField(entity=e.name, field=f.name, reason=usual)
                     for e in entities for f in e.fields]
    return Reading(
        name_from=name_from, place=place,
        business=None if topic is GENERIC else topic.key,
        subjects=list(gallery.subjects) if gallery else [],
        count=gallery.count if gallery else None,
        fields_from=fields_from, added_fields=added,
    )


def _checked(description: str) -> str:
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput(f"the description is empty: say what the app is for, e.g. {EXAMPLE}")
    text = unicodedata.normalize("NFC", description).replace("\r\n", "\n").strip()
    if len(text) > MAX_DESCRIPTION:
        raise InvalidInput(
            f"the description is {len(text)} characters long; keep it under {MAX_DESCRIPTION} "
            "(say what the app is for and what it stores, the details can follow later)"
        )
    return text


def _entities(kind: Kind, plan: EntityPlan) -> list[Entity]:
    if kind != Kind.crud:
        return []
    return plan.entities or [fallback_entity()]


def _derived_name(*, kind: Kind, language: str, text: str, first: str, phrase: str,
                  place: str | None, entity_plan: EntityPlan, entities: list[Entity],
                  gallery: asset_rules.Gallery | None) -> str | None:
    """A name made from what the app is about, when the user gave none."""
    english = language == "en"
    if not english and gallery and gallery.label:
        # what the gallery shows names it, not "Galería de seis fotos"
        if gallery.written:  # "Carteles para un festival de jazz"
            return gallery.written[:1].upper() + gallery.written[1:]
        return wording.gallery_name(language, gallery.label)
    if not english:
        name = name_from_foreign(cjk_name(foreign_phrase(first), language))
        return kept_things(name, text, language) or name
    if gallery and gallery.label and len(gallery.label.split()) <= 5:
        container = next((word.title() for word in ("portfolio", "album")
                          if re.search(rf"\b{word}", text, re.IGNORECASE)), "Gallery")
        if gallery.noun in _ART_NOUNS:  # "4 posters for a blues festival": Blues Festival Posters
            container = gallery.noun.title()
        return f"{title_case(gallery.label)} {container}"
    bare = entity_plan.bare_app
    if bare is None and entities and entities[0].name != GENERIC_ENTITY:
        found = bare_app_for_noun(entities[0].name)
        bare = found[0] if found else None
    single = bare.display if bare else None
    if single is None and entities and entities[0].name != GENERIC_ENTITY:
        single = f"{entities[0].label} Tracker"
    name = name_from_phrase(phrase, sentence=first, place=place, owner=find_owner(first),
                            single_word_name=single)
    if name:
        return name
    if bare:
        return bare.display
    if entities and entities[0].name != GENERIC_ENTITY:
        return f"{entities[0].label} Tracker"
    return None


def _tidy_name(name: str | None) -> str | None:
    if not name:
        return None
    name = re.sub(r"\s+", " ", _NAME_CHARS.sub("", name)).strip(" .,:-")
    if len(name) > 60:
        name = name[:60].rsplit(" ", 1)[0] if " " in name[:60] else name[:60]
    return name if re.search(r"[^\W_]", name) else None


def _what(kind: Kind, english: bool, phrase: str, plan: EntityPlan) -> str | None:
    """What the app is, for the page title next to a given name ("Sprout: Plant Tracker")."""
    if not english or kind == Kind.gallery:
        return None
    if phrase and len(phrase.split()) <= 4 and re.search(r"[^\W\d_]", phrase):
        return title_case(phrase)
    return plan.bare_app.display if plan.bare_app else None


def _hero_subject(kind: Kind, english: bool, phrase: str, place: str | None, topic: Topic,
                  entities: list[Entity], name: str) -> str:
    """What the hero image shows: the subject and its place, in the topic's imagery."""
    imagery = topic.imagery if topic is not GENERIC else None
    if kind == Kind.landing and english and phrase:
        subject = phrase if phrase[:1].isupper() else with_article(phrase)
        if place and place.lower() not in subject.lower():
            subject += f" in {place}"
        return f"{subject}, {imagery}" if imagery else subject
    if imagery:
        return imagery
    if entities:
        things = entities[0].label_plural if english else entities[0].plural.replace("_", " ")
        return f"a tidy desk with {things.lower()}, flat illustration"
    return f"{name}, {GENERIC.imagery}"


def _gallery_subject(phrase: str) -> str | None:
    """What a gallery shows when it says no "photos of ...": "whale photo gallery" -> "a whale"."""
    subject = _GALLERY_WORDS.sub("", phrase).strip()
    return asset_rules.subject_phrase(subject) if re.search(r"[^\W\d_]", subject) else None


def find_domain(text: str) -> str | None:
    """A custom domain the description asks for ("at shop.example.com"); invalid ones are
    ignored, the app then answers at its slug under the base domain."""
    for match in _DOMAIN.finditer(text):
        try:
            return validate_domain(match["domain"])
        except InvalidDomain:
            continue
    return None
