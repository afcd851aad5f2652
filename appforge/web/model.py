"""What the pages show, gathered from the store and the workspaces into plain values.

The templates stay free of logic: this module decides which version a page is about, where a
version's screenshot, test report and asset manifest are, how a plan reads (entities, colours,
pages), and how a build's stage timings become bars.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from appforge.config import Settings
from appforge.errors import AppNotFound, InvalidInput
from appforge.store import AppRecord, Store, VersionRecord
from appforge.web import live

#: The build's stages in the order they run (``fix`` only with the LLM coder).
STAGES = ("plan", "write_code", "make_assets", "test", "fix", "package", "deploy", "verify",
          "screenshot")
RECORDS = ".appforge"


@dataclass
class Bar:
    stage: str
    seconds: float
    share: float  # of the slowest stage, 0..1
    offset: float  # where it starts on the whole build's time line, 0..1
    width: float  # its share of the whole build, 0..1


def screenshot_path(version: VersionRecord, thumb: bool = False) -> Path | None:
    """The version's home-page screenshot (or its thumbnail), if one was taken."""
    name = "screenshot-thumb.png" if thumb else "screenshot.png"
    path = Path(version.workspace) / RECORDS / name
    if thumb and not path.is_file():
        path = path.with_name("screenshot.png")  # a full-size one scales down in the page
    return path if path.is_file() else None


def timing_bars(timings: dict[str, float]) -> list[Bar]:
    stages = [(s, float(timings[s])) for s in STAGES if s in timings]
    stages += [(s, float(v)) for s, v in timings.items() if s not in STAGES and s != "total"]
    whole = sum(v for _, v in stages) or 1.0
    slowest = max((v for _, v in stages), default=0.0) or 1.0
    bars, offset = [], 0.0
    for stage, value in stages:
        bars.append(Bar(stage, value, value / slowest, offset / whole, value / whole))
        offset += value
    return bars


def with_live_title(store: Store, app: AppRecord,
                    versions: list[VersionRecord] | None = None) -> AppRecord:
    """The app as its live version names it: after a rollback, the title that is served."""
    if app.current_version is None:
        return app
    try:
        live = next((v for v in versions if v.version == app.current_version), None) \
            if versions is not None else store.get_version(app.slug, app.current_version)
    except AppNotFound:
        return app
    title = (live.spec or {}).get("title") if live else None
    return replace(app, title=title) if isinstance(title, str) and title else app


def pick_version(store: Store, app: AppRecord, number: int | None) -> VersionRecord:
    """The version asked for, else the current one, else the newest."""
    versions = store.list_versions(app.slug)
    if not versions:
        raise InvalidInput(f"{app.slug} has no versions yet")
    if number is not None:
        return store.get_version(app.slug, number)
    return next((v for v in versions if v.version == app.current_version), versions[-1])


def app_rows(settings: Settings, store: Store) -> list[dict[str, Any]]:
    """One row per app for the list: intended status, live state, domains, version, last build,
    thumbnail."""
    apps = store.list_apps()
    states = live.app_states(settings, apps)
    rows = []
    for app in apps:
        versions = store.list_versions(app.slug)
        current = next((v for v in versions if v.version == app.current_version),
                       versions[-1] if versions else None)
        domains = store.domains(app.slug)
        rows.append({
            "app": with_live_title(store, app, versions), "versions": len(versions),
            "current": current,
            "live": states[app.slug],
            "domains": [(host, settings.url_for(host)) for host in domains],
            "last_build": max((v.created_at for v in versions), default=None),
            "thumb": current is not None and screenshot_path(current, thumb=True) is not None,
            "test_summary": current.test_summary if current else "",
        })
    return rows


def app_detail(settings: Settings, store: Store, slug: str) -> dict[str, Any]:
    """The app, its versions (newest first) with their deploys and timings, domains, limits."""
    from appforge.sandbox.hardening import Limits

    app = store.get_app(slug)
    versions = store.list_versions(slug)
    deployments = store.deployments(slug, limit=200)
    rows = []
    for v in reversed(versions):
        rows.append({
            "v": v, "bars": timing_bars(v.timings), "total": v.timings.get("total"),
            "deploys": [d for d in deployments if d["version"] == v.version],
            "screenshot": screenshot_path(v) is not None,
            "current": v.version == app.current_version,
            "deployable": bool(v.image) and v.status in ("running", "retired", "deployed",
                                                         "packaged"),
        })
    try:
        limits = Limits.of_app(settings, app)
    except InvalidInput:
        limits = None
    domains = [(host, settings.url_for(host)) for host in store.domains(slug)]
    return {"app": with_live_title(store, app, versions), "versions": rows, "domains": domains,
            "current": next((r for r in rows if r["current"]), rows[0] if rows else None),
            "limits": limits, "deployments": deployments[:20]}


def find_app(store: Store, slug: str) -> AppRecord:
    from appforge.spec import validate_slug

    validate_slug(slug)
    return store.get_app(slug)


def plan_view(spec: dict[str, Any]) -> dict[str, Any]:
    """The plan, readable: entities and fields, colours, assets, features, pages, raw JSON."""
    from appforge.web.files import highlight

    theme = spec.get("theme") or {}
    colours = [(name, theme[name]) for name in ("primary", "accent", "background", "surface",
                                                 "text", "muted") if name in theme]
    raw, _ = highlight("spec.json", json.dumps(spec, indent=2, ensure_ascii=False))
    return {"spec": spec, "colours": colours, "mode": theme.get("mode", "light"),
            "entities": spec.get("entities") or [], "assets": spec.get("assets") or [],
            "features": spec.get("features") or [], "file_plan": spec.get("file_plan") or [],
            "pages": pages_of(spec), "raw": raw}


def pages_of(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The pages and endpoints the app's blueprint serves, as (path, what)."""
    kind = spec.get("kind")
    pages = [("/", "home page")]
    if kind == "crud":
        for entity in spec.get("entities") or []:
            plural, label = entity["plural"], entity["label_plural"]
            pages += [(f"/{plural}", f"{label}: list"),
                      (f"/{plural}/new", f"new {entity['label']}"),
                      (f"/{plural}/{{id}}", f"one {entity['label']}, edit, delete"),
                      (f"/api/{plural}", f"{label}: JSON API")]
    elif kind == "landing":
        pages += [("POST /signup", "sign-up form"), ("/api/signups", "sign-ups: JSON API")]
    elif kind == "gallery":
        pages += [("/api/images", "images: JSON API")]
    pages += [(f["path"], f.get("purpose", "")) for f in spec.get("file_plan") or []]
    return pages + [("/healthz", "health check")]


def asset_manifest(version: VersionRecord) -> list[dict[str, Any]]:
    """The build's asset records (``assets.json``), each with whether its file is there."""
    root = Path(version.workspace)
    try:
        entries = json.loads((root / "assets.json").read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(entries, list):
        return []
    shown = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            continue
        poster = entry.get("poster") if isinstance(entry.get("poster"), str) else None
        shown.append({**entry, "present": (root / entry["file"]).is_file(),
                      "poster": poster if poster and (root / poster).is_file() else None})
    return shown


def test_report(version: VersionRecord) -> str:
    path = Path(version.workspace) / RECORDS / "test-report.txt"
    try:
        return path.read_text(errors="replace")[-200_000:]
    except OSError:
        return ""


def coder_sessions(version: VersionRecord) -> list[dict[str, Any]]:
    """The LLM coder's sessions on this version (summaries only), if it wrote code."""
    found = []
    for path in sorted((Path(version.workspace) / RECORDS).glob("coder-*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        found.append({"name": path.stem, "finished": data.get("finished"),
                      "stop_reason": data.get("stop_reason", ""),
                      "summary": data.get("summary", ""), "steps": data.get("steps", 0),
                      "tokens": data.get("tokens", 0)})
    return found

