"""Taking a snapshot of an app's data volume, in a short-lived hardened helper container.

An app on Postgres has its records dumped into the snapshot too (``postgres.py`` here).

The helper runs from the Python base image with the app's volume at /data and a fresh host folder
``<backups>/<slug>/<id>.partial`` at /backup, as uid 10001 with no network, and runs
``helper.py``. Only when it reports success is the folder renamed to ``<id>``; any failure (a
full disk in the helper or on the host, an engine error, Ctrl-C) removes the partial folder and
changes nothing else: the app keeps serving and its volume is only read. Then the oldest
snapshots beyond ``backup_keep`` go.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.backups import catalog, postgres, remote
from appforge.backups.catalog import PARTIAL, Backup, Log
from appforge.config import Settings
from appforge.errors import BackupFailed, InvalidInput
from appforge.sandbox.containers import app_labels, volume_name
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import hardened_run_kwargs
from appforge.sandbox.postgres import has_data as has_postgres_data
from appforge.store import Store

if TYPE_CHECKING:
    import docker

#: The ``io.appforge`` role label of helper containers (``repair`` finds leftovers by it).
ROLE = "backup"
HELPER = Path(__file__).with_name("helper.py")
DISK_FULL_HINT = ("free some space there, set APPFORGE_BACKUP_DIR to a larger disk, or keep "
                  "fewer snapshots (APPFORGE_BACKUP_KEEP)")


def helper_name(settings: Settings, slug: str, mode: str, backup_id: str) -> str:
    word = {"snapshot": "backup"}.get(mode, mode)
    return f"{settings.instance}-{slug}-{word}-{backup_id}"


def run_helper(client: docker.DockerClient, settings: Settings, slug: str, mode: str,
               backup_id: str, folder: Path, options: dict[str, Any]) -> dict[str, Any]:
    """Run ``helper.py mode`` on the app's volume and ``folder``; return its JSON report
    (``ok`` false and ``error`` set when it failed). On a swarm, data on another node than the
    manager's is reached through ``remote.py``."""
    from docker.errors import DockerException, ImageNotFound, NotFound

    name = helper_name(settings, slug, mode, backup_id)
    node = remote.node_of(settings, slug)
    if remote.is_remote(client, node):
        assert node is not None
        return remote.run(client, settings, slug, node, mode, name, folder, options)
    try:
        client.containers.get(name).remove(force=True)  # left by a run that was killed
    except NotFound:
        pass
    mounts = {volume_name(settings, slug): {"bind": "/data", "mode": "rw"},
              str(folder): {"bind": "/backup", "mode": "rw" if mode == "snapshot" else "ro"}}
    try:
        container = client.containers.run(
            settings.python_base_image, ["python3", "-c", HELPER.read_text(), mode,
                                         json.dumps(options)],
            detach=True, name=name, network_mode="none", volumes=mounts,
            labels={**app_labels(settings, slug, ROLE), f"{LABEL}.backup": backup_id},
            **hardened_run_kwargs(settings))
    except ImageNotFound:
        raise BackupFailed(f"the backup helper needs the image {settings.python_base_image}, "
                           "which is not on this machine",
                           hint="`appforge doctor --fix` makes the base images") from None
    except DockerException as exc:
        raise BackupFailed(f"could not start the backup helper for {slug}: {exc}") from exc
    try:
        status = container.wait()["StatusCode"]
        output = container.logs().decode(errors="replace")
    finally:
        try:
            container.remove(force=True)
        except DockerException:
            pass
    return report_of(status, output)


def report_of(status: int, output: str) -> dict[str, Any]:
    lines = output.strip().splitlines()
    try:
        report = json.loads(lines[-1]) if lines else {}
    except ValueError:
        report = {}
    if status == 0 and report.get("ok"):
        return report
    if not isinstance(report, dict) or "error" not in report:
        report = {"ok": False, "error": "failed",
                  "message": f"the helper exited with code {status}"}
    report["output"] = output[-4000:]
    return report


def volume_exists(client: docker.DockerClient, settings: Settings, slug: str) -> bool:
    if remote.is_remote(client, remote.node_of(settings, slug)):
        return True  # on the node it was moved to, which the manager cannot look into
    return _volume(client, settings, slug) is not None


def _volume(client: docker.DockerClient, settings: Settings, slug: str) -> Any:
    from docker.errors import NotFound

    try:
        return client.volumes.get(volume_name(settings, slug))
    except NotFound:
        return None


def _known_empty(volume: Any, settings: Settings) -> bool:
    """Whether the volume holds nothing at all, as far as this machine can see: only a local
    engine's volume folder is looked at (its names, never a file's content or a link); where it
    cannot be read (a remote or rootless engine), the volume counts as holding data."""
    if settings.docker_host:
        return False
    try:
        with os.scandir(volume.attrs.get("Mountpoint") or "/nonexistent") as entries:
            return next(entries, None) is None
    except OSError:
        return False


def snapshot(client: docker.DockerClient, settings: Settings, store: Store, slug: str,
             reason: str, log: Log, prune: bool = True) -> Backup:
    """Copy the app's data volume, consistently, into a new snapshot; keep the newest few."""
    if not volume_exists(client, settings, slug):
        raise InvalidInput(f"{slug} has no data yet (it was never deployed)")
    app = store.find_app(slug)
    version = app.current_version if app else None
    root = catalog.app_dir(settings, slug)
    partial: Path | None = None
    start = time.monotonic()
    try:
        catalog.app_dir(settings, slug, create=True)
        backup_id = catalog.free_id(root, reason)
        partial = root / (backup_id + PARTIAL)
        partial.mkdir(mode=0o700)
        meta = {"id": backup_id, "slug": slug, "version": version, "reason": reason,
                "created_at": time.time(), "volume": volume_name(settings, slug)}
        # The records of an app on Postgres first, then the files they point at.
        dump = postgres.dump_into(client, settings, slug, partial, log)
        umask = catalog.open_to_helper(partial)
        report = run_helper(client, settings, slug, "snapshot", backup_id, partial,
                            {"meta": meta, "umask": umask})
        catalog.close_to_others(partial)
        if not report.get("ok"):
            raise _failed(slug, report, root)
        if dump is not None:
            postgres.add_to_manifest(partial, dump)
        os.rename(partial, root / backup_id)
        _sync_folder(root)
    except OSError as exc:
        _discard(partial)
        raise _failed(slug, _os_report(exc), root) from exc
    except BaseException:
        _discard(partial)
        raise
    backup = catalog.read(root / backup_id, slug)
    log(f"snapshot {backup.id}: {backup.files} file(s), {catalog.size_label(backup.size)} "
        f"in {time.monotonic() - start:.1f} s")
    if app is not None:
        store.add_event(slug, "backup", f"snapshot {backup.id} ({reason})")
    if prune:
        catalog.prune(settings, slug, log)
    return backup


def snapshot_if_data(client: docker.DockerClient, settings: Settings, store: Store, slug: str,
                     reason: str, log: Log) -> Backup | None:
    """A snapshot before something replaces or removes the app's data; None when it has none
    (no volume, or an empty one: a gallery writes nothing, so there is nothing to keep)."""
    if remote.is_remote(client, remote.node_of(settings, slug)):
        return snapshot(client, settings, store, slug, reason, log)
    volume = _volume(client, settings, slug)
    if volume is None:
        return None
    if _known_empty(volume, settings) and not has_postgres_data(client, settings, slug):
        log(f"no snapshot: {slug}'s data volume is empty")
        return None
    return snapshot(client, settings, store, slug, reason, log)


def _os_report(exc: OSError) -> dict[str, Any]:
    import errno

    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return {"ok": False, "error": "disk-full" if full else "failed",
            "message": f"{type(exc).__name__}: {exc}"}


def _failed(slug: str, report: dict[str, Any], root: Path) -> BackupFailed:
    """The error for a snapshot that did not complete (its partial folder is removed)."""
    if report.get("error") == "disk-full":
        return BackupFailed(
            f"the disk is full: the snapshot of {slug}'s data could not be written to {root} "
            f"({report.get('message', '')}). Nothing was changed: the app and its data are as "
            "they were", hint=DISK_FULL_HINT)
    return BackupFailed(f"the snapshot of {slug}'s data failed: {report.get('message', '')}. "
                        "Nothing was changed: the app and its data are as they were",
                        detail=report.get("output") or None)


def _discard(partial: Path | None) -> None:
    if partial is not None:
        shutil.rmtree(partial, ignore_errors=True)


def _sync_folder(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
