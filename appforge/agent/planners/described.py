"""Fields described by what they hold rather than named: "the date I finished it" -> finished_on
(a date), "how many pages it has" -> pages (an integer), "how much I paid" -> amount_paid
(money), "whether I liked it" -> liked (yes/no), "who recommended it" -> recommended_by, "where I
bought it" -> bought_where. People describe a field this way far more often than they name it.
"""

from __future__ import annotations

import re

from appforge.agent.planners.fields import field_from_phrase
from appforge.spec import EntityField, FieldType

_SUBJECT = r"(?:i|we|you|it|they|he|she|someone|people)"
#: "... it has", "... I paid for it": the clause's own subject and verb add nothing to the name.
_TRAILING_CLAUSE = re.compile(
    rf"\s+{_SUBJECT}\s+(?:has|have|had|is|are|was|were|got|gets|contains|holds|takes|took)\b.*$"
    r"|\s+(?:it|them|for it|for them|in it|of it)$",
    re.IGNORECASE,
)
_HOW_MUCH_PAID = re.compile(rf"^how much\s+{_SUBJECT}\s+(?P<verb>paid|spent|pay|spend)\b",
                            re.IGNORECASE)
_HOW_MUCH_COST = re.compile(r"^how much\s+(?:it|they|this|that)\s+(?:cost|costs|costed)\b",
                            re.IGNORECASE)
_WHO = re.compile(rf"^(?:the person\s+)?who\s+(?P<verb>[a-z]+ed|wrote|made|gave|sent|told|took)"
                  rf"(?:\s+(?:it|them|me|us))?(?:\s+to\s+{_SUBJECT})?$", re.IGNORECASE)
_WHERE = re.compile(rf"^(?:the place\s+)?where\s+{_SUBJECT}\s+(?P<verb>[a-z]+)"
                    r"(?:\s+(?:it|them))?$", re.IGNORECASE)
_HOW_MANY_DONE = re.compile(
    rf"^how many (?P<noun>[a-z]+) {_SUBJECT} (?:have |has |had )?"
    r"(?!(?:has|have|had|is|are|was|were|got|gets|contains|holds)\b)(?P<verb>[a-z]+(?:ed|en)|read|run|seen|done)"
    r"(?: it| them)?$", re.IGNORECASE)
_PAST = {"wrote": "written", "made": "made", "gave": "given", "sent": "sent", "told": "told",
         "took": "taken", "pay": "paid", "spend": "spent"}


def field_from_description(phrase: str) -> EntityField | None:
    """A typed field from what it holds, in English; None if the words name nothing."""
    text = re.sub(r"\s+", " ", phrase.strip(" .,;:!?\"'")).strip()
    text = re.sub(r"^(?:the|a|an)\s+(?=(?:date|day|number|amount|time)\b)", "", text,
                  flags=re.IGNORECASE)
    if match := _HOW_MUCH_PAID.match(text):
        verb = _PAST.get(match["verb"].lower(), match["verb"].lower())
        return _typed(f"amount {verb}", FieldType.money)
    if _HOW_MUCH_COST.match(text):
        return _typed("cost", FieldType.money)
    if match := _WHO.match(text):
        verb = match["verb"].lower()
        return _typed(f"{_PAST.get(verb, verb)} by", FieldType.text)
    if match := _WHERE.match(text):
        return _typed(f"{match['verb'].lower()} where", FieldType.text)
    if match := _HOW_MANY_DONE.match(text):  # "how many times I have read it": times_read
        return _typed(f"{match['noun']} {match['verb']}", FieldType.integer)
    if re.match(r"^(?:how many|how much|whether|if)\b", text, re.IGNORECASE):
        text = _TRAILING_CLAUSE.sub("", text)
    elif re.match(r"^(?:date|day|when)\b", text, re.IGNORECASE):
        text = re.sub(r"\s+(?:it|them)$", "", text)
    return field_from_phrase(text)


def _typed(words: str, ftype: FieldType) -> EntityField | None:
    found = field_from_phrase(words)
    return found.model_copy(update={"type": ftype}) if found else None
