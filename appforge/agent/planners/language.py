"""Which language a description is written in, from its common small words and accents (en, es,
de, fr, pt, it), its script (ja for text with kana, zh for Chinese characters without), or
"other" for anything else; and what a description in another language says the app is.
"""

from __future__ import annotations

import re
from collections import Counter

from appforge.agent.planners.phrases import strip_name_prefix

_COMMON = {
    "en": "the and with for of to is called named each every has have my an that where "
          "which should want list tracker page website a it this our build make site web "
          "simple track landing gallery theme dark i me we your",
    "es": "el la los las de del que y una un con para llamada llamado mi mis cada tiene "
          "aplicación lista sitio página por es quiero crea en al lo como su sus galería "
          "gestor registro",
    "de": "der die das und mit eine ein einen für namens ich meine mein jede jeder hat haben ist "
          "von zu den dem liste seite möchte erstelle galerie sammlung",
    "fr": "le la les de des du et une un avec pour appelée appelé appelle mes mon ma chaque "
          "application qui est au liste site je veux crée galerie gestionnaire suivi carnet",
    "pt": "o a os as de do da e uma um com para chamado chamada meu minha cada tem aplicativo "
          "aplicação lista não site quero crie galeria minhas meus das dos registo",
    "it": "il lo la gli le di del della e una un con per chiamata chiamato mio mia ogni ha "
          "applicazione lista sito che voglio crea galleria fotografica gestione",
}
_SETS = {lang: frozenset(words.split()) for lang, words in _COMMON.items()}
_SHARED = Counter(word for words in _SETS.values() for word in words)
_ACCENTS = {"es": "ñ¿¡", "de": "ßäöü", "fr": "çèêàœ", "pt": "ãõ", "it": "ìò"}
LANGUAGES = tuple(_SETS)


def detect_language(text: str) -> str:
    """A two-letter code for the description's language, or "other"."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    latin = sum(1 for c in letters if ord(c) < 0x250)
    if latin * 2 < len(letters):
        return _script_language(letters)
    words = re.findall(r"[^\W\d_]+", text.lower())
    scores = {lang: 0.0 for lang in _SETS}
    for word in words:
        for lang, vocabulary in _SETS.items():
            if word in vocabulary:
                scores[lang] += 2 if _SHARED[word] == 1 else 1 / _SHARED[word]
    lowered = text.lower()
    for lang, accents in _ACCENTS.items():
        scores[lang] += 1.5 * sum(lowered.count(a) for a in accents)
    best = max(scores, key=lambda lang: (scores[lang], lang == "en"))
    # A word or two shared between languages is not enough to leave English, unless the
    # description has no English word at all ("Una lista de contactos").
    enough = 1.5 if scores["en"] else 0.6
    return best if best == "en" or scores[best] >= enough else "en"


def _script_language(letters: list[str]) -> str:
    if any("\u3040" <= c <= "\u30ff" for c in letters):  # hiragana or katakana
        return "ja"
    if any("\u4e00" <= c <= "\u9fff" for c in letters):
        return "zh"
    return "other"


def is_cjk(language: str) -> bool:
    return language in ("zh", "ja")


_FOREIGN_LEAD = re.compile(
    r"^(?:(?:quiero|necesito|crea|crear|cree|haz|hazme|hacer|me gustaría|ich möchte|ich will"
    r"|ich brauche|erstelle|erstell|mach|baue|bau|je veux|j'aimerais|je voudrais|crée|créer"
    r"|fais|fais-moi|quero|preciso|crie|criar|faça|voglio|vorrei|creare|fai|fammi|hola|hallo"
    r"|bonjour|olá|ciao|por favor|bitte|per favore|s'il te plaît|s'il vous plaît)\b[\s,!]*)+",
    re.IGNORECASE,
)
_FOREIGN_ARTICLE = re.compile(
    r"^(?:(?:un|una|uno|unos|unas|el|la|los|las|ein|eine|einen|einer|der|die|das|une|le|les"
    r"|um|uma|o|a|os|as|il|lo|gli|i|mi|mis|mein|meine|meinen|mon|ma|mes|meu|minha|mio|mia"
    r"|me|mir|moi)\s+|l'|un')+",
    re.IGNORECASE,
)
_FOREIGN_CUT = re.compile(
    r"\s+(?:para|con|que|y|für|mit|und|pour|avec|qui|et|com|e|per|che|ed|sobre|über|sur|en"
    r"|in|à|em|no|na|dla|для|с|и|который|которая|что|llamad\w*|namens|genannt|appel\w*"
    r"|nomm\w*|chamad\w*|chiamat\w*|под|называется)\b.*$|\s+a\s+(?=[A-ZÀ-Þ]).*$"
    r"|[,.;:()\"“”«»„!?。、「」，；：！？].*$",
    re.IGNORECASE,
)


def foreign_phrase(sentence: str) -> str:
    """What the app is, from a first sentence in another language: "Una lista de tareas para mi
    casa" -> "lista de tareas"."""
    _, phrase = strip_name_prefix(sentence)
    phrase = _FOREIGN_ARTICLE.sub("", _FOREIGN_LEAD.sub("", phrase.strip()))
    return _FOREIGN_CUT.sub("", phrase).strip()
