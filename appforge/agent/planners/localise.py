"""Records, fields and pictures' alt texts in the plan's language.

The rules that read records and fields are shared by every language, and the usual apps' records
(a todo list's tasks, a plant tracker's plants) are defined once, in English. For a description in
another language this gives each label in that language: the description's own word where it names
the record or field ("cada planta tiene un nombre" -> "Planta", "Nombre"), otherwise the word of the
language's table (``words/<language>.toml``). Identifiers stay as they are (ASCII snake_case).
"""

from __future__ import annotations

import re
from typing import Any

from appforge.agent.planners.bare_apps import GENERIC_ENTITY
from appforge.agent.planners.plan_words import (
    fill,
    kept_phrase,
    plan_words,
    plural_label,
    singular_noun,
    without_lead,
)
from appforge.spec import AssetRequest, Entity, EntityField, Kind


def localise_entities(entities: list[Entity], *, language: str, text: str) -> list[Entity]:
    """``entities`` with every label in ``language``."""
    words = plan_words(language)
    if not words:
        return entities
    return [_entity(entity, words, language, text) for entity in entities]


def name_generic_record(entities: list[Entity], *, language: str, text: str) -> list[Entity]:
    """The usual record ("Elemento") named by what the description says it keeps: "i miei vini"
    -> "Vino", "Vini" (its identifier stays)."""
    if not entities or entities[0].name != GENERIC_ENTITY:
        return entities
    kept = kept_phrase(text, language)
    noun = kept[1].split()[0] if kept else ""
    single = singular_noun(noun, language) if noun and len(kept[1].split()) == 1 else None
    if not single or single.lower() == noun.lower():
        return entities
    labels = {"label": _capitalised(single), "label_plural": _capitalised(noun)}
    return [entities[0].model_copy(update=labels), *entities[1:]]


def _entity(entity: Entity, words: dict[str, Any], language: str, text: str) -> Entity:
    known = words["entities"].get(entity.name)
    label = _without_article(entity.label, words)
    if known and not _written(label, text):
        single, plural = known
    else:
        single = _capitalised(label)
        plural = plural_label(single, text, language)
    fields = _distinct_labels([_field(field, words, text) for field in entity.fields], text)
    return entity.model_copy(update={"label": single, "label_plural": plural, "fields": fields})


def _distinct_labels(fields: list[EntityField], text: str) -> list[EntityField]:
    """One field per label: a usual field ("name": "Nome") gives way to the one the description
    lists in its own words ("nome")."""
    kept: list[EntityField] = []
    for field in fields:
        same = next((k for k in kept if k.label.casefold() == field.label.casefold()), None)
        if same is None:
            kept.append(field)
        elif field.name.casefold() in text.casefold() and same.name.casefold() not in text.casefold():
            kept[kept.index(same)] = field
    return kept


def _field(field: EntityField, words: dict[str, Any], text: str) -> EntityField:
    label = _without_article(field.label, words)
    known = words["fields"].get(field.name)
    if known and (not _written(label, text) or label.lower().startswith(known.lower())):
        label = known  # "Einen Namen" -> "Name"; an English default -> the language's word
    return field.model_copy(update={"label": _capitalised(label)})


def field_label(name: str, label: str, language: str) -> str:
    """The label of a field added in English ("add a rating field") to an app planned in
    ``language``: the language's word for it where the table has one ("Valoración")."""
    words = plan_words(language)
    return str(words["fields"].get(name, label)) if words else label


def _written(label: str, text: str) -> bool:
    """Whether the description itself uses ``label`` (the user's word for it)."""
    if not label:
        return False
    if not label.isascii() and not re.search(r"[A-Za-zÀ-ÿ]", label):
        return label in text  # Chinese and Japanese words have no spaces around them
    return re.search(rf"(?<!\w){re.escape(label)}(?!\w)", text, re.IGNORECASE) is not None


def _without_article(label: str, words: dict[str, Any]) -> str:
    return without_lead(label, words["grammar"]["label_articles"]) or label


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def localise_assets(assets: list[AssetRequest], *, language: str, kind: Kind, name: str,
                    topic: str | None, things: str, subjects: bool = True) -> list[AssetRequest]:
    """``assets`` with alt texts in ``language``: the logo's, and a hero that shows the topic's
    imagery (its prompt stays English, for image models); a gallery's pictures too when the
    description names no ``subjects`` (otherwise its captions are in its own words already)."""
    words = plan_words(language)
    if not words:
        return assets
    copy, topics = words["copy"], words["topics"]
    if topic in topics:
        hero = topics[topic]["hero"]
    elif kind == Kind.crud and things:
        hero = fill(copy["desk_alt"], things=things)
    else:
        hero = topics["generic"]["hero"]
    out = []
    for asset in assets:
        if asset.role == "logo":
            asset = asset.model_copy(update={"alt": fill(copy["logo_alt"], name=name)})
        elif asset.role == "hero" or (asset.role == "gallery" and not subjects):
            asset = asset.model_copy(update={"alt": hero})
        out.append(asset)
    return out


def things_of(entities: list[Entity], language: str) -> str:
    """The records' plural labels as a sentence's noun ("plantas", "Pflanzen", "植物")."""
    labels = [e.label_plural for e in entities[:2]]
    if language not in ("de", "zh", "ja"):
        labels = [label[:1].lower() + label[1:] for label in labels]
    words = plan_words(language)
    return (words["copy"]["and"] if words else " and ").join(labels)
