"""The values blueprints render with: the spec, a readable palette, and normalised fields.

Blueprints stay simple because the decisions are made here once: which text colour goes on the
primary colour, whether a "dark" theme really has a dark background, which whole-number bounds an
integer field gets when the spec says ``min: 1.5``, and that a count, a price or a length is never
negative when the spec gives no lower bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from appforge.errors import InvalidInput
from appforge.spec import AppSpec, Entity, EntityField, FieldType

#: Backgrounds used when a theme's mode and its colours disagree.
_DARK_BASE = {"background": "#0b1120", "surface": "#131c2e", "text": "#e5e7eb", "muted": "#9ca3af"}
_LIGHT_BASE = {"background": "#f8fafc", "surface": "#ffffff", "text": "#0f172a", "muted": "#5b6474"}
_INK = {"light": "#ffffff", "dark": "#0b1120"}
#: Names a generated model's class body already uses: a field by one of these names gets a
#: Python attribute with a trailing underscore and keeps its own name as the pydantic alias.
_MODULE_NAMES = frozenset({"datetime", "decimal", "typing", "pydantic", "fields"})
#: Words in a number field's name that say it counts, measures or prices something: such a field
#: starts at 0 unless the spec says otherwise ("stock_count", "price", "frame_size_cm").
#: Balances, amounts, temperatures, scores and coordinates may go below zero.
_NEVER_NEGATIVE = frozenset({
    "count", "number", "quantity", "qty", "stock", "units", "copies", "servings", "pages", "reps",
    "sets", "calories", "guests", "seats", "rooms", "visits", "laps", "episodes", "chapters",
    "attendees", "capacity", "population", "age", "streak", "times",
    "seconds", "minutes", "hours", "days", "weeks", "months", "duration",
    "price", "cost", "fee", "rent", "salary", "wage", "tip", "budget", "tax", "subtotal",
    "deposit", "expense", "spend", "spent", "spending", "revenue", "income",
    "weight", "height", "length", "width", "depth", "distance", "size", "volume", "speed",
    "km", "miles", "kg", "lbs", "cm", "mm", "grams", "litres", "liters", "ml",
})


@dataclass(frozen=True)
class FieldView:
    """One entity field as the templates need it: bounds already fitted to the type."""

    name: str
    label: str
    type: str
    required: bool
    min: int | float | None
    max: int | float | None

    @property
    def attr(self) -> str:
        """The Python attribute in the generated models (``name`` unless that would clash)."""
        clashes = (
            self.name in _MODULE_NAMES
            or self.name.startswith("model_")
            or hasattr(BaseModel, self.name)
        )
        return f"{self.name}_" if clashes else self.name


@dataclass(frozen=True)
class EntityView:
    name: str
    plural: str
    label: str
    label_plural: str
    fields: tuple[FieldView, ...]

    @property
    def class_name(self) -> str:
        """``garden_bed`` -> ``GardenBed``: the stem of the entity's pydantic model names."""
        return "".join(part.capitalize() for part in self.name.split("_"))


def build_context(spec: AppSpec) -> dict[str, Any]:
    """Everything a blueprint may read."""
    entities = [entity_view(entity) for entity in spec.entities]
    _check_class_names(entities)
    return {"spec": spec, "palette": palette(spec), "entities": entities}


def _check_class_names(entities: list[EntityView]) -> None:
    """Each entity gets three model classes; refuse specs where two entities would share one."""
    seen: dict[str, str] = {}
    for entity in entities:
        for suffix in ("", "In", "Patch"):
            name = entity.class_name + suffix
            if name in seen:
                raise InvalidInput(
                    f"entities {seen[name]!r} and {entity.name!r} would both make a class {name}; "
                    "rename one of them"
                )
            seen[name] = entity.name


def entity_view(entity: Entity) -> EntityView:
    return EntityView(
        name=entity.name,
        plural=entity.plural,
        label=entity.label,
        label_plural=entity.label_plural,
        fields=tuple(field_view(field) for field in entity.fields),
    )


def field_view(field: EntityField) -> FieldView:
    low, high = field.min, field.max
    numeric = (FieldType.integer, FieldType.decimal, FieldType.money)
    if field.type in numeric and low is None and _NEVER_NEGATIVE & set(field.name.split("_")):
        low = 0 if high is None or high >= 0 else None
    if field.type in (FieldType.integer, FieldType.rating):
        low = math.ceil(low) if low is not None else None
        high = math.floor(high) if high is not None else None
        if low is not None and high is not None and low > high:
            high = low
    return FieldView(
        name=field.name,
        label=field.label,
        type=field.type.value,
        # A checkbox always has a value (unticked is False), so it is never "required".
        required=field.required and field.type != FieldType.boolean,
        min=low,
        max=high,
    )


def palette(spec: AppSpec) -> dict[str, str]:
    """The theme's colours plus derived ones, readable in the theme's mode."""
    theme = spec.theme
    colours = theme.model_dump(exclude={"mode"})
    background_is_dark = luminance(colours["background"]) < 0.35
    if theme.mode == "dark" and not background_is_dark:
        colours.update(_DARK_BASE)
    elif theme.mode == "light" and background_is_dark:
        colours.update(_LIGHT_BASE)
    dark = theme.mode == "dark"
    colours["mode"] = theme.mode
    colours["on_primary"] = best_ink(colours["primary"])
    colours["on_accent"] = best_ink(colours["accent"])
    colours["link"] = readable(colours["primary"], colours["surface"], colours["text"])
    colours["muted"] = readable(colours["muted"], colours["surface"], colours["text"])
    colours["danger"] = "#f87171" if dark else "#b91c1c"
    colours["success"] = "#4ade80" if dark else "#15803d"
    # Tints are mixed here rather than with CSS color-mix(), so older browsers get them too.
    surface, text = colours["surface"], colours["text"]
    colours["border"] = mix(surface, text, 0.13)
    colours["border_strong"] = mix(surface, text, 0.28)
    colours["subtle"] = mix(surface, text, 0.04)
    colours["primary_soft"] = mix(surface, colours["primary"], 0.14)
    colours["accent_soft"] = mix(surface, colours["accent"], 0.18)
    colours["danger_soft"] = mix(surface, colours["danger"], 0.12)
    colours["success_soft"] = mix(surface, colours["success"], 0.14)
    colours["primary_strong"] = mix(colours["primary"], "#000000", 0.15)
    return colours


def luminance(colour: str) -> float:
    """Relative luminance of ``#rrggbb`` (WCAG 2)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def best_ink(background: str) -> str:
    """White or near-black, whichever reads better on ``background``."""
    light, dark = _INK["light"], _INK["dark"]
    return light if contrast(light, background) >= contrast(dark, background) else dark


def readable(colour: str, background: str, toward: str, ratio: float = 4.5) -> str:
    """``colour`` mixed step by step toward ``toward`` until it reaches ``ratio`` on ``background``."""
    for step in range(11):
        mixed = mix(colour, toward, step / 10)
        if contrast(mixed, background) >= ratio:
            return mixed
    return toward


def mix(a: str, b: str, amount: float) -> str:
    """``a`` moved ``amount`` (0..1) of the way to ``b``."""
    channels = []
    for i in (1, 3, 5):
        start, end = int(a[i : i + 2], 16), int(b[i : i + 2], 16)
        channels.append(round(start + (end - start) * amount))
    return "#" + "".join(f"{c:02x}" for c in channels)
