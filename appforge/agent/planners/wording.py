"""The words on the generated app: its title, tagline, landing-page features and call to action.

English copy comes from the topic (surf, food, ...) or the bare app (todo, expenses, ...); other
languages' copy from their word tables (``words/<language>.toml``, see :mod:`.plan_words`): the
topic's tagline and call to action, the usual app's tagline, three landing-page features.
"""

from __future__ import annotations

import hashlib

from appforge.agent.planners.assets import Gallery
from appforge.agent.planners.bare_apps import GENERIC_ENTITY, bare_app_for_noun
from appforge.agent.planners.inflect import count_word
from appforge.agent.planners.plan_words import fill, plan_words
from appforge.agent.planners.topics import Topic, call_to_action
from appforge.spec import Entity, Feature, Kind

_FOREIGN_ICONS = ("star", "map-pin", "heart")
_CRUD_TAGLINES = (
    "Keep track of your {things}, all in one place.",
    "All your {things}, organised and easy to find.",
    "Your {things}, neatly in one place.",
)


def tagline(*, kind: Kind, language: str, topic: Topic, name: str, place: str | None,
            entities: list[Entity], gallery: Gallery | None, slug: str, things: str = "") -> str:
    """One sentence under the title that sounds like a person wrote it."""
    if words := plan_words(language):
        return _foreign_tagline(words, kind=kind, topic=topic, place=place, entities=entities,
                                gallery=gallery, things=things, name=name)
    if kind == Kind.crud and entities:
        entity = entities[0]
        bare = bare_app_for_noun(entity.name) if entity.name != GENERIC_ENTITY else None
        if bare and len(entities) == 1:
            return bare[0].tagline
        things = " and ".join(e.label_plural.lower() for e in entities[:2])
        return _pick(_CRUD_TAGLINES, slug).format(things=things)
    if kind == Kind.gallery:
        if gallery and gallery.label:
            what = gallery.noun if gallery.noun and gallery.noun.isascii() else "photographs"
            return f"{count_word(gallery.count).capitalize()} {what} {gallery.relation} " \
                   f"{gallery.label}, chosen with care."
        return "A small collection of work, chosen with care."
    return _fill(topic.tagline, name, place)


def features(*, language: str, topic: Topic, name: str, place: str | None) -> list[Feature]:
    """Three selling points for a landing page."""
    if words := plan_words(language):
        own = words["topics"].get(topic.key, {}).get("features")
        icons = [icon for _, _, icon in topic.features] if own else _FOREIGN_ICONS
        return [Feature(title=fill(title, words=words, place=place, name=name),
                        text=fill(text, words=words, place=place, name=name), icon=icon)
                for (title, text), icon in zip(own or words["copy"]["features"], icons,
                                               strict=True)]
    return [Feature(title=_fill(title, name, place), text=_fill(text, name, place), icon=icon)
            for title, text, icon in topic.features]


def cta(*, kind: Kind, language: str, topic: Topic, text: str) -> str:
    """The main button's words."""
    if words := plan_words(language):
        if kind == Kind.crud:
            return str(words["copy"]["cta_crud"])
        if kind == Kind.gallery:
            return str(words["copy"]["cta_gallery"])
        return str(words["topics"].get(topic.key, words["topics"]["generic"])["cta"])
    if kind == Kind.crud:
        return "Get started"
    if kind == Kind.gallery:
        return "View the collection"
    return call_to_action(topic, text)


def title(*, name: str, what: str | None) -> str:
    """The page title: the name, with what the app is when the name does not say it."""
    if what and what.lower() not in name.lower() and name.lower() not in what.lower():
        return f"{name}: {what}"[:120]
    return name[:120]


def _foreign_tagline(words: dict, *, kind: Kind, topic: Topic, place: str | None,
                     entities: list[Entity], gallery: Gallery | None, things: str,
                     name: str) -> str:
    copy = words["copy"]
    if kind == Kind.crud:
        entity = entities[0] if entities else None
        bare = bare_app_for_noun(entity.name) if entity and entity.name != GENERIC_ENTITY else None
        if bare and len(entities) == 1 and bare[0].key in words["apps"]:
            return str(words["apps"][bare[0].key])
        template = copy["tagline_crud_things"] if things else copy["tagline_crud"]
        return fill(template, things=things)
    if kind == Kind.gallery:
        said = fill(copy["gallery_tagline"], label=gallery.label) if gallery and gallery.label \
            and gallery.relation == "of" else ""
        if said and fill(copy["gallery_name"], label=gallery.label) != name:
            return said  # the name says what the pictures show: the tagline need not repeat it
        return str(copy["tagline_gallery"])
    chosen = words["topics"].get(topic.key, words["topics"]["generic"])
    return fill(chosen["tagline"], words=words, place=place)


def gallery_name(language: str, label: str) -> str | None:
    """A gallery's name from what it shows ("Fotos de zorros en la nieve"), in ``language``."""
    words = plan_words(language)
    return fill(words["copy"]["gallery_name"], label=label) if words else None


def _fill(template: str, name: str, place: str | None) -> str:
    return template.format(name=name, in_place=f" in {place}" if place else "")


def _pick(options: tuple[str, ...], key: str) -> str:
    return options[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(options)]
