"""What a picture should show: the subjects a prompt names, found in the picture set, and where.

Words are looked up in every language the planner reads at once (a Spanish caption "zorros en la
nieve", a German "Füchsen", a Japanese "キツネとフクロウ" all work whatever the app's language):
first in the small tables under ``words/`` (businesses and synonyms the CLDR names miss, the
words that name a setting, the words never to draw), then in the picture set's own CLDR names
and keywords (see :mod:`.artwork`). A CLDR name ("fox", "zorro", "狐狸") beats a keyword shared
by a few pictures; a keyword shared by many ("animal", "face") names none of them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from appforge.generators.image.artwork import Artwork, Entry

WORDS_DIR = Path(__file__).resolve().parent / "words"
#: A keyword naming more pictures than this is too vague to choose one ("animal", "food").
_SPECIFIC = 3
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
#: Endings tried, longest first, when a word is not found as written (foxes, zorros, Füchsen).
_ENDINGS = ("es", "en", "s", "x", "n", "e", "i", "a", "o")


@dataclass(frozen=True)
class Subject:
    """A picture chosen for a prompt: its id in the set, its English name, the word that chose it."""

    id: str
    name: str
    word: str
    group: str = ""
    subgroup: str = ""


@dataclass(frozen=True)
class Reading:
    """What a prompt asks a picture to show: subjects (the first is the main one), a setting."""

    subjects: list[Subject] = field(default_factory=list)
    #: snow, sea, mountains, outdoors, table, stage, night or None (then chosen by the subject).
    setting: str | None = None

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.subjects]


def fold(text: str) -> str:
    """Lowercase without accents ("Füchsen" -> "fuchsen", "búhos" -> "buhos"); CJK unchanged."""
    return "".join(c if _CJK.match(c) else _strip_marks(c) for c in text.lower())


@lru_cache(maxsize=4096)
def _strip_marks(char: str) -> str:
    # Kana keep their marks (パ is not ハ); Latin letters lose theirs (ü -> u).
    return "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))


@dataclass
class _Lexicon:
    strong: dict[str, set[str]]  # names and hand-table words -> picture ids
    weak: dict[str, set[str]]  # specific keywords -> picture ids
    settings: dict[str, str]  # word -> setting
    hand: set[str]  # words of the tables under words/
    ignore: set[str]
    cjk_keys: list[str]  # every CJK key, longest first

    def find(self, key: str) -> tuple[set[str], bool]:
        if key in self.strong:
            return self.strong[key], True
        return self.weak.get(key, set()), False


@lru_cache(maxsize=4)
def _lexicon(artwork: Artwork) -> _Lexicon:
    strong: dict[str, set[str]] = defaultdict(set)
    tags: dict[str, set[str]] = defaultdict(set)
    within: set[str] = set()  # keywords that are the noun of their picture's name
    for entry in artwork.entries.values():
        for words in entry.names.values():
            if not words:
                continue
            label = fold(words[0])
            strong[label].add(entry.id)
            for word in map(fold, words[1:]):
                tags[word].add(entry.id)
                if word != label and word in label:  # "raposa" in "rosto de raposa"
                    within.add(word)
    settings: dict[str, str] = {}
    ignore: set[str] = set()
    hand: set[str] = set()
    for table in _word_tables():
        for word, id in table.get("subjects", {}).items():
            if id in artwork.entries:  # the hand table outranks CLDR for its words
                strong[fold(word)] = {id}
                hand.add(fold(word))
        for setting, words in table.get("settings", {}).items():
            settings.update({fold(w): setting for w in words})
        ignore.update(fold(w) for w in table.get("ignore", []))
    for word, ids in tags.items():  # "キツネ" of "キツネの顔", "raposa" of "rosto de raposa"
        if len(ids) == 1 and word in within and word not in strong:
            strong[word] = ids
    weak = {word: ids for word, ids in tags.items() if len(ids) <= _SPECIFIC and word not in strong}
    keys = {k for k in [*strong, *weak, *settings] if _CJK.search(k)}
    return _Lexicon(dict(strong), weak, settings, hand, ignore,
                    sorted(keys, key=len, reverse=True))


@lru_cache(maxsize=1)
def _word_tables() -> tuple[dict, ...]:
    return tuple(json.loads(path.read_text(encoding="utf-8"))
                 for path in sorted(WORDS_DIR.glob("*.json")))


def read_subjects(text: str, artwork: Artwork, limit: int = 3) -> Reading:
    """The pictures ``text`` names, main one first, and the setting it names."""
    lexicon = _lexicon(artwork)
    found: list[tuple[int, bool, str, str]] = []  # (position, strong, id, word)
    setting: str | None = None
    folded = fold(text)
    for position, key, cjk in _candidates(folded, lexicon):
        if key in lexicon.settings and setting is None:
            setting = lexicon.settings[key]
        if key in lexicon.ignore:
            continue
        ids, strong = lexicon.find(key)
        if ids and (key not in lexicon.settings or strong):
            found += [(position, strong, id, key) for id in sorted(ids)[:1]]
        elif (not cjk and key not in lexicon.settings
              and (match := _inflected(key, lexicon)) is not None):
            found.append((position, match[1], match[0], key))
    # The sky is the scene's (a sun, a cloud), not a subject; a building is a main subject only.
    found = [f for f in found
             if artwork.entries[f[2]].subgroup != "sky-weather" or f[3] in lexicon.hand]
    # Names, table words and keywords of one picture choose; a keyword shared by a few counts
    # only when nothing more certain was said.
    certain = [f for f in found if f[1]] or found
    subjects: list[Subject] = []
    for _, _, id, word in sorted(certain, key=lambda f: f[0]):
        entry: Entry = artwork.entries[id]
        if subjects and entry.subgroup.startswith("place-"):
            continue
        if id not in {s.id for s in subjects}:
            subjects.append(Subject(id, entry.name, word, entry.group, entry.subgroup))
    return Reading(subjects[:limit], setting)


def _candidates(folded: str, lexicon: _Lexicon):
    """(position, key, is_cjk) for every phrase of one to three words and every CJK key."""
    taken = [False] * len(folded)
    for key in lexicon.cjk_keys:  # longest first, so 猫头鹰 (owl) is not read as 猫 (cat)
        start = folded.find(key)
        while start >= 0:
            if not any(taken[start:start + len(key)]):
                taken[start:start + len(key)] = [True] * len(key)
                yield start, key, True
            start = folded.find(key, start + 1)
    words = [(m.start(), m.group()) for m in _WORD.finditer(folded) if not _CJK.search(m.group())]
    used: set[int] = set()
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            span = set(range(i, i + size))
            if span & used:
                continue
            key = " ".join(w for _, w in words[i:i + size])
            if size > 1 and not (key in lexicon.strong or key in lexicon.settings):
                continue
            if size > 1:
                used |= span
            yield words[i][0], key, False


def _inflected(word: str, lexicon: _Lexicon) -> tuple[str, bool] | None:
    """A plural or inflected form of a known word: foxes -> fox, zorros -> zorro, gufi -> gufo."""
    if len(word) < 4:
        return None
    for ending in _ENDINGS:
        if not word.endswith(ending) or len(word) - len(ending) < 3:
            continue
        stem = word[: -len(ending)]
        # Italian plurals end in -i for singulars in -o and -e (gufi, volpi).
        for candidate in (stem, stem + "o", stem + "e") if ending == "i" else (stem,):
            ids, strong = lexicon.find(candidate)
            if ids and candidate not in lexicon.ignore:
                return min(ids), strong
    return None
