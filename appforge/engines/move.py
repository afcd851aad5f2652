"""``appforge move SLUG NODE``: an app that keeps data, and its data, to another node of the swarm.

An app with a data volume runs one replica, pinned to the node that holds the volume (the
manager's at first). Moving it is always explicit and always copies, never a fresh volume:

1. the app stops (its one replica: no write can happen after the copy is taken);
2. a snapshot of its data is taken where it is (``snapshot.py``; through ``remote.py`` when that
   is not the manager): it is kept with the app's other snapshots, reason ``move``;
3. the snapshot is restored onto the app's volume on the new node (checked file by file against
   its manifest first);
4. the app's pin (the store's ``apps.node``, the service's placement) names the new node and the
   app starts there, health-gated; only then is the old copy emptied (the snapshot keeps it).

A failure before the app runs on the new node puts it back where it was, on its data there,
untouched. When the node holding the data is down, its data cannot be read: ``--from-snapshot
ID`` starts the app on the new node from one of its snapshots instead (the newest, or the one
named), and says how old it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from appforge.errors import AppforgeError, InvalidInput

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings
    from appforge.store import Store

Log = Callable[[str], None]


def find_node(client: docker.DockerClient, name: str) -> dict[str, Any]:
    """The node called ``name`` (hostname or ID): its ID, hostname, state and availability."""
    from appforge.engines.cluster import get_node

    attrs = get_node(client, name).attrs
    return {"id": attrs["ID"], "hostname": (attrs.get("Description") or {}).get("Hostname", ""),
            "state": (attrs.get("Status") or {}).get("State", ""),
            "availability": (attrs.get("Spec") or {}).get("Availability", "")}


def node_row(client: docker.DockerClient, node_id: str) -> dict[str, Any]:
    try:
        return find_node(client, node_id)
    except InvalidInput:
        return {"id": node_id, "hostname": node_id[:12], "state": "gone", "availability": ""}


def move(settings: Settings, store: Store, client: docker.DockerClient, slug: str,
         target_name: str, log: Log, from_snapshot: str | None = None) -> dict[str, Any]:
    from docker.errors import DockerException

    from appforge.backups import catalog
    from appforge.backups.snapshot import snapshot
    from appforge.engines import swarm
    from appforge.engines.cluster import require_manager

    if settings.engine != "swarm":
        raise InvalidInput("`appforge move` moves an app to another node of a swarm: "
                           "APPFORGE_ENGINE is docker, where every app runs on this engine",
                           hint="`appforge cluster init`, then set APPFORGE_ENGINE=swarm")
    from appforge.engines import registry

    manager = require_manager(client)
    registry.login(client, settings)  # service updates pass the credential on to the nodes
    app = store.get_app(slug)
    if app.current_version is None:
        raise InvalidInput(f"{slug} has never been deployed: there is nothing to move",
                           hint="build it first")
    spec = {"kind": app.kind, **store.get_version(slug, app.current_version).spec}
    if not swarm.keeps_files(spec):
        raise InvalidInput(f"{slug} keeps no data on a node: Swarm runs its replicas on any "
                           "node already, and moves them itself when a node drains",
                           hint=f"`appforge scale {slug} N` runs more of them")
    target = find_node(client, target_name)
    source = node_row(client, app.node or manager.node_id)
    if target["id"] == source["id"]:
        raise InvalidInput(f"{slug}'s data is on {target['hostname']} already")
    if target["state"] != "ready" or target["availability"] != "active":
        raise InvalidInput(f"{target['hostname']} is {target['state']} and "
                           f"{target['availability']}: it cannot run {slug}",
                           hint=f"`appforge cluster activate {target['hostname']}`")
    backup = None
    if from_snapshot is not None:
        backup = catalog.find(settings, slug, from_snapshot) if from_snapshot != "newest" else \
            catalog.newest(settings, slug)
        if backup is None:
            raise InvalidInput(f"{slug} has no snapshot to start it from",
                               hint=f"`appforge backups {slug}` lists them")
    elif source["state"] != "ready":
        newest = catalog.newest(settings, slug)
        raise InvalidInput(
            f"{source['hostname']}, which holds {slug}'s data, is {source['state']}: its data "
            "cannot be copied from there", hint=(
                f"`appforge move {slug} {target['hostname']} --from-snapshot newest` starts it "
                f"there from snapshot {newest.id} (taken {_age(newest.created_at)} ago)"
                if newest else "bring the node back, then move it"))
    started = time.monotonic()
    service = swarm.get_service(client, settings, slug)
    # What the app should run afterwards is what the store says (the service may show 0 after
    # an earlier move that could not put it back on a node that had just died).
    replicas = 1 if app.status == "running" and service is not None else 0
    if service is not None and swarm.wanted_replicas(service):
        log(f"stopping {slug} on {source['hostname']} for the copy")
        swarm.scale(client, settings, slug, 0, log)
    try:
        if backup is None:
            backup = snapshot(client, settings, store, slug, "move", log)
        _restore_onto(client, settings, slug, backup, target, log)
        _pin(client, settings, store, slug, target["id"])
        if replicas:
            swarm.scale(client, settings, slug, replicas, log)
    except BaseException as exc:
        log(f"the move failed ({exc}): {slug} goes back to {source['hostname']}, on its data "
            "there")
        _pin(client, settings, store, slug, source["id"] if source["id"] != manager.node_id
             else None)
        if replicas and source["state"] == "ready":
            try:
                swarm.scale(client, settings, slug, replicas, log)
            except (AppforgeError, DockerException) as again:  # the first error is the news
                log(f"{slug} could not start on {source['hostname']} again either: {again}")
        if isinstance(exc, DockerException):
            raise AppforgeError(f"moving {slug} to {target['hostname']} failed: {exc}; it "
                                f"runs on {source['hostname']} again, on its data there") from exc
        raise
    if from_snapshot is None:
        _empty_old_copy(client, settings, slug, source, backup.id, log)
    seconds = time.monotonic() - started
    store.add_event(slug, "move", f"{source['hostname']} -> {target['hostname']} "
                    f"({backup.id}, {seconds:.1f} s)")
    log(f"{slug} runs on {target['hostname']} with its data ({backup.files} file(s))")
    return {"slug": slug, "from": source["hostname"], "to": target["hostname"],
            "snapshot": backup.id, "files": backup.files, "size": backup.size,
            "started": bool(replicas), "seconds": round(seconds, 2)}


def _restore_onto(client: docker.DockerClient, settings: Settings, slug: str, backup: Any,
                  node: dict[str, Any], log: Log) -> None:
    """Snapshot ``backup`` onto the app's volume on ``node`` (made there from the app's image,
    so it has the app's owner, on the manager too), checked against its manifest first."""
    from appforge.backups import catalog, remote
    from appforge.backups.snapshot import helper_name
    from appforge.errors import BackupFailed

    log(f"copying snapshot {backup.id} onto {slug}'s volume on {node['hostname']}")
    catalog.open_to_helper(backup.path)
    try:
        report = remote.run(client, settings, slug, node["id"], "restore",
                            helper_name(settings, slug, "move", backup.id),
                            backup.path, {})
    finally:
        catalog.close_to_others(backup.path)
    if not report.get("ok"):
        raise BackupFailed(f"copying {slug}'s data onto {node['hostname']} failed: "
                           f"{report.get('message')}", detail=report.get("output") or None)


def _pin(client: docker.DockerClient, settings: Settings, store: Store, slug: str,
         node: str | None) -> None:
    """Make ``node`` (None: the manager) the app's, in the store and in its service."""
    from appforge.engines import swarm
    from appforge.engines.cluster import swarm_state

    store.set_node(slug, node)
    service = swarm.get_service(client, settings, slug)
    if service is None:
        return
    service.reload()
    placement = service.attrs["Spec"]["TaskTemplate"].get("Placement") or {}
    kept = [c for c in placement.get("Constraints") or [] if not c.startswith("node.id==")]
    service.update(constraints=[*kept, f"node.id=={node or swarm_state(client).node_id}"])


def _empty_old_copy(client: docker.DockerClient, settings: Settings, slug: str,
                    source: dict[str, Any], backup_id: str, log: Log) -> None:
    """The copy left on the old node is emptied (snapshot ``backup_id`` keeps it): a later
    move back, or a look at the volume, never finds data older than the app's."""
    from docker.errors import DockerException

    from appforge.backups import remote
    from appforge.backups.snapshot import helper_name

    try:
        report = remote.run(client, settings, slug, source["id"], "wipe",
                            helper_name(settings, slug, "wipe", backup_id), None, {})
        if not report.get("ok"):
            raise InvalidInput(str(report.get("message")))
        log(f"emptied the old copy on {source['hostname']} (snapshot {backup_id} keeps it)")
    except (AppforgeError, DockerException) as exc:
        log(f"the old copy on {source['hostname']} stays ({exc}); it is no longer used")


def _age(when: float) -> str:
    seconds = max(0.0, time.time() - when)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"
