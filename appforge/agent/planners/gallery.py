"""What a gallery shows: how many pictures and of what ("six photos of foxes and owls in the
snow" -> 6 pictures of "a fox in the snow" and "an owl in the snow"; "4 posters for a blues
festival" -> 4 of "a poster for a blues festival"), in every language the planner reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from appforge.agent.planners.counts import PICTURE_NOUNS, picture_count
from appforge.agent.planners.inflect import is_plural, singular, with_article
from appforge.agent.planners.phrases import split_list
from appforge.agent.planners.plan_words import caption, plan_words
from appforge.agent.planners.theme import is_theme_phrase

DEFAULT_PHOTOS = 6
MAX_PHOTOS = 24
_OF = r"of|showing|featuring|with|de|des|du|da|do|das|dos|von|vom|der|di|del|della|dei|delle"
_NUMBER_LEAD = re.compile(r"^(?:\d{1,3}|[a-zà-ÿ]+)\s+(?:[\w-]+\s+)?(?:" + PICTURE_NOUNS + r")\b",
                          re.IGNORECASE)
#: Where the subjects are, best first: "photos of foxes" / "posters for a festival", "photos:
#: foxes and owls", "a gallery of houseplants".
_SUBJECTS = (
    re.compile(rf"\b(?P<noun>{PICTURE_NOUNS})\s+(?P<how>{_OF}|for|para|pour|per|für)\s+"
               r"(?P<subjects>[^.;:!?\n]+)", re.IGNORECASE),
    re.compile(rf"\b(?P<noun>{PICTURE_NOUNS})\s*:\s*(?P<subjects>[^.;!?\n]+)", re.IGNORECASE),
    re.compile(r"\b(?:galler(?:y|ies)|album|portfolio|collection|galer[ií]a|galerie|galleria"
               rf"|portf[oó]lio)\s+(?:{_OF})\s+(?P<subjects>[^.;:!?\n]+)", re.IGNORECASE),
)
_SUBJECT_CUT = re.compile(
    r"\s+(?:with|for|that|which|in an?|on an?|using|so|taken|shot|by|called|named|as|para|pour"
    r"|per|für|avec|con|com|mit|que|qui|che)\b.*$"
    r"|\s+-\s.*$|[,(]\s*(?:in|with|for|using|called|named)\b.*$",
    re.IGNORECASE,
)
#: "foxes and owls in the snow": the last item's setting belongs to every item.
_SETTING = re.compile(r"^(?P<thing>.+?)\s+(?P<setting>(?:in|on|at|under|by|near|among)\s+.+)$",
                      re.IGNORECASE)
#: Chinese "六张猫咪照片" / Japanese "猫の写真".
_CJK_SUBJECT = re.compile(
    r"(?:张|張|幅|枚|个)(?P<zh>[\u4e00-\u9fff]{1,6}?)的?(?:照片|图片|圖片|画|海报|插画)"
    r"|(?P<ja>[\u3040-\u30ff\u4e00-\u9fff]{1,8}?)の(?:写真|画像|イラスト|ポスター|絵)"
    r"|(?P<zh2>[\u4e00-\u9fff]{1,6}?)的?(?:照片|图片|圖片|海报|插画)"
)
#: "una galería de fotos": pictures of nothing in particular, not of "fotos".
_ONLY_PICTURES = re.compile(rf"(?:{PICTURE_NOUNS}|photo|picture|image)",
                            re.IGNORECASE)
_CJK_FILLER = re.compile(
    r"^(?:一个|一個|展示了?|有|很多|我的|我们的|[一二两三四五六七八九十\d]+[张張幅枚个]?)+")
#: The end of a list of subjects: a comma-separated item past the list's "and" item, or one
#: that is a clause of its own ("foxes, owls and deer, taken at dawn").
_LIST_AND = re.compile(r"\s(?:and|y|e|et|und|ed|&)\s", re.IGNORECASE)


@dataclass(frozen=True)
class Gallery:
    """What a gallery shows: how many pictures, and of what."""

    count: int = DEFAULT_PHOTOS
    subjects: list[str] = field(default_factory=list)  # captions: ["a fox", "an owl"]
    label: str | None = None  # the subjects as written: "foxes and owls"
    noun: str | None = None  # what the pictures are: "posters" (None: photos)
    relation: str = "of"  # "posters for a blues festival": "for a"
    written: str | None = None  # the pictures as the description says: "carteles para ..."


def find_gallery(text: str, language: str = "en") -> Gallery:
    """``"a portfolio of six photos of foxes and owls"`` -> 6 photos of "a fox", "an owl"."""
    asked, noun = picture_count(text)
    count = max(1, min(MAX_PHOTOS, asked)) if asked else DEFAULT_PHOTOS
    if language in ("zh", "ja"):
        return _cjk_gallery(text, count)
    english = language == "en"
    for pattern in _SUBJECTS:
        match = pattern.search(text)
        if match is None:
            continue
        groups = match.groupdict()
        noun = (groups.get("noun") or noun or "").lower() or None
        raw = match["subjects"]
        if "noun" not in groups and _NUMBER_LEAD.match(raw):
            continue  # "a gallery of 4 posters": the pictures' own phrase says what they show
        for_what = (groups.get("how") or "").lower() in ("for", "para", "pour", "per", "für")
        if for_what:  # "4 posters for a blues festival in Memphis"
            what = re.split(r"[,.;:]|\s+(?:with|in|en|em|à|a|im)\s+[A-ZÀ-Þ]", raw)[0].strip()
            label = re.sub(r"^(?:the|my|our|a|an)\s+", "", what, flags=re.IGNORECASE)
            thing = with_article(singular(noun)) if english and noun else match["noun"]
            said = f"{thing} {'for' if english else match['how']} {what}"
            article = what[:len(what) - len(label)].strip()
            shown = said if english else caption(said, language)
            return Gallery(count, [shown], label or None, noun, f"for {article}".strip(),
                           None if english else said)
        label = _SUBJECT_CUT.sub("", _list_only(raw)).strip(" ,")
        label = re.sub(r"^(?:(?:\d+|the|my|our|some|a|an)\s+)+", "", label, flags=re.IGNORECASE)
        items = [item for item in split_list(label) if not is_theme_phrase(item, colour_words=False)
                 and not _ONLY_PICTURES.fullmatch(item.strip())]
        items = _shared_setting(items, _settings(language))
        subjects = [subject_phrase(item) if english else caption(item, language)
                    for item in items if re.search(r"\w", item)][:MAX_PHOTOS]
        if subjects:
            return Gallery(count, subjects, label or None, noun)
    return Gallery(count, noun=noun)


def _list_only(raw: str) -> str:
    """The list at the start of ``raw``: "saxophones, guitars and violins, on stage" keeps its
    three items and drops the rest; a comma that starts no list item ends it."""
    pieces = raw.split(",")
    kept = [pieces[0]]
    if _LIST_AND.search(pieces[0]):
        return kept[0]
    for piece in pieces[1:]:
        if len(piece.split()) > 5:
            break
        kept.append(piece)
        if _LIST_AND.search(piece):
            break
    return ",".join(kept) if _LIST_AND.search(kept[-1]) else pieces[0]


def _settings(language: str) -> re.Pattern[str]:
    """Where things are, in ``language``: "in the snow", "en la nieve", "im Schnee"."""
    words = plan_words(language)
    preps = words["grammar"]["settings"] if words else []
    if not words:
        return _SETTING
    if not preps:
        return re.compile(r"(?!x)x")
    alternatives = "|".join(re.escape(p) for p in sorted(preps, key=len, reverse=True))
    return re.compile(rf"^(?P<thing>.+?)\s+(?P<setting>(?:{alternatives})\s+.+)$", re.IGNORECASE)


def _shared_setting(items: list[str], setting_pattern: re.Pattern[str] = _SETTING) -> list[str]:
    """``["foxes", "owls in the snow"]`` -> ``["foxes in the snow", "owls in the snow"]``."""
    if len(items) < 2 or not (match := setting_pattern.match(items[-1])):
        return items
    if any(setting_pattern.match(item) or len(item.split()) > 2 for item in items[:-1]):
        return items
    setting = match["setting"]
    return [f"{item} {setting}" for item in items[:-1]] + [items[-1]]


def _cjk_gallery(text: str, count: int) -> Gallery:
    match = _CJK_SUBJECT.search(text)
    if not match:
        return Gallery(count)
    subject = _CJK_FILLER.sub("", match["zh"] or match["ja"] or match["zh2"] or "")
    return Gallery(count, [subject], subject) if subject else Gallery(count)


def subject_phrase(item: str) -> str:
    """What one picture shows: "foxes" -> "a fox", "owls in the snow" -> "an owl in the snow";
    longer phrases stay as written."""
    words = re.sub(r"^(?:a|an|the|some|my|our)\s+", "", item.strip(), flags=re.IGNORECASE).split()
    if not words:
        return item.strip()
    head = len(words)
    setting = re.search(r"\s(?:in|on|at|under|by|near|among)\s", f" {' '.join(words)} ")
    if setting:
        head = len(f" {' '.join(words)} "[:setting.start()].split())
    if 1 <= head <= 2 and words[head - 1].isascii() and is_plural(words[head - 1].lower()):
        thing = " ".join([*words[:head - 1], singular(words[head - 1].lower())])
        return " ".join([with_article(thing), *words[head:]])
    return " ".join(words)
