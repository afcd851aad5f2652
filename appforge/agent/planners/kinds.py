"""Which kind of app a description asks for: a landing page, a gallery or a crud app.

Signals are checked strongest first: an explicit landing page, spelled-out fields, gallery words,
tracker/list words, website words; failing all of those, a description that names records is a
crud app and anything else a landing page.
"""

from __future__ import annotations

import re

from appforge.agent.planners.counts import COUNT
from appforge.agent.planners.entities import EntityPlan
from appforge.spec import Kind

_LANDING = re.compile(
    r"\b(?:landing[\s-]*page|landing|home[\s-]*page|homepage|marketing|splash[\s-]*page"
    r"|one[\s-]*pager|one[\s-]*page(?:\s+(?:site|website))?|brochure|sales page"
    r"|p[áa]gina de (?:aterrizaje|inicio|destino)|landingpage|startseite|page d'accueil"
    r"|page de destination)\b|ホームページ|ランディングページ|лендинг|落地页|着陆页|主页|首页|官网",
    re.IGNORECASE,
)
_GALLERY = re.compile(
    r"\b(?:portfolios?|galler(?:y|ies)|photo[\s-]*albums?|lookbook"
    r"|(?:photos|pictures|images|photographs|paintings|drawings|illustrations|artworks|shots)"
    r"\s+(?:of|showing|featuring)"
    r"|galer[ií]a|galerie|galleria|portf[oó]lio|fotos? (?:de|von|di))\b|写真|ギャラリー|ポートフォリオ"
    r"|相册|相冊|画廊|照片|作品集"
    r"|галере|фото",
    re.IGNORECASE,
)
_PHOTO_COUNT = COUNT
_CRUD = re.compile(
    r"\b(?:track(?:er|ers|ing|s)?|keep track|lists?|checklists?|manage|manager|managing"
    r"|management|log|logs|logbook|logger|logging|inventory|catalog(?:ue)?|database|crud"
    r"|to[\s-]?dos?|planner|organi[sz]er|journal|diary|register|registry|directory|crm"
    r"|records?|collection|watchlist|wishlist|bookmarks?|kanban|ledger|admin|lista|liste"
    r"|registro|gestor|gesti[oó]n|verwaltung|sammlung|\w+sammlung|suivi|gestionnaire|elenco"
    r"|carnet|agenda)\b|管理|リスト|記録|一覧|список|учёт|учет|трекер|清单|清單|记录|記錄|待办|记账",
    re.IGNORECASE,
)
_WEBSITE = re.compile(
    r"\b(?:website|web\s*site|site|web\s*page|page|blog|sitio|webseite|site web|p[áa]gina"
    r"|sito)\b|サイト|сайт",
    re.IGNORECASE,
)
_HEAD_END = re.compile(r"\s+(?:with|each|every|where|which)\b|[:;]", re.IGNORECASE)


def reads_plainly_as(kind: Kind, text: str) -> bool:
    """Whether ``text`` asks for ``kind`` in so many words: a landing page named so, or a website
    about something the topics know (a coffee shop, a surf school); a gallery, or photos of
    something. A small model's ``custom`` gives way to such a reading (its coder then has a
    blueprint to start from, not a blank page)."""
    from appforge.agent.planners.topics import GENERIC, find_topic

    if kind == Kind.landing:
        return bool(_LANDING.search(text)
                    or (_WEBSITE.search(text) and find_topic(text) is not GENERIC))
    if kind == Kind.gallery:
        return bool(_GALLERY.search(text) or _PHOTO_COUNT.search(text))
    return False


def choose_kind(text: str, first_sentence: str, entities: EntityPlan) -> Kind:
    """landing, gallery or crud, from the words of the description."""
    head = _HEAD_END.split(first_sentence, maxsplit=1)[0]
    if _LANDING.search(head):
        return Kind.landing
    if entities.explicit:
        return Kind.crud
    if _GALLERY.search(text) or _PHOTO_COUNT.search(text):
        return Kind.gallery
    if _CRUD.search(text):
        return Kind.crud
    if _WEBSITE.search(text):
        return Kind.landing
    return Kind.crud if entities.evidence else Kind.landing
