"""Bringing a snapshot back into an app's live data volume, so that it can be undone.

First the current data is snapshotted (reason ``pre-restore``): a restore never loses what it
replaces. Then a helper container (as for snapshots) checks every file of the snapshot against
its manifest and writes it into the live volume: databases through SQLite's backup API (one
transaction, so the running app sees the old rows or the new ones, never a mix, and needs no
restart), other files through a temporary file and a rename; files the snapshot did not have are
removed. A snapshot with a Postgres dump (an app on Postgres) is restored into the app's server
with ``pg_restore``, also as one transaction (``postgres.py`` here). A marker file says a restore
is under way; ``repair`` reports one that a crash left.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from appforge.backups import catalog, postgres, schema
from appforge.backups.catalog import RESTORING, Backup, Log
from appforge.backups.snapshot import run_helper, snapshot, volume_exists
from appforge.config import Settings
from appforge.engines import engine_for
from appforge.errors import BackupFailed, InvalidInput, UnhealthyDeployment
from appforge.sandbox.containers import container_name, volume_name, wait_healthy
from appforge.sandbox.postgres import has_data as has_postgres_data
from appforge.sandbox.postgres import uses_postgres
from appforge.store import Store

if TYPE_CHECKING:
    import docker


@dataclass
class Restored:
    slug: str
    #: The snapshot that is now the app's data.
    backup: Backup
    #: The snapshot of the data it replaced: restoring it undoes this restore.
    undo: Backup
    files: int
    removed: int
    #: The live version was restarted: the snapshot's data has another shape, or the app was
    #: down (crashing on the data the restore replaced, say) and starts again at once.
    restarted: bool = False


def choose(settings: Settings, slug: str, backup_id: str | None) -> Backup:
    """The snapshot named, or else the newest one."""
    if backup_id:
        return catalog.find(settings, slug, backup_id)
    found = catalog.newest(settings, slug)
    if found is None:
        raise InvalidInput(f"{slug} has no snapshots to restore",
                           hint=f"`appforge backup {slug}` takes one")
    return found


def restore(client: docker.DockerClient, settings: Settings, store: Store, slug: str,
            backup_id: str | None, log: Log) -> Restored:
    """Make snapshot ``backup_id`` (default: the newest) the app's data; snapshot it first."""
    app = store.get_app(slug)
    if not volume_exists(client, settings, slug):
        raise InvalidInput(f"{slug} has no data volume ({volume_name(settings, slug)}) to "
                           "restore into", hint=f"deploy it first: `appforge start {slug}`")
    target = choose(settings, slug, backup_id)  # chosen before the pre-restore snapshot exists
    dump = postgres.entry_of(target.path)  # a damaged dump: refused before anything changes
    if dump is not None and not uses_postgres(settings, slug):
        raise InvalidInput(f"snapshot {target.id} holds a Postgres database, and {slug} keeps "
                           "its records in SQLite; nothing was restored",
                           hint=f"restore it into {slug} on Postgres: destroy {slug}, build it "
                                "again with --database postgres, then restore")
    if dump is None and has_postgres_data(client, settings, slug):
        log(f"{target.id} holds no Postgres dump (taken before {slug} used Postgres?): its "
            "database is left as it is")
    log(f"restoring {slug}'s data from {target.id}; first a snapshot of today's data")
    undo = snapshot(client, settings, store, slug, "pre-restore", log, prune=False)
    marker = catalog.app_dir(settings, slug) / RESTORING
    marker.write_text(json.dumps({"from": target.id, "undo": undo.id}))
    try:
        catalog.open_to_helper(target.path)
        report = run_helper(client, settings, slug, "restore", target.id, target.path, {})
        catalog.close_to_others(target.path)
        if not report.get("ok"):
            raise _failed(slug, target, undo, report)
        if dump is not None:
            postgres.restore_from(client, settings, slug, target.path, dump, log)
    finally:
        marker.unlink(missing_ok=True)
    store.add_event(slug, "restore", f"data restored from {target.id} (undo: {undo.id})")
    log(f"restored {report['files']} file(s) from {target.id}; removed {report['removed']} "
        "file(s) it did not have")
    restarted = _restart_if_reshaped(client, settings, store, slug, target, app.current_version,
                                     log)
    if not restarted and app.status == "running":
        restarted = _start_if_down(client, settings, slug, app.current_version, log)
    catalog.prune(settings, slug, log)
    return Restored(slug, target, undo, report["files"], report["removed"], restarted)


def _restart_if_reshaped(client: docker.DockerClient, settings: Settings, store: Store,
                         slug: str, target: Backup, live: int | None, log: Log) -> bool:
    """A generated app adapts its tables when it starts: after data of another shape, restart
    the live version so it does (a moment without answers, instead of errors)."""

    diff = schema.differs(store, slug, target.version, live)
    if not diff or live is None:
        return False
    log(f"the snapshot is from v{target.version}, whose data has another shape "
        f"({'; '.join(diff)}): restarting v{live} so it adapts it")
    return engine_for(settings, client).restart(slug, live, log)


def _start_if_down(client: docker.DockerClient, settings: Settings, slug: str,
                   live: int | None, log: Log) -> bool:
    """An app meant to run that is down now (crashing on its data, killed, waiting out the
    engine's restart backoff, up to a minute) starts again at once on the restored data."""
    from docker.errors import DockerException, NotFound

    from appforge.sandbox import live_state

    if live is None:
        return False
    if settings.engine == "swarm":  # Swarm restarts failed tasks itself; no backoff to cut
        return False
    name = container_name(settings, slug, live)
    state = live_state.read(client, name)
    if state["live"] not in ("crash-looping", "restarting", "out-of-memory", "stopped"):
        return False
    log(f"v{live} was {state['live']}: starting it again now on the restored data")
    try:
        container = client.containers.get(name)
        container.restart(timeout=10)
        wait_healthy(container, settings.health_timeout)
    except NotFound:
        return False
    except UnhealthyDeployment as exc:  # the data is restored all the same: say so, go on
        log(f"{exc}; `appforge logs {slug}` shows why")
    except DockerException as exc:
        log(f"could not start {name}: {exc}")
    return True


def _failed(slug: str, target: Backup, undo: Backup, report: dict[str, object]) -> BackupFailed:
    back = f"`appforge restore {slug} --from {undo.id} --yes`"
    if report.get("error") == "damaged":
        return BackupFailed(f"snapshot {target.id} of {slug} is damaged: {report.get('message')}."
                            " Nothing was restored", hint="choose another snapshot")
    if report.get("error") == "disk-full":
        return BackupFailed(f"the disk of {slug}'s data volume is full: the restore from "
                            f"{target.id} stopped ({report.get('message')}). Some files may be "
                            f"restored already; {back} puts back the data as it was",
                            hint="free space on the Docker engine's disk, then restore again")
    return BackupFailed(f"the restore of {slug} from {target.id} failed: "
                        f"{report.get('message')}. {back} puts back the data as it was",
                        detail=str(report.get("output") or "") or None)
