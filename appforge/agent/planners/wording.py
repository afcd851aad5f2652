"""The words on the generated app: its title, tagline, landing-page features and call to action.

English copy comes from the topic (surf, food, ...) or the bare app (todo, expenses, ...); Spanish,
German, French, Portuguese and Italian descriptions get short generic copy in their language.
"""

from __future__ import annotations

import hashlib

from appforge.agent.planners.assets import Gallery
from appforge.agent.planners.bare_apps import GENERIC_ENTITY, bare_app_for_noun
from appforge.agent.planners.inflect import count_word
from appforge.agent.planners.topics import Topic, call_to_action
from appforge.spec import Entity, Feature, Kind

_TAGLINES = {
    "es": ("Todo en orden, en un solo lugar.", "Hecho con cariño, y encantados de verte por aquí.",
           "Una pequeña colección, elegida con cuidado."),
    "de": ("Alles im Blick, an einem Ort.", "Mit Sorgfalt gemacht – schön, dass du da bist.",
           "Eine kleine Sammlung, mit Sorgfalt ausgewählt."),
    "fr": ("Tout en ordre, au même endroit.", "Fait avec soin, et ravis de vous accueillir.",
           "Une petite collection, choisie avec soin."),
    "pt": ("Tudo organizado, num só lugar.", "Feito com cuidado, e felizes por o receber.",
           "Uma pequena coleção, escolhida com cuidado."),
    "it": ("Tutto in ordine, in un unico posto.", "Fatto con cura, e felici di vederti.",
           "Una piccola collezione, scelta con cura."),
}
_CTAS = {"es": "Empezar", "de": "Loslegen", "fr": "Commencer", "pt": "Começar", "it": "Inizia"}
_FEATURES = {
    "es": (("Hecho con cuidado", "Cuidamos cada detalle para que todo funcione, hoy y mañana."),
           ("Fácil de encontrar", "Escríbenos cuando quieras: respondemos rápido y con gusto."),
           ("Aquí para ti", "Preguntas, ideas o comentarios: leemos cada mensaje.")),
    "de": (("Mit Sorgfalt gemacht", ("Jedes Detail ist durchdacht, damit alles einfach "
            "funktioniert.")),
           ("Leicht erreichbar", "Schreib uns jederzeit – wir antworten schnell und freundlich."),
           ("Für dich da", "Fragen, Ideen oder Feedback: Wir lesen jede Nachricht.")),
    "fr": (("Fait avec soin", "Chaque détail est pensé pour que tout fonctionne simplement."),
           ("Facile à joindre", ("Écrivez-nous à tout moment : nous répondons vite et avec "
            "plaisir.")),
           ("À votre écoute", "Questions, idées ou remarques : nous lisons chaque message.")),
    "pt": (("Feito com cuidado", ("Cada detalhe é pensado para que tudo funcione de forma "
            "simples.")),
           ("Fácil de contactar", "Escreva-nos quando quiser: respondemos depressa e com gosto."),
           ("Aqui para si", "Perguntas, ideias ou sugestões: lemos todas as mensagens.")),
    "it": (("Fatto con cura", "Ogni dettaglio è pensato perché tutto funzioni in modo semplice."),
           ("Facile da raggiungere", "Scrivici quando vuoi: rispondiamo in fretta e volentieri."),
           ("Qui per te", "Domande, idee o suggerimenti: leggiamo ogni messaggio.")),
}
_FOREIGN_ICONS = ("star", "map-pin", "heart")
_CRUD_TAGLINES = (
    "Keep track of your {things}, all in one place.",
    "All your {things}, organised and easy to find.",
    "Your {things}, neatly in one place.",
)


def tagline(*, kind: Kind, language: str, topic: Topic, name: str, place: str | None,
            entities: list[Entity], gallery: Gallery | None, slug: str) -> str:
    """One sentence under the title that sounds like a person wrote it."""
    if language in _TAGLINES:
        crud, landing, photos = _TAGLINES[language]
        return {Kind.crud: crud, Kind.landing: landing, Kind.gallery: photos}[kind]
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
    if language in _FEATURES:
        return [Feature(title=title, text=text, icon=icon)
                for (title, text), icon in zip(_FEATURES[language], _FOREIGN_ICONS, strict=True)]
    return [Feature(title=_fill(title, name, place), text=_fill(text, name, place), icon=icon)
            for title, text, icon in topic.features]


def cta(*, kind: Kind, language: str, topic: Topic, text: str) -> str:
    if language in _CTAS:
        return _CTAS[language]
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


def _fill(template: str, name: str, place: str | None) -> str:
    return template.format(name=name, in_place=f" in {place}" if place else "")


def _pick(options: tuple[str, ...], key: str) -> str:
    return options[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(options)]
