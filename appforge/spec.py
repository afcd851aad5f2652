"""AppSpec: the one contract every stage after planning reads.

A planner (rules or an LLM) turns a description into an :class:`AppSpec`; the code renderers, the
image and video generators and the sandbox read only this. Everything here validates itself, so a
spec that loads is a spec the later stages can build: slugs are DNS labels, field names are safe
Python and SQL identifiers, colours are hex, sizes are bounded.
"""

from __future__ import annotations

import keyword
import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from appforge.errors import InvalidDomain, InvalidInput, InvalidSlug

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
IDENT_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
#: Column names every generated table already has.
RESERVED_FIELDS = frozenset({"id", "created_at", "updated_at"})
#: Terminal escape sequences (CSI, OSC, two-byte) and the other control characters (C0 but tab
#: and newline, DEL, C1): text pasted from a terminal carries them, and they must reach neither a
#: title, a README nor a log.
_ESCAPE_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Top-level names reserved for documentation, tests and local networks (RFC 2606, 6761, 6762,
#: and ICANN's .internal): no public CA certifies them and no registrar sells them.
RESERVED_TLDS = ("localhost", "local", "internal", "test", "example", "invalid")


def strip_controls(text: str, multiline: bool = True) -> tuple[str, int]:
    """``text`` without escape sequences and control characters, and how many were removed.

    Tabs and newlines stay in ``multiline`` text (``\\r\\n`` becomes ``\\n``); elsewhere they
    become spaces."""
    text = text.replace("\r\n", "\n")
    cleaned = _CONTROL_RE.sub("", _ESCAPE_RE.sub("", text))
    removed = len(text) - len(cleaned)
    if not multiline:
        cleaned = re.sub(r"[\t\n]+", " ", cleaned)
    return cleaned, removed


def validate_slug(slug: str) -> str:
    """Return ``slug`` if it is a valid DNS label (lowercase), else raise :class:`InvalidSlug`."""
    if not SLUG_RE.match(slug or ""):
        raise InvalidSlug(
            f"invalid app slug {slug!r}: use 1-63 lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return slug


def validate_domain(domain: str) -> str:
    """Return ``domain`` lowercased and IDN-encoded if it is a valid host name.

    Rejects wildcards, ports, paths, whitespace and anything else that could change the meaning of
    the proxy configuration it ends up in.
    """
    raw = (domain or "").strip().rstrip(".")
    if not raw:
        raise InvalidDomain("the domain is empty")
    try:
        ascii_name = raw.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise InvalidDomain(f"invalid domain {domain!r}: {exc}") from None
    if len(ascii_name) > 253:
        raise InvalidDomain(f"invalid domain {domain!r}: longer than 253 characters")
    labels = ascii_name.split(".")
    for label in labels:
        if not LABEL_RE.match(label):
            raise InvalidDomain(
                f"invalid domain {domain!r}: label {label!r} must be 1-63 letters, digits or "
                "hyphens, not starting or ending with a hyphen (no wildcards, ports or paths)"
            )
    if labels[-1].isdigit():
        raise InvalidDomain(f"invalid domain {domain!r}: an IP address is not a domain")
    return ascii_name


def validate_custom_domain(domain: str, slug: str, base_domain: str = "localhost") -> str:
    """A domain a person asked for an app: a valid host name (:func:`validate_domain`) that is
    not this machine (``localhost``), not another app's own name (``<other>.<base domain>``) and
    not under a reserved top-level name (``.local``, ``.internal``, ``.test``, ``.example``...)."""
    name = validate_domain(domain)
    own = f"{slug}.{base_domain}"
    if name == own:
        return name
    if name == "localhost":
        raise InvalidDomain(f"invalid domain {domain!r}: localhost is this machine, not an app",
                            hint=f"leave --domain out: the app answers at {own}")
    for parent in dict.fromkeys((base_domain, "localhost")):
        if name.endswith("." + parent):
            other = name[:-len(parent) - 1]
            raise InvalidDomain(
                f"invalid domain {domain!r}: names under {parent} are the apps' own "
                f"({name} would be the app '{other}')",
                hint=f"leave --domain out: this app answers at {own}")
    tld = name.rsplit(".", 1)[-1]
    if tld in RESERVED_TLDS:
        raise InvalidDomain(
            f"invalid domain {domain!r}: .{tld} is reserved (for local networks, tests or "
            "documentation); no one can reach or certify it as a public name",
            hint="use a domain you own, or leave --domain out for a local name")
    return name


def database_refusal(kind: str, database: str) -> str:
    """Why an app of ``kind`` cannot keep its data in ``database``."""
    what = {"landing": "a landing page", "gallery": "a gallery"}.get(kind, f"a {kind} app")
    return (f"only a CRUD app can keep its records in {database} (--database {database}); "
            f"{what} keeps what it stores in SQLite")


class Kind(StrEnum):
    landing = "landing"
    crud = "crud"
    gallery = "gallery"
    #: Anything else: the LLM coder builds it from a file plan (needs an LLM).
    custom = "custom"


class FieldType(StrEnum):
    text = "text"
    long_text = "long_text"
    integer = "integer"
    decimal = "decimal"
    money = "money"
    boolean = "boolean"
    date = "date"
    email = "email"
    url = "url"
    phone = "phone"
    rating = "rating"
    #: A picture (JPEG, PNG, GIF or WebP), uploaded to the app and shown on its pages.
    image = "image"
    #: Any file, uploaded to the app and offered back as a download.
    file = "file"


#: Where an app keeps its records: SQLite in its data volume, or a Postgres server of its own that
#: all its replicas share (CRUD apps only).
Database = Literal["sqlite", "postgres"]
DATABASES: tuple[str, ...] = ("sqlite", "postgres")

#: Field types whose values are uploaded files, not JSON values.
UPLOAD_TYPES = frozenset({FieldType.image, FieldType.file})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityField(_Model):
    """One typed field of an entity, e.g. ``days_between_waterings: integer``."""

    name: str
    label: str
    type: FieldType = FieldType.text
    required: bool = True
    #: Bounds for integer, decimal, money and rating fields (inclusive).
    min: float | None = None
    max: float | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENT_RE.match(value) or keyword.iskeyword(value) or value in RESERVED_FIELDS:
            raise ValueError(
                f"field name {value!r} must be a lowercase identifier (a-z, 0-9, _), "
                f"not a Python keyword and not one of {sorted(RESERVED_FIELDS)}"
            )
        return value

    @model_validator(mode="after")
    def _bounds(self) -> EntityField:
        if self.type == FieldType.rating:
            if self.min is None:
                self.min = 1
            if self.max is None:
                self.max = 5
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"field {self.name!r}: min {self.min} is above max {self.max}")
        return self


class Entity(_Model):
    """A kind of record the app stores, e.g. Plant with its fields."""

    name: str  # singular identifier: "plant"
    plural: str  # identifier used in URLs and table names: "plants"
    label: str  # "Plant"
    label_plural: str  # "Plants"
    fields: list[EntityField] = Field(min_length=1, max_length=40)

    @field_validator("name", "plural")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENT_RE.match(value) or keyword.iskeyword(value):
            raise ValueError(f"entity name {value!r} must be a lowercase identifier")
        return value

    @model_validator(mode="after")
    def _unique_fields(self) -> Entity:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"entity {self.name!r} repeats fields: {', '.join(dupes)}")
        return self


class Theme(_Model):
    """Colours and mode; every generated page and image reads its palette from here."""

    mode: Literal["light", "dark"] = "light"
    primary: str = "#2563eb"
    accent: str = "#f59e0b"
    background: str = "#f8fafc"
    surface: str = "#ffffff"
    text: str = "#0f172a"
    muted: str = "#64748b"

    @field_validator("primary", "accent", "background", "surface", "text", "muted")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not HEX_RE.match(value):
            raise ValueError(f"colour {value!r} must be #rrggbb")
        return value.lower()


class AssetRequest(_Model):
    """An image or video the app needs, made by the image or video generator."""

    kind: Literal["image", "video"]
    role: Literal["logo", "hero", "gallery", "feature", "background"]
    name: str  # file stem under static/assets/, unique in the spec: "hero", "photo-01"
    prompt: str = Field(min_length=1, max_length=500)
    width: int = Field(default=1024, ge=16, le=2048)
    height: int = Field(default=576, ge=16, le=2048)
    seconds: float | None = Field(default=None, gt=0, le=20)
    fps: int = Field(default=24, ge=1, le=60)
    seed: int = 0
    alt: str = ""

    @field_validator("name")
    @classmethod
    def _stem(cls, value: str) -> str:
        if not SLUG_RE.match(value):
            raise ValueError(f"asset name {value!r} must be a lowercase file stem (a-z, 0-9, -)")
        return value

    @property
    def filename(self) -> str:
        return f"{self.name}.mp4" if self.kind == "video" else f"{self.name}.png"

    @property
    def poster_filename(self) -> str | None:
        """A still frame shown before a video plays (videos only)."""
        return f"{self.name}-poster.jpg" if self.kind == "video" else None


class PlannedFile(_Model):
    """A file a custom app needs, and what it is for: the LLM coder's outline."""

    path: str = Field(min_length=1, max_length=200)
    purpose: str = Field(default="", max_length=500)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = value.replace("\\", "/").split("/")
        if value.startswith("/") or ".." in parts or "\\" in value or "\0" in value:
            raise ValueError(f"file path {value!r} must be relative, inside the app")
        return value


class Feature(_Model):
    """A selling point on a landing page."""

    title: str
    text: str
    icon: str = "star"


class AddedField(_Model):
    """A field the planner gave a record that the description did not name, and why."""

    entity: str
    field: str
    reason: str


class Reading(_Model):
    """What the planner read in the description, for a person to check (``appforge plan``, the
    build's output, ``appforge show``). Plans made elsewhere (an LLM, an older appforge) leave it
    empty; nothing later than the plan reads it."""

    #: Where the name came from: "called" (called/named X), "quoted", "leading" ("Sprout, a
    #: ..."), "for" ("a page for Blue Door Bakery"), "made" (from what the app is), "none".
    name_from: str = ""
    place: str | None = None
    #: The kind of business or subject that picked the copy, colours and pictures ("coffee").
    business: str | None = None
    #: What the gallery's pictures show, and how many the description asked for.
    subjects: list[str] = Field(default_factory=list)
    count: int | None = None
    #: Where the fields came from: "listed" (the description names them), "usual for a todo
    #: list" ..., or "" for an app without records.
    fields_from: str = ""
    added_fields: list[AddedField] = Field(default_factory=list)

    def lines(self) -> list[str]:
        """What was read, in short lines for a person (the build, ``plan`` and ``show``)."""
        said = [f"name {self.name_from}" if self.name_from else "",
                f"place {self.place}" if self.place else "",
                f"business {self.business}" if self.business else "",
                f"{self.count} pictures" if self.count else "",
                f"of {'; '.join(self.subjects[:4])}" if self.subjects else ""]
        lines = ["read: " + ", ".join(s for s in said if s)] if any(said) else []
        if self.fields_from:
            lines.append(f"fields: {self.fields_from}")
        added: dict[str, list[str]] = {}
        for item in self.added_fields:
            added.setdefault(item.reason, []).append(f"{item.entity}.{item.field}")
        lines += [f"added {', '.join(names)}: {reason}" for reason, names in added.items()]
        return lines


class AppSpec(_Model):
    """What to build: the plan a user approves and every later stage reads."""

    name: str = Field(min_length=1, max_length=80)  # "Sprout"
    slug: str  # "sprout": DNS label, container and volume names
    title: str = Field(min_length=1, max_length=120)
    tagline: str = ""
    description: str = ""  # the user's own words
    kind: Kind
    entities: list[Entity] = Field(default_factory=list)
    theme: Theme = Field(default_factory=Theme)
    assets: list[AssetRequest] = Field(default_factory=list)
    features: list[Feature] = Field(default_factory=list)
    call_to_action: str = "Get started"
    #: Custom apps: the files the coder should write, with what each is for.
    file_plan: list[PlannedFile] = Field(default_factory=list, max_length=100)
    #: A custom domain; when empty the app answers at ``<slug>.<base domain>``.
    domain: str | None = None
    language: str = "en"
    #: Where a CRUD app keeps its records (``appforge build --database``).
    database: Database = "sqlite"
    #: What the planner read in the description (shown to people; no stage builds from it).
    reading: Reading = Field(default_factory=Reading)

    @field_validator("name", "title", "tagline", "call_to_action", mode="before")
    @classmethod
    def _one_line(cls, value: object) -> object:
        """Whatever wrote the plan (a person, a rule, a model), no control character reaches a
        page, a README or a log."""
        return strip_controls(value, multiline=False)[0].strip() if isinstance(value, str) \
            else value

    @field_validator("description", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return strip_controls(value)[0] if isinstance(value, str) else value

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        try:
            return validate_slug(value)
        except InvalidSlug as exc:
            raise ValueError(str(exc)) from None

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_domain(value)
        except InvalidDomain as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _consistent(self) -> AppSpec:
        if self.kind == Kind.crud and not self.entities:
            raise ValueError("a crud app needs at least one entity")
        names = [a.name for a in self.assets]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"asset names repeat: {', '.join(dupes)}")
        if self.database != "sqlite" and self.kind != Kind.crud:
            raise ValueError(database_refusal(self.kind.value, self.database))
        entity_names = [e.plural for e in self.entities] + [e.name for e in self.entities]
        if len(set(entity_names)) != len(entity_names):
            raise ValueError("entity names and plurals must all differ")
        return self

    def with_database(self, database: str) -> AppSpec:
        """This spec keeping its records in ``database``; :class:`InvalidInput` for a kind of
        app that keeps no records there (a landing page, a gallery, a custom app)."""
        if database not in DATABASES:
            raise InvalidInput(f"unknown database {database!r}",
                               hint=f"use one of: {', '.join(DATABASES)}")
        if database != "sqlite" and self.kind != Kind.crud:
            raise InvalidInput(database_refusal(self.kind.value, database),
                               hint="leave --database out for this app")
        return self.model_copy(update={"database": database})

    @property
    def takes_uploads(self) -> bool:
        """Whether people upload files to the app (an image or file field): it then needs a
        larger request-body limit than an app of text fields."""
        return self.kind == Kind.crud and any(
            f.type in UPLOAD_TYPES for e in self.entities for f in e.fields)

    def host(self, base_domain: str) -> str:
        """The host name the app answers at."""
        return self.domain or f"{self.slug}.{base_domain}"

    def assets_with_role(self, role: str) -> list[AssetRequest]:
        return [a for a in self.assets if a.role == role]
