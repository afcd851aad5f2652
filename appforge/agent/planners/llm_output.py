"""Reads a language model's answer into an AppSpec, or says precisely why it cannot.

The model fills a :class:`PlanDraft`, a simpler shape than :class:`~appforge.spec.AppSpec` (no
colours, sizes or seeds). :func:`read_answer` reads the answer text leniently
(:mod:`~appforge.agent.planners.llm_salvage` keeps what is valid) and raises
:class:`UnusableAnswer` only when it holds no JSON object at all. :func:`to_spec` turns a draft
into an AppSpec, filling what the model left out or got wrong from the blueprint planner's
reading of the same description, noting each gap it filled, and saying in an :class:`Origin`
which parts came from the model and which from the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from appforge.agent.planners.assets import asset_seed
from appforge.agent.planners.inflect import plural
from appforge.agent.planners.kinds import reads_plainly_as
from appforge.agent.planners.llm_salvage import TYPE_ALIASES, NoJSON, clean, find_json
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

#: Sizes by asset role, as the blueprint planner makes them.
_IMAGE_SIZES = {"logo": (512, 512), "hero": (1280, 720), "background": (1280, 720),
                "feature": (1024, 576), "gallery": (768, 768)}
_VIDEO_SIZE, _VIDEO_SECONDS = (960, 540), 4.0


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
            return TYPE_ALIASES.get(value, value)
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
    #: Whether the kind is the rules' (the model gave none, or one appforge does not build).
    _ruled_kind: bool = PrivateAttr(default=False)


def plan_schema() -> dict[str, Any]:
    """The JSON schema the model is asked to follow."""
    return PlanDraft.model_json_schema()


def read_answer(text: str | None, fallback_kind: Kind) -> tuple[PlanDraft, list[str]]:
    """The draft in a model's answer, with notes on what was dropped or repaired to read it;
    UnusableAnswer when it holds no JSON object."""
    try:
        data, notes = find_json(text or "")
    except NoJSON as exc:
        raise UnusableAnswer([str(exc)]) from None
    plan, cleaned = clean(data, fallback_kind)
    plan.setdefault("name", "")
    try:
        draft = PlanDraft.model_validate(plan)
        draft._ruled_kind = plan.pop("_ruled_kind", False)
        return draft, notes + cleaned
    except ValidationError as exc:  # clean() leaves nothing a draft refuses; a bug otherwise
        raise UnusableAnswer(_errors(exc)) from None


@dataclass
class Origin:
    """Which parts of a plan came from the model and which from the rules (the blueprint
    planner's reading of the description)."""

    model: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)

    def line(self) -> str:
        said = []
        if self.model:
            said.append("from the model: " + ", ".join(self.model))
        if self.rules:
            said.append("from the rules: " + ", ".join(self.rules))
        return "; ".join(said)


def to_spec(draft: PlanDraft, description: str,
            base: AppSpec) -> tuple[AppSpec, list[str], Origin]:
    """The AppSpec for ``draft``, gaps filled from ``base`` (the blueprint's plan), notes saying
    what was filled, and where each part came from; UnusableAnswer when the result breaks an
    AppSpec rule."""
    notes: list[str] = []
    origin = Origin()

    def filled(value: Any, fallback: Any, what: str) -> Any:
        if value:
            origin.model.append(what)
            return value
        if fallback:
            notes.append(f"filled {what} from the blueprint planner")
            origin.rules.append(what)
        return fallback

    name = filled(draft.name.strip(), base.name, "name")
    slug = draft.slug.strip().lower()
    if not SLUG_RE.match(slug):
        slug = make_slug(name, description)
        notes.append(f"made the slug {slug!r} from the name")
    kind = draft.kind
    if kind == Kind.custom and not draft.file_plan and base.kind != Kind.custom:
        # "custom" with no file planned is a small model's shrug; the rules read a kind.
        kind = base.kind
        notes.append(f"the model chose a custom app but planned no file; used the rules' kind "
                     f"{kind.value!r}")
    elif kind == Kind.custom and reads_plainly_as(base.kind, description):
        kind = base.kind
        notes.append(f"the model chose a custom app for what the description plainly calls a "
                     f"{kind.value} app; used the rules' kind {kind.value!r}")
    entities = _entities(draft, base, notes) if kind == Kind.crud else []
    if kind == Kind.crud and not entities:
        if base.kind == Kind.crud:
            entities = [e.model_dump() for e in base.entities]
            notes.append("the model gave no usable entity; used the rules' entities")
        else:
            kind = base.kind
            notes.append(f"the model planned a crud app with no usable entity; used the rules' "
                         f"kind {kind.value!r}")
    ruled = kind != draft.kind or draft._ruled_kind
    (origin.rules if ruled else origin.model).append(f"kind {kind.value}")
    if entities:
        model_made = {e.name.strip().lower() for e in draft.entities if e.fields}
        for entity in entities:
            what = f"{entity['name']} ({', '.join(f['name'] for f in entity['fields'])})"
            (origin.model if entity["name"] in model_made else origin.rules).append(what)
    if draft.entities and kind != Kind.crud:
        notes.append(f"dropped the entities the model planned for a {kind.value} app")
    notes.append("filled the theme colours from the blueprint planner")
    origin.rules.append("theme colours")
    features: list[Any] = [f.model_dump() for f in draft.features]
    if kind == Kind.landing:
        features = filled(features, base.features, "features")
    language = draft.language.strip().lower()
    if not re.fullmatch(r"[a-z]{2}", language):
        language = ""
    language = filled(language, base.language, "language")
    try:
        spec = AppSpec(
            name=name,
            slug=slug,
            title=draft.title.strip() or name,
            tagline=filled(draft.tagline.strip(), base.tagline, "tagline"),
            description=description,
            kind=kind,
            entities=entities,
            theme=base.theme,
            assets=_assets(draft, slug, base, notes, origin),
            features=features,
            call_to_action=filled(draft.call_to_action.strip(), base.call_to_action,
                                  "call to action"),
            domain=_domain(draft.domain, description) or base.domain,
            language=language,
            file_plan=draft.file_plan if kind == Kind.custom else [],
        )
    except ValidationError as exc:
        raise UnusableAnswer(_errors(exc)) from None
    return spec, notes, origin


def _entities(draft: PlanDraft, base: AppSpec, notes: list[str]) -> list[Any]:
    """The model's entities as AppSpec input, labels and plurals made where it left them out;
    one without fields takes the rules' fields for an entity of that name, or is dropped."""
    entities = []
    ruled = {e.name: e for e in base.entities}
    for entity in draft.entities:
        name = entity.name.strip().lower()
        if not entity.fields:
            if name in ruled:
                notes.append(f"the model gave {name} no fields; used the rules' fields")
                entities.append(ruled[name].model_dump())
            else:
                notes.append(f"dropped {name}: the model gave it no fields")
            continue
        plural_name = entity.plural.strip().lower() or plural(name)
        entities.append({
            "name": name, "plural": plural_name,
            "label": entity.label.strip() or noun_label(name),
            "label_plural": entity.label_plural.strip() or noun_label(plural_name),
            "fields": [dict(f.model_dump(), label=f.label.strip() or noun_label(f.name))
                       for f in entity.fields],
        })
    return entities


def _assets(draft: PlanDraft, slug: str, base: AppSpec, notes: list[str],
            origin: Origin) -> list[Any]:
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
                origin.rules.append(f"{role} {'images' if len(added) > 1 else 'image'}")
    if roles:
        origin.model.append(", ".join(sorted(roles)) + " images")
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
