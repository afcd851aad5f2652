"""Clearing up after a snapshot or restore that was killed (``kill -9``, a power cut).

A snapshot becomes real only by its folder's atomic rename, so a crash leaves at most an
``<id>.partial`` folder and a helper container: both are removed. A crash during a restore leaves
the marker naming the snapshot and its undo snapshot; that is reported, with the command that
finishes the job, until the next restore of the app succeeds. Apps whose lock another process
holds (a snapshot may be under way there) are left alone.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.backups.catalog import PARTIAL, RESTORING, Log
from appforge.backups.snapshot import ROLE
from appforge.config import Settings
from appforge.sandbox.engine import LABEL

if TYPE_CHECKING:
    import docker


def repair(client: docker.DockerClient, settings: Settings, log: Log) -> list[str]:
    """Remove stray partial snapshots and leftover helper containers; say what was done."""
    from docker.errors import DockerException

    done = []
    label = [f"{LABEL}={ROLE}", f"{LABEL}.instance={settings.instance}"]
    for container in client.containers.list(all=True, filters={"label": label}):
        slug = container.labels.get(f"{LABEL}.app", "")
        if container.status == "running" and _busy(settings.home, slug):
            continue
        try:
            container.remove(force=True)
        except DockerException as exc:
            log(f"could not remove backup helper {container.name}: {exc}")
            continue
        done.append(f"removed leftover backup helper {container.name}")
    root = settings.backups
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if not folder.is_dir() or _busy(settings.home, folder.name):
            continue
        for partial in sorted(folder.glob("*" + PARTIAL)):
            shutil.rmtree(partial, ignore_errors=True)
            done.append(f"removed unfinished snapshot {partial}")
        done += _interrupted_restore(folder)
    for line in done:
        log(line)
    return done


def _interrupted_restore(folder: Path) -> list[str]:
    marker = folder / RESTORING
    if not marker.is_file():
        return []
    slug = folder.name
    try:
        info = json.loads(marker.read_text())
        return [f"a restore of {slug} from {info['from']} was interrupted: its data may be partly "
                f"restored. Finish it with `appforge restore {slug} --from {info['from']} --yes`, "
                f"or go back with `appforge restore {slug} --from {info['undo']} --yes`"]
    except (OSError, ValueError, KeyError, TypeError):
        return [f"a restore of {slug} was interrupted: `appforge backups {slug}` lists the "
                "snapshots to restore"]


def _busy(home: Path, slug: str) -> bool:
    """Whether a process (this one included) holds the app's lock (``store.locks.app_lock``)."""
    path = home / "locks" / f"app-{slug}.lock"
    if not slug or not path.exists():
        return False
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False
