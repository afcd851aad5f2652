"""Operations on deployed apps: deploy a version, roll back, stop, start, destroy, restore (up).

The store says what should be serving; these functions make the engine and the proxy agree with
it. Every route change renders the proxy's whole configuration from the store, so a proxy that
was removed, or an engine that restarted, is put right by the next operation (``up`` does only
that). Callers hold the app's lock (``store.locks.app_lock``) around anything that changes it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appforge import backups
from appforge.config import Settings
from appforge.engines import engine_for
from appforge.errors import AppforgeError, InvalidInput, UnhealthyDeployment
from appforge.sandbox import containers
from appforge.sandbox.base_images import image_exists
from appforge.sandbox.caddy_config import Route
from appforge.sandbox.deploy import pause_for_crash_tests
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import Limits
from appforge.sandbox.proxy import apply_routes, ensure_proxy, remove_proxy
from appforge.store import AppRecord, Store
from appforge.store.locks import routes_lock

if TYPE_CHECKING:
    import docker

Log = Callable[[str], None]


@dataclass
class Deployed:
    slug: str
    version: int
    url: str
    container: str
    healthy_after: float

    def as_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "version": self.version, "url": self.url,
                "status": "running", "container": self.container,
                "healthy_after": round(self.healthy_after, 3)}


def routes(settings: Settings, store: Store, exclude: str | None = None) -> list[Route]:
    """The proxy routes of every serving app, from the store (each with its body limit)."""
    return [Route(slug=slug, hosts=hosts, upstream=upstream,
                  max_body=_body_limit(settings, store, slug))
            for slug, hosts, upstream in store.live_routes() if slug != exclude and hosts]


def apply_store_routes(client: docker.DockerClient, settings: Settings, store: Store, log: Log,
                       exclude: str | None = None) -> None:
    """Give the proxy the routes of every app the store says serves (but ``exclude``), under the
    routes lock: what every command that changes which apps serve calls."""
    with routes_lock(settings.home):
        apply_routes(client, settings, routes(settings, store, exclude=exclude), log)


def _body_limit(settings: Settings, store: Store, slug: str) -> int:
    try:
        return Limits.of_app(settings, store.get_app(slug)).body_bytes
    except InvalidInput:  # a limit set by hand in the store that makes no sense: the default
        return Limits.resolve(settings).body_bytes


def deploy(client: docker.DockerClient, settings: Settings, store: Store, slug: str,
           version: int, log: Log, event: str = "deploy") -> Deployed:
    """Run ``version`` of ``slug`` blue/green and make it the app's current version."""
    record = store.get_version(slug, version)
    if not record.image:
        raise InvalidInput(f"{slug} v{version} has no image (its build {record.status})")
    # The version's own settings (what its build asked for); the app's for older versions.
    wanted = record.settings
    hosts = wanted.get("domains") or store.domains(slug)
    app = store.get_app(slug)
    limits = Limits.resolve(settings, **wanted["limits"]) if "limits" in wanted \
        else Limits.of_app(settings, app)
    # A new build runs what it asked for; a rollback, start or restore keeps the app's number
    # (a `scale` since that version's build is not undone by going back to it).
    replicas = (app.replicas if event != "deploy" else None) or wanted.get("replicas") or \
        app.replicas or settings.replicas
    store.check_domains_free(slug, hosts)
    if app.current_version and app.current_version != version:  # the data it served, kept first
        backups.snapshot_if_data(client, settings, store, slug, f"pre-{event}-v{version}", log)
    pause_for_crash_tests(settings, f"{event}:snapshotted")
    start = time.monotonic()
    engine = engine_for(settings, client)
    try:
        ensure_proxy(client, settings, log)
        started = engine.start_version(slug, version, record.image,
                                       {"kind": app.kind, **record.spec}, limits, replicas, log)
    except UnhealthyDeployment as exc:
        store.update_version(slug, version, status="failed", error=str(exc))
        store.add_deployment(slug, version, event, "unhealthy",
                             seconds=time.monotonic() - start, detail=str(exc))
        store.add_event(slug, "error", f"v{version} not deployed: {exc}")
        raise
    log(f"{started.name} healthy after {started.healthy_after:.1f} s; switching "
        f"{', '.join(hosts)}")
    route = Route(slug=slug, hosts=tuple(hosts), upstream=started.upstream,
                  max_body=limits.body_bytes)
    url = settings.url_for(hosts[0])
    previous = app.current_version
    # Routed and recorded under the routes lock: another app's deploy routes from the store,
    # so it must find this one there once the proxy serves it.
    with routes_lock(settings.home):
        apply_routes(client, settings, [*routes(settings, store, exclude=slug), route], log)
        pause_for_crash_tests(settings, "deploy:switched")
        store.add_deployment(slug, version, event, "serving", started.name,
                             time.monotonic() - start)
        if previous and previous != version:
            store.update_version(slug, previous, status="retired")
        store.update_version(slug, version, upstream=started.upstream, status="running")
        _adopt_settings(store, slug, record, hosts)
        if settings.engine == "swarm":
            store.set_replicas(slug, replicas)
        store.set_app_state(slug, status="running", url=url, current_version=version)
    store.add_event(slug, event, f"v{version} serving at {url}")
    # Recorded first, then the old version goes: a crash in between leaves both serving, and
    # the next command's reconcile stops the one the store does not name.
    pause_for_crash_tests(settings, "deploy:recorded")
    engine.retire(slug, keep=started.name, log=log)
    return Deployed(slug, version, url, started.name, started.healthy_after)


def _adopt_settings(store: Store, slug: str, record: Any, hosts: list[str]) -> None:
    """The serving version's settings become the app's: its limits, domains, name and title."""
    if "limits" in record.settings:
        store.replace_limits(slug, record.settings["limits"])
    store.set_domains(slug, hosts)
    spec = record.spec
    store.set_identity(slug, spec.get("name", slug), spec.get("title", slug),
                       spec.get("kind", "custom"), hosts[0])


def rollback(settings: Settings, slug: str, to: int | None, log: Log,
             restore_data: bool = False) -> Deployed:
    """Deploy an earlier version (by default the one before the current one); today's data is
    kept unless ``restore_data`` restores the snapshot taken while that version was live."""
    from appforge.sandbox.engine import connect

    store = Store(settings.db_path)
    app = store.get_app(slug)
    candidates = [v for v in store.list_versions(slug) if v.image and v.status in
                  ("running", "retired", "deployed", "packaged")]
    if to is None:
        older = [v for v in candidates if app.current_version and v.version < app.current_version]
        if not older:
            raise InvalidInput(f"{slug} has no earlier version to roll back to",
                               hint="`appforge show SLUG` lists its versions")
        to = older[-1].version
    elif to not in {v.version for v in candidates}:
        known = ", ".join(f"v{v.version}" for v in candidates) or "none"
        raise InvalidInput(f"{slug} has no deployable version {to} (deployable: {known})")
    data = backups.before_rollback(settings, store, slug, app.current_version, to,
                                   restore_data, log)
    client = connect(settings)
    done = deploy(client, settings, store, slug, to, log, event="rollback")
    if data is not None:
        backups.restore(client, settings, store, slug, data.id, log)
    answering(client, settings, store, slug, to, log)
    return done


def answering(client: docker.DockerClient, settings: Settings, store: Store, slug: str,
              version: int, log: Log) -> None:
    """Fetch the app through the proxy, as its build's last stage does, before a command says
    it is live: the first request after a switch must find the version that serves now."""
    from appforge.sandbox.deploy import verify_hosts

    spec = store.get_version(slug, version).spec
    verify_hosts(client, settings, store.domains(slug), spec.get("name", slug), log)


def stop(settings: Settings, slug: str, log: Log) -> None:
    """Take the app off the proxy and stop its container; data and versions stay."""
    from appforge.sandbox.engine import connect

    store = Store(settings.db_path)
    app = store.get_app(slug)
    client = connect(settings)
    store.set_app_state(slug, status="stopped")
    apply_store_routes(client, settings, store, log)
    engine_for(settings, client).stop(slug, log)
    store.add_event(slug, "stop", f"v{app.current_version} stopped")


def start(settings: Settings, slug: str, log: Log) -> Deployed:
    """Start the app's current version again and route it."""
    from appforge.sandbox.engine import connect

    store = Store(settings.db_path)
    app = store.get_app(slug)
    if app.current_version is None:
        raise InvalidInput(f"{slug} has never been deployed", hint="build it first")
    client = connect(settings)
    done = deploy(client, settings, store, slug, app.current_version, log, event="start")
    answering(client, settings, store, slug, app.current_version, log)
    return done


def scale(settings: Settings, slug: str, replicas: int, log: Log) -> dict[str, Any]:
    """Run ``replicas`` copies of the app's current version (Swarm), one at a time, the proxy
    answering throughout; kept for its next versions. A stopped app keeps it for its start."""
    from appforge.engines import check_replicas_supported, swarm
    from appforge.sandbox.engine import connect

    check_replicas_supported(settings, replicas)
    store = Store(settings.db_path)
    app = store.get_app(slug)
    if app.current_version is None:
        raise InvalidInput(f"{slug} has never been deployed", hint="build it first")
    spec = {"kind": app.kind, **store.get_version(slug, app.current_version).spec}
    swarm.check_replicas(slug, spec, replicas)
    client = connect(settings)
    engine = engine_for(settings, client)
    seconds = 0.0
    if app.status == "running" and settings.engine == "swarm":
        seconds = engine.scale(slug, spec, replicas, log)
    elif app.status != "running":
        log(f"{slug} is {app.status}: it runs {replicas} when started")
    store.set_replicas(slug, replicas)
    store.add_event(slug, "scale", f"v{app.current_version}: {replicas} replicas")
    described = engine.describe(slug, app.current_version) or {}
    return {"slug": slug, "replicas": replicas, "seconds": round(seconds, 2),
            "running": (described.get("replicas") or {}).get("tasks", [])}


def destroy(settings: Settings, slug: str, keep_data: bool, log: Log) -> list[str]:
    """Remove the app: route, containers, network, images, workspaces, and data unless kept
    (its data is snapshotted first; the snapshots stay)."""
    from appforge.sandbox.engine import connect

    store = Store(settings.db_path)
    store.get_app(slug)
    client = connect(settings)  # before anything changes: no engine, nothing half-done
    if not keep_data:
        backups.snapshot_if_data(client, settings, store, slug, "pre-destroy", log)
    apply_store_routes(client, settings, store, log, exclude=slug)
    removed = engine_for(settings, client).remove_app(slug, keep_data=keep_data)
    shutil.rmtree(settings.workspaces / slug, ignore_errors=True)
    store.delete_app(slug)
    from appforge.chat.threads import forget

    forget(settings, slug)  # a new app of the same name starts a new conversation
    if not store.list_apps():  # the last one: nothing is left for the proxy to serve
        removed += remove_proxy(client, settings)
    return removed


def down(settings: Settings, log: Log) -> list[str]:
    """Take the whole installation offline: every app's containers (stopped gracefully) and
    network, the proxy and the edge network. Data volumes, images, the store and the proxy's
    certificates stay, and every app keeps its intended state: ``up`` brings back the ones that
    should serve. Refused while another appforge process builds or deploys an app."""
    from contextlib import ExitStack

    from appforge.sandbox.engine import connect
    from appforge.store.locks import app_lock_if_free

    store = Store(settings.db_path)
    client = connect(settings)
    apps = store.list_apps()
    removed: list[str] = []
    with ExitStack() as held:
        for app in apps:
            if not held.enter_context(app_lock_if_free(settings.home, app.slug)):
                raise InvalidInput(f"{app.slug} is being built or deployed by another appforge "
                                   "process; nothing was taken down",
                                   hint="run `appforge down` again when it has ended")
        for app in apps:
            gone = engine_for(settings, client).remove_app(app.slug, keep_data=True,
                                                           keep_images=True, graceful=True)
            for what in gone:
                log(f"{app.slug}: removed {what}")
            removed += gone
        for what in remove_proxy(client, settings):
            log(f"removed {what}")
            removed.append(what)
    return removed


def reconcile(settings: Settings, log: Log, client: docker.DockerClient | None = None,
              exclude: str | None = None) -> list[str]:
    """Make the store and the engine agree again, as a controller would, after whatever
    happened while no appforge ran (a kill -9, a crash, a container removed by hand).

    For each app no live process is building or deploying (its lock is free): versions stuck
    mid-build become failed (with why), containers of versions nothing routes to and stray test
    runs and screenshots are removed; then unfinished snapshots and restores are cleared. Runs
    at the start of every command that reads or changes apps; starts nothing (``up`` does).
    Returns what it repaired (``slug: what``), each also logged."""
    from appforge.store.locks import app_lock_if_free

    if client is None:
        client = _engine_or_none(settings)
        if client is None:
            return []
    store = Store(settings.db_path)
    fixed = list(backups.repair(client, settings, log))
    for app in store.list_apps():
        if app.slug == exclude:
            continue
        with app_lock_if_free(settings.home, app.slug) as free:
            if free:
                fixed += [f"{app.slug}: {fix}" for fix in reconcile_app(
                    client, settings, store, store.get_app(app.slug), log)]
    return fixed


def up(settings: Settings, log: Log, exclude: str | None = None,
       repaired: list[str] | None = None, failed: list[str] | None = None) -> list[str]:
    """Bring the proxy back and every app that should be serving; restore all routes.

    First :func:`reconcile` (what it repaired is added to ``repaired`` when given). Apps another
    process is building or deploying are left alone; ``exclude``: an app whose deploy is under
    way (its caller handles it). Returns the apps it started again; an app it could not start is
    added to ``failed`` (``slug: why, and what to try``).
    """
    from docker.errors import DockerException

    from appforge.sandbox.engine import connect
    from appforge.store.locks import app_lock_if_free

    store = Store(settings.db_path)
    client = connect(settings)
    fixed = reconcile(settings, log, client, exclude)
    if repaired is not None:
        repaired.extend(fixed)
    done = []
    for app in store.list_apps():
        if app.slug == exclude:
            continue
        with app_lock_if_free(settings.home, app.slug) as free:
            if not free:
                log(f"{app.slug}: another appforge process is building or deploying it; "
                    "left alone")
                continue
            try:
                if bring_back(client, settings, store, store.get_app(app.slug), log):
                    done.append(app.slug)
            except (AppforgeError, DockerException) as exc:
                hint = getattr(exc, "hint", None)
                why = f"{app.slug}: {exc}" + (f" ({hint})" if hint else "")
                log(f"could not restore {why}")
                if failed is not None:
                    failed.append(why)
    apply_store_routes(client, settings, store, log)
    return done


#: A version's statuses while its build runs; found at rest (its lock free), the build was killed.
MID_BUILD = ("building", "tested", "packaged")
BUILD_STOPPED = "the build stopped (appforge was killed?)"


def reconcile_app(client: docker.DockerClient, settings: Settings, store: Store, app: AppRecord,
                  log: Log) -> list[str]:
    """Undo what a killed build or deploy of ``app`` left behind (each fix logged); the caller
    holds its lock."""
    from docker.errors import DockerException, NotFound

    fixes = []
    for container, what in containers.stray_containers(client, settings, app.slug,
                                                       app.current_version):
        if container.labels.get(LABEL) == "screenshot" and _photographing(
                store, app.slug, container.labels.get(f"{LABEL}.version")):
            continue  # its process removes it when it has the picture
        try:
            if container.status == "running" and container.labels.get(LABEL) == "app":
                container.stop(timeout=10)  # it may be serving: it finishes its requests
            container.remove(force=True)
        except NotFound:
            continue
        except DockerException as exc:
            log(f"{app.slug}: could not remove {container.name}: {exc}")
            continue
        fixes.append(f"removed {container.name} ({what})")
    stuck = [v for v in store.list_versions(app.slug) if v.status in MID_BUILD]
    for v in stuck:
        store.update_version(app.slug, v.version, status="failed", error=BUILD_STOPPED)
        store.add_event(app.slug, "error", f"v{v.version}: {BUILD_STOPPED}")
        fixes.append(f"v{v.version} marked failed: {BUILD_STOPPED}")
    if stuck and app.current_version is None:
        store.set_app_state(app.slug, status="failed")
    for fix in fixes:
        log(f"{app.slug}: {fix}")
    return fixes


def _photographing(store: Store, slug: str, version: str | None) -> bool:
    """Whether the background process photographing ``slug`` v``version`` still runs (the
    screenshot's own pending mark: ``tools.screenshot.screenshot_state``)."""
    from appforge.tools.screenshot import screenshot_state

    try:
        record = store.get_version(slug, int(version or 0))
    except (AppforgeError, ValueError):
        return False  # no such version
    return screenshot_state(record.workspace, "")["status"] == "pending"


def bring_back(client: docker.DockerClient, settings: Settings, store: Store, app: AppRecord,
               log: Log) -> bool:
    """Start the app's current version again if it should serve and does not (True if so;
    raises what its deploy raised when it cannot)."""
    if app.status != "running" or app.current_version is None:
        return False
    if engine_for(settings, client).serving(app.slug, app.current_version):
        return False
    log(f"{app.slug}: v{app.current_version} is not running; starting it")
    image = store.get_version(app.slug, app.current_version).image
    if not image_exists(client, image):
        raise AppforgeError(f"the image of v{app.current_version} ({image}) is no longer in the "
                            "Docker engine (removed by hand, or by an image prune)",
                            hint=f"build it again: `appforge build --app {app.slug} "
                                 "DESCRIPTION`; its data is kept")
    deploy(client, settings, store, app.slug, app.current_version, log, event="restore")
    return True


#: Seconds ``list`` and ``show`` wait for the engine before saying the live state is unknown.


LIVE_TIMEOUT = 10


def _engine_or_none(settings: Settings) -> docker.DockerClient | None:
    from docker.errors import DockerException

    from appforge.sandbox.engine import connect

    try:
        return connect(settings, timeout=LIVE_TIMEOUT)
    except (AppforgeError, DockerException, OSError):
        return None
