"""What appforge reports about apps: the list with each app's live state, ``show``'s whole
picture of one app (versions, live state, limits, where its data is, what the planner read),
and its log lines. Read-only: nothing here changes an app (``apps.py`` does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from appforge.config import Settings
from appforge.engines import engine_for
from appforge.errors import InvalidInput
from appforge.sandbox.hardening import Limits
from appforge.store import AppRecord, Store
from appforge.tools.apps import _engine_or_none

if TYPE_CHECKING:
    import docker


def listing(settings: Settings) -> list[dict[str, Any]]:
    """Every app as ``list --json`` and the MCP server's list_apps give it: slug, title, kind,
    version, intended status, URL, host and the live state from the engine."""
    apps = Store(settings.db_path).list_apps()
    live = live_states(settings, apps) if apps else {}
    return [{"slug": a.slug, "title": a.title, "kind": a.kind, "version": a.current_version,
             "status": a.status, "url": a.url, "host": a.host, "live": live[a.slug]}
            for a in apps]


def live_states(settings: Settings, apps: list[AppRecord]) -> dict[str, dict[str, Any]]:
    """Each app's live state beside its intended status (``sandbox/live_state.py``): what its
    current version's container is doing, from the engine. Never raises: ``unknown`` for every
    app when the engine does not answer."""
    return live_of(_engine_or_none(settings), settings, apps)


def live_of(client: docker.DockerClient | None, settings: Settings,
            apps: list[AppRecord]) -> dict[str, dict[str, Any]]:
    """:func:`live_states` through a client already made (None: the engine did not answer)."""
    from appforge.sandbox import live_state

    found = {}
    for app in apps:
        if app.current_version is None:
            live = live_state.classify(None)
            live["reason"] = "never deployed"
        elif client is None:
            live = live_state.unknown("the Docker engine is not reachable")
        else:
            live = engine_for(settings, client).live(app.slug, app.current_version)
        found[app.slug] = live_state.beside(live, app.status)
    return found


def show(settings: Settings, slug: str) -> dict[str, Any]:
    """Everything about an app: versions, status, domains, container health and limits, and
    its live state from the engine beside the intended status (``live``)."""
    from docker.errors import DockerException

    store = Store(settings.db_path)
    app = store.get_app(slug)
    client = _engine_or_none(settings)
    versions = store.list_versions(slug)
    info: dict[str, Any] = {
        "slug": app.slug, "title": app.title, "kind": app.kind, "status": app.status,
        "url": app.url, "domains": store.domains(slug), "current_version": app.current_version,
        "versions": [{"version": v.version, "status": v.status, "image": v.image,
                      "workspace": v.workspace, "test_summary": v.test_summary,
                      "timings": v.timings, "error": v.error, "created_at": v.created_at,
                      "settings": v.settings, **_screenshot(v)}
                     for v in versions],
        "deployments": store.deployments(slug, limit=20),
        "limits": Limits.of_app(settings, app).__dict__,
        "not_applied": _not_applied(settings, store, app, versions),
        "container": None,
        "live": live_of(client, settings, [app])[slug],
        "reading": _reading(versions, app.current_version),
    }
    info["data"] = _data_facts(settings, client, app, versions)
    if app.current_version is None or client is None:
        return info
    try:
        info["container"] = engine_for(settings, client).describe(slug, app.current_version)
    except DockerException:
        pass
    return info


def _data_facts(settings: Settings, client: Any, app: Any, versions: list[Any]
                ) -> dict[str, Any]:
    """Where the app keeps its records and files: SQLite or its Postgres server (and that
    server's state), and on a swarm the node holding its volume."""
    from docker.errors import DockerException

    from appforge.sandbox import postgres

    newest = versions[-1].spec if versions else {}
    facts: dict[str, Any] = {"database": newest.get("database") or "sqlite"}
    if facts["database"] == "postgres":
        facts["server"] = postgres.container_name(settings, app.slug)
        try:
            found = postgres.server(client, settings, app.slug) if client else None
            facts["server_state"] = found.status if found is not None else "missing"
        except DockerException:
            facts["server_state"] = "unknown"
    if settings.engine == "swarm":
        facts["node"] = app.node or "the manager"
        if client is not None and app.node:
            from appforge.engines.move import node_row

            try:
                facts["node"] = node_row(client, app.node)["hostname"]
            except DockerException:
                pass
    return facts


def _reading(versions: list[Any], current: int | None) -> list[str]:
    """What the planner read in the description of the version that serves (else the newest),
    in lines for a person; none for plans that did not record it."""
    from pydantic import ValidationError

    from appforge.spec import Reading

    chosen = next((v for v in versions if v.version == current), versions[-1] if versions else None)
    try:
        return Reading.model_validate((chosen.spec or {}).get("reading") or {}).lines() \
            if chosen else []
    except ValidationError:
        return []


def _not_applied(settings: Settings, store: Store, app: AppRecord,
                 versions: list[Any]) -> dict[str, Any] | None:
    """What the newest of ``versions`` asked for that is not live because it never deployed
    (its build or deploy failed): the settings that differ, or None."""
    newest = versions[-1] if versions else None
    if newest is None or newest.version == app.current_version or not newest.settings \
            or newest.status not in ("failed", "building", "tested", "packaged"):
        return None
    live = Limits.of_app(settings, app).__dict__
    try:
        asked = Limits.resolve(settings, **newest.settings.get("limits", {})).__dict__
    except InvalidInput:
        asked = dict(newest.settings.get("limits", {}))
    differs = {k: v for k, v in asked.items() if live.get(k) != v}
    domains = newest.settings.get("domains") or []
    if domains and domains != store.domains(app.slug):
        differs["domains"] = domains
    if not differs:
        return None
    return {"version": newest.version, "status": newest.status, "settings": differs}


def _screenshot(version: Any) -> dict[str, str]:
    """The version's screenshot: its path once taken, and whether it is pending or why not."""
    from appforge.tools.screenshot import screenshot_state

    state = screenshot_state(version.workspace, version.screenshot)
    return {"screenshot": version.screenshot, "screenshot_status": state["status"],
            "screenshot_error": state["reason"]}


def logs(settings: Settings, slug: str, follow: bool, tail: int) -> Any:
    """The current container's log lines (an iterator of bytes when following)."""
    from appforge.sandbox.engine import connect

    store = Store(settings.db_path)
    app = store.get_app(slug)
    if app.current_version is None:
        raise InvalidInput(f"{slug} has never been deployed")
    try:
        return engine_for(settings, connect(settings)).logs(slug, app.current_version, follow,
                                                            tail)
    except InvalidInput as exc:
        raise InvalidInput(f"{exc} (status {app.status})") from None
