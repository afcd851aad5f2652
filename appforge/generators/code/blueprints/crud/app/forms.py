"""HTML forms: from posted strings to a validated record, and from pydantic errors to sentences.

Forms validate with the same pydantic model as the JSON API, so both accept exactly the same
records: the posted text of a number is read as the number a JSON client would send (text that is
no number stays text, and the model says what is wrong with it). What the user typed is kept as
typed, to be shown again next to the messages. The messages are in the app's language
(``validation.*`` in app/locale/).
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import UploadFile

from app import i18n
from app.fields import EntityDef, FieldDef

TRUE_WORDS = frozenset({"on", "true", "1", "yes"})
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")


def posted_values(entity: EntityDef, form: Mapping[str, Any]) -> dict[str, str]:
    """The raw text of each field as posted (an unticked checkbox is posted as nothing)."""
    values: dict[str, str] = {}
    for field in entity.fields:
        value = form.get(field.name)
        values[field.name] = value if isinstance(value, str) else ""
    return values


def posted_files(entity: EntityDef, form: Mapping[str, Any]) -> dict[str, UploadFile]:
    """The files chosen in the form's file inputs (an input left empty posts no file)."""
    files: dict[str, UploadFile] = {}
    for field in entity.upload_fields:
        value = form.get(field.name)
        if isinstance(value, UploadFile) and value.filename:
            files[field.name] = value
    return files


def removed_files(entity: EntityDef, form: Mapping[str, Any]) -> set[str]:
    """The optional file fields whose "Remove" box is ticked."""
    return {
        f.name for f in entity.upload_fields
        if not f.required and str(form.get(f"{f.name}-remove", "")).lower() in TRUE_WORDS
    }


def missing_files(
    entity: EntityDef, files: dict[str, UploadFile], current: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """A message for each required file field that has no file and gets none."""
    return {
        f.name: i18n.t("validation.required", label=f.label)
        for f in entity.upload_fields
        if f.required and f.name not in files and not (current or {}).get(f.name)
    }


def parse(entity: EntityDef, raw: dict[str, str]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """``(record, {})`` when the posted values are valid, else ``(None, {field: message})``."""
    data: dict[str, Any] = {}
    for field in entity.data_fields:
        text = raw.get(field.name, "").strip()
        if field.type == "boolean":
            data[field.name] = True if text.lower() in TRUE_WORDS else (text or False)
        elif text:
            data[field.name] = typed(field, text)
    try:
        return entity.model.model_validate(data).model_dump(by_alias=True), {}
    except ValidationError as exc:
        return None, messages(entity, exc)


def typed(field: FieldDef, text: str) -> Any:
    """``text`` as the value a JSON client would send for ``field``; itself when it is no number."""
    if field.type in ("integer", "rating"):
        return int(text) if _WHOLE_NUMBER.fullmatch(text) else text
    if field.type == "decimal":
        try:
            number = float(text)
        except ValueError:
            return text
        return number if math.isfinite(number) else text
    if field.type == "money":
        try:
            return decimal.Decimal(text)
        except decimal.InvalidOperation:
            return text
    return text


def form_values(entity: EntityDef, record: dict[str, Any]) -> dict[str, str]:
    """A stored record as the text its form inputs start with."""
    values: dict[str, str] = {}
    for field in entity.fields:
        value = record.get(field.name)
        if value is None or field.is_upload:
            values[field.name] = ""
        elif field.type == "boolean":
            values[field.name] = "on" if value else ""
        elif field.type == "money":
            values[field.name] = f"{value:.2f}"
        elif isinstance(value, datetime.date):
            values[field.name] = value.isoformat()
        elif isinstance(value, float):
            values[field.name] = repr(value).removesuffix(".0")
        else:
            values[field.name] = str(value)
    return values


def messages(entity: EntityDef, exc: ValidationError) -> dict[str, str]:
    """The first problem with each field, as a sentence for the person filling in the form."""
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        field = entity.field(name)
        if field is not None and name not in found:
            found[name] = message(field, error)
    return found


def _number(value: Any) -> str:
    """A bound as people of the app's language write it ("0,5" in German)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, decimal.Decimal):
        return i18n.decimal_text(format(value.normalize(), "f"))
    return i18n.decimal_text(str(value))


def _range(field: FieldDef) -> str:
    low, high = field.min, field.max
    if low is not None and high is not None:
        return i18n.t("validation.between", low=_number(low), high=_number(high))
    if low is not None:
        return i18n.t("validation.at_least", low=_number(low))
    if high is not None:
        return i18n.t("validation.at_most", high=_number(high))
    return i18n.t("validation.out_of_range")


#: The message for each kind of pydantic error that needs no numbers (keys in app/locale/).
_MESSAGES = {
    "int_parsing": "whole_number", "int_from_float": "whole_number", "int_type": "whole_number",
    "float_parsing": "number", "decimal_parsing": "number", "finite_number": "number",
    "float_type": "number", "decimal_type": "number",
    "decimal_max_places": "cents",
    "decimal_max_digits": "too_large", "decimal_whole_digits": "too_large",
}
_PATTERNS = {"email": "email", "url": "url", "phone": "phone"}


def message(field: FieldDef, error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    blank = kind == "string_pattern_mismatch" and field.type in ("text", "long_text")
    if kind in ("missing", "string_too_short") or blank:
        return i18n.t("validation.required", label=field.label)
    if kind == "string_too_long":
        return i18n.t("validation.too_long", max=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return i18n.t(f"validation.{_PATTERNS.get(field.type, 'format')}")
    if kind in _MESSAGES:
        return i18n.t(f"validation.{_MESSAGES[kind]}")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        if field.type == "rating":
            return i18n.t("validation.rating", low=_number(field.min), high=_number(field.max))
        return _range(field)
    if kind.startswith("date"):
        return i18n.t("validation.date")
    if kind.startswith("bool"):
        return i18n.t("validation.boolean")
    return i18n.t("validation.invalid")
