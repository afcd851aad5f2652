"""Reads a language model's answer into an AppSpec, or says precisely why it cannot.

The model fills a :class:`PlanDraft`, a simpler shape than :class:`~appforge.spec.AppSpec` (no
colours, sizes or seeds). :func:`read_answer` parses and checks the answer text and raises
:class:`UnusableAnswer` with one line per problem, which the planner sends back to the model.
:func:`to_spec` turns a draft into an AppSpec, filling what the model left out from the blueprint
planner's reading of the same description and noting each gap it filled.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from appforge.agent.planners.assets import asset_seed
from appforge.agent.planners.inflect import plural
from appforge.agent.planners.naming import make_slug, noun_label
from appforge.errors import InvalidDomain
from appforge.spec import (
    SLUG_RE,
    AppSpec,
    FieldType,
    Kind,
    PlannedFile,
    validate_domain,
)

#: An item may appear this often in one list; more is a model stuck in a loop.
MAX_REPEATS = 3
#: Sizes by asset role, as the blueprint planner makes them.
_IMAGE_SIZES = {"logo": (512, 512), "hero": (1280, 720), "background": (1280, 720),
                "feature": (1024, 576), "gallery": (768, 768)}
_VIDEO_SIZE, _VIDEO_SECONDS = (960, 540), 4.0
#: Names small models use for our field types.
_TYPE_ALIASES = {"string": "text", "str": "text", "textarea": "long_text", "longtext": "long_text",
                 "int": "integer", "number": "decimal", "float": "decimal", "currency": "money",
                 "price": "money", "bool": "boolean", "datetime": "date", "stars": "rating",
                 "link": "url", "telephone": "phone", "photo": "image", "picture": "image",
                 "upload": "file", "attachment": "file", "document": "file", "pdf": "file"}
_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?|\n?\s*```\s*$")
_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL)
_LOOP = re.compile(r"(.{6,200}?)(?:\s*\1){3,}", re.DOTALL)


class UnusableAnswer(Exception):
    """The model's answer cannot be used; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Draft(BaseModel):
    # Models add keys of their own; ignoring them costs nothing, retrying for them costs a call.
    model_config = ConfigDict(extra="ignore")


class DraftField(_Draft):
    name: str
    label: str = ""
    type: FieldType = FieldType.text
    required: bool = True
    min: float | None = None
    max: float | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower().replace(" ", "_")
            return _TYPE_ALIASES.get(value, value)
        return value


class DraftEntity(_Draft):
    name: str
    plural: str = ""
    label: str = ""
    label_plural: str = ""
    fields: list[DraftField] = Field(default_factory=list)


class DraftAsset(_Draft):
    kind: Literal["image", "video"] = "image"
    role: Literal["logo", "hero", "gallery", "feature", "background"]
    name: str
    prompt: str
    alt: str = ""


class DraftFeature(_Draft):
    title: str
    text: str
    icon: str = "star"


class PlanDraft(_Draft):
    """The plan as the model writes it; :func:`to_spec` makes the AppSpec."""

    name: str
    slug: str = ""
    title: str = ""
    tagline: str = ""
    kind: Kind
    entities: list[DraftEntity] = Field(default_factory=list)
    features: list[DraftFeature] = Field(default_factory=list)
    assets: list[DraftAsset] = Field(default_factory=list)
    call_to_action: str = ""
    language: str = ""
    domain: str | None = None
    theme_mode: str = ""
    #: For kind "custom": the files to write and what each is for.
    file_plan: list[PlannedFile] = Field(default_factory=list)


def plan_schema() -> dict[str, Any]:
    """The JSON schema the model is asked to follow."""
    return PlanDraft.model_json_schema()


def read_answer(text: str | None, finish_reason: str | None) -> PlanDraft:
    """The draft in a model's answer; UnusableAnswer listing every problem found."""
    text = _THINKING.sub("", text or "").strip()
    if finish_reason == "length":
        raise UnusableAnswer([_cut_off(text, "the answer was cut off at the length limit "
                                             "(finish_reason 'length')")])
    if not text:
        raise UnusableAnswer(["the answer was empty; answer with the JSON plan"])
    data = _parse_json(text)
    problems = _repeats(data)
    if problems:
        raise UnusableAnswer(problems)
    try:
        draft = PlanDraft.model_validate(data)
    except ValidationError as exc:
        raise UnusableAnswer(_errors(exc)) from None
    problems = _check(draft)
    if problems:
        raise UnusableAnswer(problems)
    return draft


def to_spec(draft: PlanDraft, description: str, base: AppSpec) -> tuple[AppSpec, list[str]]:
    """The AppSpec for ``draft``, gaps filled from ``base`` (the blueprint's plan), and notes
    saying what was filled; UnusableAnswer when the result breaks an AppSpec rule."""
    notes: list[str] = []

    def filled(value: Any, fallback: Any, what: str) -> Any:
        if value:
            return value
        notes.append(f"filled {what} from the blueprint planner")
        return fallback

    name = filled(draft.name.strip(), base.name, "the name")
    slug = draft.slug.strip().lower()
    if not SLUG_RE.match(slug):
        slug = make_slug(name, description)
        notes.append(f"made the slug {slug!r} from the name")
    entities = _entities(draft) if draft.kind == Kind.crud else []
    if draft.entities and draft.kind != Kind.crud:
        notes.append(f"dropped the entities the model planned for a {draft.kind.value} app")
    notes.append("filled the theme colours from the blueprint planner")
    features: list[Any] = [f.model_dump() for f in draft.features]
    if draft.kind == Kind.landing:
        features = filled(features, base.features, "the features")
    language = draft.language.strip().lower()
    if not re.fullmatch(r"[a-z]{2}", language):
        language = filled("", base.language, "the language")
    try:
        spec = AppSpec(
            name=name,
            slug=slug,
            title=draft.title.strip() or name,
            tagline=filled(draft.tagline.strip(), base.tagline, "the tagline"),
            description=description,
            kind=draft.kind,
            entities=entities,
            theme=base.theme,
            assets=_assets(draft, slug, base, notes),
            features=features,
            call_to_action=filled(draft.call_to_action.strip(), base.call_to_action,
                                  "the call to action"),
            domain=_domain(draft.domain, description) or base.domain,
            language=language,
            file_plan=draft.file_plan if draft.kind == Kind.custom else [],
        )
    except ValidationError as exc:
        raise UnusableAnswer(_errors(exc)) from None
    return spec, notes


def _parse_json(text: str) -> Any:
    body = _FENCE.sub("", text).strip()
    if not body.startswith(("{", "[")) and "{" in body:
        body = body[body.index("{"):body.rindex("}") + 1] if "}" in body else body[body.index("{"):]
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        if _unclosed(body):
            raise UnusableAnswer([_cut_off(body, "the JSON is cut off (truncated)")]) from None
        raise UnusableAnswer([f"the answer is not valid JSON: {exc}"]) from None
    if not isinstance(data, dict):
        raise UnusableAnswer([f"the answer is a JSON {type(data).__name__}, not one JSON object"])
    return data


def _unclosed(body: str) -> bool:
    """Whether the text ends inside a string or with brackets still open: a cut-off document."""
    depth, in_string, escaped = 0, False, False
    for char in body:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
    return in_string or depth > 0


def _cut_off(text: str, what: str) -> str:
    loop = _LOOP.search(text[-3000:])
    if loop:
        return f"{what}: it repeats {loop.group(1).strip()[:60]!r} over and over; stop repeating"
    return f"{what}; make the plan shorter: fewer fields, features and assets"


def _repeats(data: Any, path: str = "plan") -> list[str]:
    """Lists in the answer that hold the same item more than MAX_REPEATS times."""
    problems: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            problems += _repeats(value, f"{path}.{key}")
    elif isinstance(data, list):
        keys = Counter(_item_key(item) for item in data)
        problems += [f"{path} repeats {key!r} {count} times; list each item once"
                     for key, count in keys.items() if count > MAX_REPEATS]
        for index, item in enumerate(data):
            problems += _repeats(item, f"{path}[{index}]")
    return problems


def _item_key(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("name", "title"):
            if isinstance(item.get(key), str):
                return item[key]
    return json.dumps(item, sort_keys=True)[:80]


def _check(draft: PlanDraft) -> list[str]:
    problems: list[str] = []
    if draft.kind == Kind.crud:
        if not draft.entities:
            problems.append("a crud app needs at least one entity in \"entities\"")
        for entity in draft.entities:
            names = [f.name for f in entity.fields]
            if not names:
                problems.append(f"entity {entity.name!r} has no fields; give it at least one")
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                problems.append(f"entity {entity.name!r} repeats fields: {', '.join(dupes)}; "
                                "field names must be unique")
    return problems


def _entities(draft: PlanDraft) -> list[Any]:
    """The model's entities as AppSpec input, labels and plurals made where it left them out."""
    entities = []
    for entity in draft.entities:
        name = entity.name.strip().lower()
        plural_name = entity.plural.strip().lower() or plural(name)
        entities.append({
            "name": name, "plural": plural_name,
            "label": entity.label.strip() or noun_label(name),
            "label_plural": entity.label_plural.strip() or noun_label(plural_name),
            "fields": [dict(f.model_dump(), label=f.label.strip() or noun_label(f.name))
                       for f in entity.fields],
        })
    return entities


def _assets(draft: PlanDraft, slug: str, base: AppSpec, notes: list[str]) -> list[Any]:
    """The model's assets with sizes and seeds; roles it missed come from the blueprint."""
    assets: list[Any] = []
    known = {a.name: a for a in base.assets}
    for asset in draft.assets:
        was = known.get(asset.name)
        if was is not None and was.kind == asset.kind:
            # The same asset (a revised plan keeps it): its size and seed stay, so an unchanged
            # prompt renders from the cache.
            assets.append(was.model_copy(update={
                "prompt": asset.prompt.strip()[:500] or was.prompt, "role": asset.role,
                "alt": asset.alt or was.alt}).model_dump())
            continue
        if asset.kind == "video":
            (width, height), seconds = _VIDEO_SIZE, _VIDEO_SECONDS
        else:
            (width, height), seconds = _IMAGE_SIZES[asset.role], None
        assets.append(dict(asset.model_dump(), prompt=asset.prompt.strip()[:500], width=width,
                           height=height, seconds=seconds, seed=asset_seed(slug, asset.name)))
    roles = {a.role for a in draft.assets}
    names = {a.name for a in draft.assets}
    for role in dict.fromkeys(a.role for a in base.assets):
        if role not in roles:
            added = [a for a in base.assets_with_role(role) if a.name not in names]
            assets += added
            if added:
                notes.append(f"filled the {role} asset{'s' if len(added) > 1 else ''} "
                             "from the blueprint planner")
    return assets


def _domain(domain: str | None, description: str) -> str | None:
    """The model's domain, only when the description names it (models invent domains)."""
    if not domain or domain.lower() not in description.lower():
        return None
    try:
        return validate_domain(domain)
    except InvalidDomain:
        return None


def _errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err['loc']) or 'plan'}: {err['msg']}"
            for err in exc.errors()]
