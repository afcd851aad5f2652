"""Keeping what is valid in a weak model's plan.

Small models answer with prose around the JSON, stop in the middle of it (a length limit, a
runaway stopped early), repeat an item, invent a kind of app or a field type, or answer ``{}``.
Asking again costs a minute on a laptop and often gets the same, so the answer is read for what
it holds: :func:`find_json` takes the JSON object out of the text (closing a cut-off one after
its last complete item), :func:`clean` drops what cannot be used item by item (a field with an
unknown type becomes text, an invented kind is left to the rules, a repeated item is kept once),
and each step leaves a note saying what it did. The planner fills the rest from the blueprint
reading of the description.
"""

from __future__ import annotations

import json
import keyword
import re
from typing import Any

from appforge.spec import IDENT_RE, RESERVED_FIELDS, FieldType, Kind

_FENCE = re.compile(r"```[\w-]*")
_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)
_NOT_IDENT = re.compile(r"[^a-z0-9_]+")
#: Names small models use for our field types.
TYPE_ALIASES = {"string": "text", "str": "text", "textarea": "long_text", "longtext": "long_text",
                "int": "integer", "number": "decimal", "float": "decimal", "currency": "money",
                "price": "money", "bool": "boolean", "datetime": "date", "stars": "rating",
                "link": "url", "telephone": "phone", "photo": "image", "picture": "image",
                "upload": "file", "attachment": "file", "document": "file", "pdf": "file",
                "varchar": "text", "char": "text", "time": "text", "timestamp": "date"}
_KIND_ALIASES = {"landing page": "landing", "landing_page": "landing", "website": "landing",
                 "crud app": "crud", "tracker": "crud", "database": "crud", "app": "crud",
                 "photos": "gallery", "portfolio": "gallery"}
_TYPES = {t.value for t in FieldType}
_KINDS = {k.value for k in Kind}


class NoJSON(Exception):
    """No JSON object could be read from the answer; the message says why."""


def find_json(text: str) -> tuple[dict[str, Any], list[str]]:
    """The JSON object in ``text`` (fences, prose and thinking around it ignored; a cut-off one
    closed after its last complete item), with notes on what had to be done."""
    notes: list[str] = []
    body = _FENCE.sub("", _THINKING.sub("", text or "")).strip()
    if not body:
        raise NoJSON("the answer was empty")
    start = body.find("{")
    if start < 0:
        raise NoJSON(f"the answer has no JSON object: {body[:80]!r}")
    if body[:start].strip():
        notes.append("read the JSON out of the prose around it")
    try:
        data, end = json.JSONDecoder().raw_decode(body, start)
    except json.JSONDecodeError:
        data = close_cut_off(body[start:])
        if data is None:
            raise NoJSON("the answer's JSON is broken beyond repair") from None
        notes.append("the JSON was cut off or broken; kept it up to its last complete item")
    else:
        if body[end:].strip() and not notes:
            notes.append("read the JSON out of the prose around it")
    if not isinstance(data, dict):
        raise NoJSON(f"the answer is a JSON {type(data).__name__}, not one object")
    return data, notes


def close_cut_off(body: str, tries: int = 200) -> Any:
    """``body``, a JSON document that stops early, cut back to a complete item and closed;
    None when no such cut parses."""
    cuts: list[tuple[int, str]] = []
    stack: list[str] = []
    in_string = escaped = False
    for index, char in enumerate(body):
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
            continue
        if char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
            cuts.append((index + 1, "".join(reversed(stack))))
        elif char in "}]":
            if not stack:
                break
            stack.pop()
            cuts.append((index + 1, "".join(reversed(stack))))
        elif char == ",":
            cuts.append((index, "".join(reversed(stack))))
    for end, closers in reversed(cuts[-tries:]):
        try:
            return json.loads(body[:end] + closers)
        except json.JSONDecodeError:
            continue
    return None


def clean(data: dict[str, Any], fallback_kind: Kind) -> tuple[dict[str, Any], list[str]]:
    """``data`` with what a plan cannot use taken out or made usable, and notes saying what."""
    notes: list[str] = []
    plan = {k: v for k, v in data.items() if not isinstance(v, (list, dict)) or k in (
        "entities", "features", "assets", "file_plan")}
    for key in ("name", "slug", "title", "tagline", "call_to_action", "language", "theme_mode"):
        if key in plan and not isinstance(plan[key], str):
            notes.append(f"ignored the model's {key} ({json.dumps(plan.pop(key))[:40]})")
    kind = str(plan.get("kind") or "").strip().lower()
    kind = _KIND_ALIASES.get(kind, kind)
    if kind not in _KINDS:
        if kind:
            notes.append(f"the model's kind {plan.get('kind')!r} is not one appforge builds; "
                         f"used the rules' kind {fallback_kind.value!r}")
        kind = fallback_kind.value
        plan["_ruled_kind"] = True
    plan["kind"] = kind
    plan["entities"] = _entities(plan.get("entities"), notes)
    for key, required in (("features", ("title", "text")), ("assets", ("role", "name", "prompt")),
                          ("file_plan", ("path", "purpose"))):
        plan[key] = _items(plan.get(key), key, required, notes)
    return plan, notes


def _entities(value: Any, notes: list[str]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = []
    for entity in _once(value, "entities", notes):
        name = _ident(entity.get("name"))
        if not name or any(e["name"] == name for e in entities):
            notes.append(f"dropped an entity with no usable name ({entity.get('name')!r})")
            continue
        fields = [f for f in (_field(name, raw, notes) for raw in
                              _once(entity.get("fields"), f"{name}'s fields", notes)) if f]
        unique = list({f["name"]: f for f in reversed(fields)}.values())[::-1]
        entities.append({**{k: v for k, v in entity.items() if isinstance(v, str)},
                         "name": name, "plural": _ident(entity.get("plural")) or "",
                         "fields": unique})
    return entities


def _field(entity: str, raw: dict[str, Any], notes: list[str]) -> dict[str, Any] | None:
    name = _ident(raw.get("name"))
    if not name or name in RESERVED_FIELDS:
        notes.append(f"dropped the field {raw.get('name')!r} of {entity} (every record already "
                     "has id and dates)" if name in RESERVED_FIELDS else
                     f"dropped a field of {entity} with no usable name ({raw.get('name')!r})")
        return None
    kind = str(raw.get("type") or "text").strip().lower().replace(" ", "_")
    kind = TYPE_ALIASES.get(kind, kind)
    if kind not in _TYPES:
        notes.append(f"{entity}.{name}: the type {raw.get('type')!r} is not one appforge has; "
                     "made it text")
        kind = "text"
    field: dict[str, Any] = {"name": name, "type": kind,
                             "label": raw["label"] if isinstance(raw.get("label"), str) else "",
                             "required": raw.get("required") is not False}
    bounds = {k: raw.get(k) for k in ("min", "max")
              if isinstance(raw.get(k), (int, float)) and not isinstance(raw.get(k), bool)}
    if kind in ("integer", "decimal", "money", "rating") and (
            len(bounds) < 2 or bounds["min"] <= bounds["max"]):
        field.update(bounds)
    return field


def _items(value: Any, what: str, required: tuple[str, ...],
           notes: list[str]) -> list[dict[str, Any]]:
    kept = []
    for item in _once(value, what, notes):
        if all(isinstance(item.get(k), str) and item[k].strip() for k in required):
            kept.append(item)
        else:
            notes.append(f"dropped an item of {what} without {' and '.join(required)}")
    if what == "assets":
        kept = [a for a in kept if a["role"] in ("logo", "hero", "gallery", "feature",
                                                 "background")
                and a.get("kind", "image") in ("image", "video")]
    return kept


def _once(value: Any, what: str, notes: list[str]) -> list[dict[str, Any]]:
    """The objects of a list, each once (a model stuck in a loop repeats one)."""
    if not isinstance(value, list):
        return []
    seen: set[str] = set()
    kept = []
    for item in value:
        if not isinstance(item, dict):
            continue
        key = json.dumps(item.get("name") or item.get("title") or item.get("path") or item,
                         sort_keys=True)
        if key not in seen:
            seen.add(key)
            kept.append(item)
    repeated = sum(isinstance(i, dict) for i in value) - len(kept)
    if repeated:
        notes.append(f"dropped {repeated} repeated item{'s' if repeated > 1 else ''} of {what}")
    return kept


def _ident(value: Any) -> str:
    """``value`` as a lowercase identifier ("Days between waterings" -> days_between_waterings);
    "" when nothing usable is left."""
    if not isinstance(value, str):
        return ""
    ident = _NOT_IDENT.sub("_", value.strip().lower()).strip("_")[:40].rstrip("_")
    if ident[:1].isdigit():
        ident = f"n_{ident}"[:40]
    if not IDENT_RE.match(ident) or keyword.iskeyword(ident):
        return ""
    return ident
