"""Field types: how each kind of field is validated, stored in SQLite and shown on a page.

The pydantic models in entities.py are built from the types here, and EntityDef/FieldDef describe
the same fields for the code that is generic over entities (storage, forms, pages).
"""

from __future__ import annotations

import datetime
import decimal
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, StringConstraints

TEXT_MAX = 200
LONG_TEXT_MAX = 10_000
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
URL_PATTERN = r"^https?://[^\s/?#@]+(?:[/?#]\S*)?$"
#: Five to twenty digits, optionally after a "+", with spaces, dots, slashes, dashes or brackets.
PHONE_PATTERN = r"^\+?(?:[ ()./-]*[0-9]){5,20}[ ()./-]*$"


def blank_to_none(value: Any) -> Any:
    """An empty or all-space string means "not given" for optional fields."""
    return None if isinstance(value, str) and not value.strip() else value


BlankIsNone = BeforeValidator(blank_to_none)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LONG_TEXT_MAX)
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN)
]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=URL_PATTERN)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40, pattern=PHONE_PATTERN)
]

#: SQLite column type per field type. Money is stored as whole cents, so sums are exact.
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
}
SEARCHABLE_TYPES = frozenset({"text", "long_text", "email", "url", "phone"})


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

    def to_db(self, value: Any) -> Any:
        """A validated value as SQLite stores it."""
        if value is None:
            return None
        if self.type == "money":
            return int((decimal.Decimal(value) * 100).to_integral_value(decimal.ROUND_HALF_EVEN))
        if self.type == "boolean":
            return 1 if value else 0
        if self.type == "date":
            return value.isoformat()
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
    def searchable(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.type in SEARCHABLE_TYPES)

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    def title(self, record: dict[str, Any]) -> str:
        field = self.title_field
        value = record.get(field.name) if field else None
        return str(value) if value else f"{self.label} #{record['id']}"
