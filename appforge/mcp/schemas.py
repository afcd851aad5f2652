"""Each MCP tool's arguments as a pydantic model, and its description, written for a model.

The JSON schema a client sees is the model's (``model_json_schema``), so what is checked and what
is advertised are one thing. Unknown arguments are refused. Slugs and domains are checked by the
same functions as the CLI's, and their messages are what the caller reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from appforge.errors import AppforgeError, InvalidInput
from appforge.spec import SLUG_RE, AppSpec


def _slug(value: str) -> str:
    from appforge.spec import validate_slug

    try:
        return validate_slug(value)
    except AppforgeError as exc:  # pydantic reports ValueErrors only
        raise ValueError(str(exc)) from None


# The pattern is advertised, and checked by validate_slug, whose message says what a slug is.
Slug = Annotated[str, Field(
    min_length=1, max_length=63, json_schema_extra={"pattern": SLUG_RE.pattern},
    description="The app's slug (its short name, as list_apps shows it), e.g. 'sprout'."),
    AfterValidator(_slug)]
Version = Annotated[int, Field(ge=1, description="A version number of the app (1, 2, ...).")]


class Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(Arguments):
    memory: str | None = Field(None, pattern=r"^\d+[kmgKMG]?$",
                               description="Memory limit, e.g. '512m' or '1g' (default 256m).")
    cpus: float | None = Field(None, gt=0, le=64, description="CPU limit, e.g. 0.5 (default 1).")
    pids: int | None = Field(None, ge=16, le=32768, description="Process limit (default 128).")
    max_body: str | None = Field(None, pattern=r"^\d+[kmgKMG]?$",
                                 description="Largest request body the app takes, e.g. '10m' "
                                 "(default 1m); larger ones get HTTP 413.")


class PlanApp(Arguments):
    description: str = Field(min_length=1, max_length=4000, description=(
        "What the app is, in the user's words, e.g. 'A plant-watering tracker called Sprout. "
        "Each plant has a name, a location and the date it was last watered.'"))
    planner: Literal["auto", "blueprint", "llm"] | None = Field(None, description=(
        "Which planner reads the description: blueprint (rules, offline), llm (the configured "
        "model) or auto (the server's setting). Leave it out unless asked."))


class BuildApp(Arguments):
    description: str | None = Field(None, max_length=4000, description=(
        "What the app is, in the user's words. Give this, or a plan from plan_app (then the "
        "description is only recorded with the version)."))
    plan: AppSpec | None = Field(None, description=(
        "A plan returned by plan_app (its 'plan' object), possibly edited: nothing is planned "
        "again, this is what gets built."))
    app: Slug | None = Field(None, description=(
        "Build a new version of this existing app (blue/green: the old version serves until the "
        "new one is healthy), or give a new app this slug."))
    domains: list[str] | None = Field(None, max_length=10, description=(
        "Host names the app answers at (the first is its URL), e.g. ['plants.example.com']. "
        "Default: <slug>.<base domain>, e.g. sprout.localhost."))
    limits: Limits | None = Field(None, description="Resource limits for this app; kept for "
                                  "its later versions.")
    database: Literal["sqlite", "postgres"] | None = Field(None, description=(
        "Where a CRUD app keeps its records (default sqlite; a rebuild keeps the app's)."))
    planner: Literal["auto", "blueprint", "llm"] | None = Field(None, description=(
        "Which planner reads a description (see plan_app). Ignored with a plan."))


class ChangeApp(Arguments):
    app: Slug
    change: str = Field(min_length=1, max_length=4000, description=(
        "The change in words, as a user says it in the chat: 'add a rating field', 'make it "
        "dark', 'call it Sprout', 'make the category optional', 'use the domain x.example.com'."))
    preview: bool = Field(False, description=(
        "true: only say what would change (plan lines and the new plan); nothing is built."))


class AppOnly(Arguments):
    app: Slug


class AppLogs(Arguments):
    app: Slug
    tail: int = Field(100, ge=1, le=2000, description="How many of the newest log lines.")


class AppDiff(Arguments):
    app: Slug
    from_version: Version | None = Field(None, description=(
        "The older version (default: the version before to_version)."))
    to_version: Version | None = Field(None, description=(
        "The newer version (default: the live version, else the newest)."))
    path: str | None = Field(None, max_length=500, description=(
        "Only files whose path starts with this, e.g. 'app/' or 'app/main.py'."))
    max_lines: int = Field(400, ge=0, le=5000, description=(
        "Most diff lines returned in all (0: only the list of changed files)."))


class RollbackApp(Arguments):
    app: Slug
    to_version: Version | None = Field(None, description=(
        "The version to serve again (default: the one before the live one)."))
    restore_data: bool = Field(False, description=(
        "Also restore the data snapshot taken while that version was live (today's data is "
        "snapshotted first). Default: today's data is kept."))


class DestroyApp(Arguments):
    app: Slug
    confirm: str = Field(description=(
        "Must equal the app's slug exactly: destroying cannot be undone (except from the "
        "data snapshot taken first)."))
    keep_data: bool = Field(False, description="Keep the app's data volume.")


class DomainSearch(Arguments):
    words: list[str] = Field(default_factory=list, max_length=10, description=(
        "Words to make names from (['bike', 'shop']), or one full name (['bikeshop.com'])."))
    app: Slug | None = Field(None, description="With no words: names made from this app's plan.")
    tlds: list[str] | None = Field(None, max_length=10, description=(
        "Endings to try, e.g. ['com', 'dev'] (default com, dev, app)."))
    limit: int | None = Field(None, ge=1, le=50, description=(
        "Names to check at most (Porkbun allows one check per 10 s)."))


@dataclass(frozen=True)
class ToolInfo:
    name: str
    title: str
    arguments: type[Arguments]
    description: str
    read_only: bool = False
    destructive: bool = False
    #: Builds and deploys: progress notifications, and the app's lock.
    long: bool = False

    def input_schema(self) -> dict[str, Any]:
        return self.arguments.model_json_schema()


TOOLS: tuple[ToolInfo, ...] = (
    ToolInfo("plan_app", "Plan an app", PlanApp, read_only=True, description=(
        "Turn a description of a web app into appforge's plan (name, slug, kind, record types "
        "and fields, pages, theme, images, domain) for the user to review. Nothing is built. "
        "Show the summary, then call build_app with the plan (edited if the user asks) to "
        "build it.")),
    ToolInfo("build_app", "Build and deploy an app", BuildApp, long=True, description=(
        "Plan (unless a plan is given), write the code and its tests, make the images, test it "
        "in a sandbox, package it as a Docker image and deploy it behind the proxy. Returns "
        "the URL, the version, the test summary and the seconds per stage. Takes from seconds "
        "to minutes; progress is reported stage by stage. Building an existing app (app=slug, "
        "or the same name) makes a new version, deployed without downtime.")),
    ToolInfo("change_app", "Change an app in words", ChangeApp, long=True, description=(
        "Change a deployed app as the user says it ('add a rating field', 'make it dark'): "
        "the live plan is revised, only what changed is regenerated, and a new version is "
        "deployed blue/green. Returns the plan changes, the files changed, the URL and version. "
        "With preview=true nothing is built.")),
    ToolInfo("list_apps", "List apps", Arguments, read_only=True, description=(
        "Every app appforge built: slug, title, kind, live version, URL, intended status, and "
        "what the Docker engine says it is doing (live).")),
    ToolInfo("show_app", "Show an app", AppOnly, read_only=True, description=(
        "One app in detail: versions (status, tests, timings), domains, limits, deployments, "
        "container health and its live state.")),
    ToolInfo("app_logs", "Read an app's log", AppLogs, read_only=True, description=(
        "The newest lines of the live version's container log: what the app printed (requests, "
        "errors, tracebacks), to find out why it misbehaves.")),
    ToolInfo("app_diff", "Compare two versions", AppDiff, read_only=True, description=(
        "What changed between two versions of an app: files added, removed and changed, with "
        "a unified diff of text files (binary files by SHA-256).")),
    ToolInfo("rollback_app", "Roll back an app", RollbackApp, long=True, description=(
        "Serve an earlier version again (default: the one before the live one), blue/green. "
        "Today's data is kept unless restore_data is true.")),
    ToolInfo("stop_app", "Stop an app", AppOnly, long=True, description=(
        "Take the app off its domain (it answers 503) and stop its container; data and "
        "versions stay. start_app brings it back.")),
    ToolInfo("start_app", "Start an app", AppOnly, long=True, description=(
        "Start a stopped app's current version (after stop_app) and route its domain to it "
        "again; it takes traffic once its health check passes.")),
    ToolInfo("destroy_app", "Destroy an app", DestroyApp, long=True, destructive=True,
             description=(
                 "Remove an app for good: its route, containers, images, workspaces and (unless "
                 "keep_data) its data; a snapshot of the data is taken first and kept. Ask the "
                 "user first; confirm must equal the slug.")),
    ToolInfo("domain_search", "Search domain names", DomainSearch, read_only=True,
             description=(
                 "Look up free domain names and their first-year and renewal prices at the "
                 "configured registrar. Read-only: nothing is bought.")),
)

BY_NAME = {tool.name: tool for tool in TOOLS}


def parse(name: str, arguments: dict[str, Any] | None) -> Arguments:
    """The tool's arguments, checked; :class:`InvalidInput` saying what is wrong otherwise."""
    tool = BY_NAME.get(name)
    if tool is None:
        raise InvalidInput(f"there is no tool called {name!r}",
                           hint="available: " + ", ".join(BY_NAME))
    try:
        return tool.arguments.model_validate(arguments or {})
    except ValidationError as exc:
        raise InvalidInput(f"invalid arguments for {name}: {describe(exc)}",
                           hint="see the tool's input schema (tools/list)") from None


def describe(exc: ValidationError) -> str:
    """A pydantic error as one line a model can act on: 'limits.cpus: must be > 0; ...'."""
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown argument"
        problems.append(f"{where}: {message}")
    shown = problems[:6]
    if len(problems) > len(shown):
        shown.append(f"and {len(problems) - len(shown)} more")
    return "; ".join(shown)
