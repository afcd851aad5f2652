"""Clearing up after a snapshot or restore that was killed (``kill -9``, a power cut).

A snapshot becomes real only by its folder's atomic rename, so a crash leaves at most an
``<id>.partial`` folder and a helper container: both are removed. A crash during a restore leaves
the marker naming the snapshot and its undo snapshot; that is reported, with the command that
finishes the job, until the next restore of the app succeeds. Apps whose lock another process
holds (a snapshot may be under way there) are left alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.backups.catalog import PARTIAL, RESTORING, Log
from appforge.backups.snapshot import ROLE
from appforge.config import Settings
from appforge.sandbox.engine import LABEL
from appforge.store.locks import app_lock_if_free

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container


def repair(client: docker.DockerClient, settings: Settings, log: Log) -> list[str]:
    """Remove stray partial snapshots and leftover helper containers; say what was done."""
    label = [f"{LABEL}={ROLE}", f"{LABEL}.instance={settings.instance}"]
    helpers: dict[str, list[Container]] = {}
    for container in client.containers.list(all=True, filters={"label": label},
                                            ignore_removed=True):
        helpers.setdefault(container.labels.get(f"{LABEL}.app", ""), []).append(container)
    root = settings.backups
    folders = {p.name: p for p in root.iterdir() if p.is_dir()} if root.is_dir() else {}
    done = []
    for slug in sorted(set(helpers) | set(folders)):
        # A process holding the app's lock (this one included) may be taking a snapshot.
        with app_lock_if_free(settings.home, slug) as free:
            if free:
                done += _remove(helpers.get(slug, []), log)
                done += _clear(folders[slug]) if slug in folders else []
    for line in done:
        log(line)
    return done


def _remove(helpers: list[Container], log: Log) -> list[str]:
    from docker.errors import DockerException

    done = []
    for container in helpers:
        try:
            container.remove(force=True)
        except DockerException as exc:
            log(f"could not remove backup helper {container.name}: {exc}")
            continue
        done.append(f"removed leftover backup helper {container.name}")
    return done


def _clear(folder: Path) -> list[str]:
    done = []
    for partial in sorted(folder.glob("*" + PARTIAL)):
        shutil.rmtree(partial, ignore_errors=True)
        done.append(f"removed unfinished snapshot {partial}")
    return done + _interrupted_restore(folder)


def _interrupted_restore(folder: Path) -> list[str]:
    marker = folder / RESTORING
    if not marker.is_file():
        return []
    slug = folder.name
    try:
        info = json.loads(marker.read_text())
        said = (f"a restore of {slug} from {info['from']} was interrupted: its data may be partly "
                f"restored. Finish it with `appforge restore {slug} --from {info['from']} --yes`, "
                f"or go back with `appforge restore {slug} --from {info['undo']} --yes`")
    except (OSError, ValueError, KeyError, TypeError):
        said = (f"a restore of {slug} was interrupted: `appforge backups {slug}` lists the "
                "snapshots to restore")
    return [said]
