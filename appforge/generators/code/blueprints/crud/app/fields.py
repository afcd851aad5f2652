"""Field types: how each kind of field is validated, stored (SQLite or Postgres) and shown on a page.

The pydantic models in entities.py are built from the types here, and EntityDef/FieldDef describe
the same fields for the code that is generic over entities (storage, forms, pages).

The types accept exactly what the OpenAPI document says they do, so a client (or Schemathesis) can
trust it: numbers, booleans and dates must arrive as the JSON types they are (no ``true`` for 1, no
"3" for 3), integers stay within what every JSON client reads exactly (well inside the 64 bits
SQLite stores), text may not be blank and its length is counted as sent, before the spaces around
it are trimmed. Patterns are read by Python's ``re`` (:data:`STRICT` sets it), as the JSON Schema
tools written in Python read them.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
import sys
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

TEXT_MAX = 200
LONG_TEXT_MAX = 10_000
#: The largest integer a JSON number carries exactly to every client (JavaScript's, RFC 7493's).
#: Bounds near 2**63 would not do: tools that compare in floats misjudge integers next to them.
INT_MAX = 2**53 - 1
FLOAT_MAX = sys.float_info.max
#: Money is stored as whole cents in a 64-bit integer; twelve digits are plenty and stay exact
#: as JSON numbers (binary floats) too.
MONEY_MAX = decimal.Decimal("9999999999.99")
CENT = decimal.Decimal("0.01")
#: At least one character that is not a space ("   " is not a name), and no NUL character: text
#: is the same in SQLite and Postgres, and Postgres text cannot hold NUL. Written as leading
#: spaces, the first other character, then the rest (not "anything, one non-space, anything"):
#: the same strings, but a validator that bounds each repetition by the length limit (as
#: Schemathesis does, 10,000 for long text) matches it in a millisecond, not in most of a second.
NOT_BLANK = r"^\s*[^\x00\s][^\x00]*$"
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
#: http(s), a host without spaces, brackets or user info, then anything printable.
URL_PATTERN = r"^https?://[^\s/?#@\[\]\\\x00-\x1f\x7f]+(?:[/?#][^\s\x00-\x1f\x7f]*)?$"
#: Five to twenty digits, optionally after a "+", with spaces, dots, slashes, dashes or brackets.
PHONE_PATTERN = r"^\+?(?:[ ()./-]*[0-9]){5,20}[ ()./-]*$"
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: The configuration of every model a client's data goes through.
STRICT = ConfigDict(extra="forbid", regex_engine="python-re", protected_namespaces=())


def trimmed(max_length: int, pattern: str = NOT_BLANK) -> Any:
    """Text of 1 to ``max_length`` characters matching ``pattern``, stored without outer spaces."""
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length, pattern=pattern),
        AfterValidator(str.strip),
    ]


Text = trimmed(TEXT_MAX)
LongText = trimmed(LONG_TEXT_MAX)
Email = trimmed(254, EMAIL_PATTERN)
Url = trimmed(2000, URL_PATTERN)
Phone = trimmed(40, PHONE_PATTERN)
Boolean = Annotated[bool, Field(strict=True)]


def _whole(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; ``true`` and ``"3"`` are none."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def integer(low: float | None = None, high: float | None = None) -> Any:
    """A whole number (not ``true``, not ``"3"``) within the bounds and within ``INT_MAX``."""
    ge = -INT_MAX if low is None else max(-INT_MAX, math.ceil(low))
    le = INT_MAX if high is None else min(INT_MAX, math.floor(high))
    return Annotated[int, Field(strict=True, ge=ge, le=le), BeforeValidator(_whole)]


def number(low: float | None = None, high: float | None = None) -> Any:
    """A finite JSON number within the bounds."""
    ge = -FLOAT_MAX if low is None else low
    le = FLOAT_MAX if high is None else high
    return Annotated[float, Field(strict=True, allow_inf_nan=False, ge=ge, le=le)]


def _date_text(value: Any) -> Any:
    """Dates come as ``YYYY-MM-DD`` text (a form's, or JSON's ``format: date``), nothing else."""
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if not isinstance(value, str) or not _DATE_TEXT.fullmatch(value):
        raise PydanticCustomError("date_type", "Input should be a date like 2024-05-31")
    return value


Date = Annotated[datetime.date, BeforeValidator(_date_text)]


def money(low: float | None = None, high: float | None = None) -> Any:
    """An amount as a JSON number, rounded to the cent (from a form: a Decimal, 2 places at most).

    JSON numbers are binary floats to most clients (0.57 arrives as 0.5700000000000001), so
    rounding to the cent is the honest reading of one; the bounds are checked before rounding, so
    whatever the document calls out of range is refused.
    """
    ge = -MONEY_MAX if low is None else max(-MONEY_MAX, _cents(low, decimal.ROUND_CEILING))
    le = MONEY_MAX if high is None else min(MONEY_MAX, _cents(high, decimal.ROUND_FLOOR))

    def check(value: Any) -> decimal.Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
            raise PydanticCustomError("decimal_type", "Input should be a number")
        if isinstance(value, float) and not math.isfinite(value) or (
            isinstance(value, decimal.Decimal) and not value.is_finite()
        ):
            raise PydanticCustomError("finite_number", "Input should be a finite number")
        exact = decimal.Decimal(value)
        if exact < ge:
            raise PydanticCustomError(
                "greater_than_equal", "Input should be greater than or equal to {ge}", {"ge": ge}
            )
        if exact > le:
            raise PydanticCustomError(
                "less_than_equal", "Input should be less than or equal to {le}", {"le": le}
            )
        places = -int(value.as_tuple().exponent) if isinstance(value, decimal.Decimal) else 0
        if places > 2:
            raise PydanticCustomError(
                "decimal_max_places",
                "Decimal input should have no more than {decimal_places} decimal places",
                {"decimal_places": 2},
            )
        return exact.quantize(CENT, decimal.ROUND_HALF_EVEN)

    schema = {"type": "number", "minimum": float(ge), "maximum": float(le)}
    return Annotated[decimal.Decimal, BeforeValidator(check), WithJsonSchema(schema)]


def _cents(bound: float, rounding: str) -> decimal.Decimal:
    """A bound from the spec as whole cents, rounded inward, so rounding a value never passes it."""
    return decimal.Decimal(str(bound)).quantize(CENT, rounding)


def without_default(schema: dict[str, Any]) -> None:
    """For a field a patch may leave out but not set to null: its absence is no value."""
    schema.pop("default", None)


#: SQLite column type per field type (app/db_postgres.py maps them to Postgres types). Money is
#: stored as whole cents, so sums are exact.
SQL_TYPES = {
    "text": "TEXT",
    "long_text": "TEXT",
    "integer": "INTEGER",
    "decimal": "REAL",
    "money": "INTEGER",
    "boolean": "INTEGER",
    "date": "TEXT",
    "email": "TEXT",
    "url": "TEXT",
    "phone": "TEXT",
    "rating": "INTEGER",
    # An uploaded file's metadata as JSON text; the file itself is under $DATA_DIR/uploads.
    "image": "TEXT",
    "file": "TEXT",
}
SEARCHABLE_TYPES = frozenset({"text", "long_text", "email", "url", "phone"})
#: Fields whose value is an uploaded file: not part of a JSON body, sent on their own URL.
UPLOAD_TYPES = frozenset({"image", "file"})


class FileInfo(BaseModel):
    """An uploaded file as a record shows it; the file itself is at ``url``."""

    name: str = Field(description="The file's name as it was uploaded")
    size: int = Field(ge=0, description="Its size in bytes")
    type: str = Field(description="Its media type (checked from its content for pictures)")
    url: str = Field(description="Where to download it (PUT a new one there, DELETE it there)")


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str
    type: str
    required: bool
    min: int | float | None = None
    max: int | float | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def is_upload(self) -> bool:
        return self.type in UPLOAD_TYPES

    def to_db(self, value: Any) -> Any:
        """A validated value as the database stores it (SQLite and Postgres alike)."""
        if value is None:
            return None
        if self.type == "money":
            return int((decimal.Decimal(value) * 100).to_integral_value(decimal.ROUND_HALF_EVEN))
        if self.type == "boolean":
            return 1 if value else 0
        if self.type == "date":
            return value.isoformat()
        if self.is_upload:
            return json.dumps(value, sort_keys=True)
        return value

    def from_db(self, value: Any) -> Any:
        """A stored value as the app uses it (Decimal money, real dates and booleans)."""
        if value is None:
            return None
        if self.type == "money":
            return decimal.Decimal(int(value)).scaleb(-2)
        if self.type == "boolean":
            return bool(value)
        if self.type == "date":
            return datetime.date.fromisoformat(value)
        if self.type == "decimal":
            return float(value)
        if self.is_upload:
            return json.loads(value)
        return value


@dataclass(frozen=True)
class EntityDef:
    name: str
    plural: str
    label: str
    label_plural: str
    fields: tuple[FieldDef, ...]
    #: Validates a whole record (create, replace, and forms).
    model: type[BaseModel]

    @property
    def table(self) -> str:
        return self.plural

    @property
    def title_field(self) -> FieldDef | None:
        """The field that names a record in lists and headings: the first short text field."""
        return next((f for f in self.fields if f.type == "text"), None)

    @property
    def columns(self) -> tuple[FieldDef, ...]:
        """The fields a list shows: up to five, long texts left for the record's own page."""
        return tuple(f for f in self.fields if f.type != "long_text")[:5] or self.fields[:1]

    @property
    def data_fields(self) -> tuple[FieldDef, ...]:
        """The fields a JSON body or a form's text carries: all but the uploads."""
        return tuple(f for f in self.fields if not f.is_upload)

    @property
    def upload_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.is_upload)

    @property
    def searchable(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.type in SEARCHABLE_TYPES)

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def title(self, record: dict[str, Any]) -> str:
        field = self.title_field
        value = record.get(field.name) if field else None
        return str(value) if value else f"{self.label} #{record['id']}"
