"""Whether two versions of an app keep their data in the same shape, and what a rollback says.

A version's data shape is its plan's entities and their fields (names and types), as the store
keeps them with each version. A rollback to a version of another shape keeps today's data by
default (generated apps only ever add tables and columns, so the older version runs on it); it
names the snapshot taken while that version was live, and ``--restore-data`` brings it back.
"""

from __future__ import annotations

from typing import Any

from appforge.backups import catalog
from appforge.backups.catalog import Backup, Log
from appforge.config import Settings
from appforge.errors import AppNotFound, InvalidInput
from appforge.store import Store


def shape(spec: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Table name -> sorted (field, type) pairs of a plan."""
    return {entity.get("plural", entity.get("name", "")):
            sorted((f.get("name", ""), str(f.get("type", "text")))
                   for f in entity.get("fields", []))
            for entity in spec.get("entities") or []}


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What differs between two plans' data, in words (empty when the shape is the same)."""
    a, b = shape(old), shape(new)
    said = [f"{t}: only in one" for t in sorted(set(a) ^ set(b))]
    for table in sorted(set(a) & set(b)):
        fields_a, fields_b = dict(a[table]), dict(b[table])
        diff = sorted(set(fields_a.items()) ^ set(fields_b.items()))
        if diff:
            said.append(f"{table}: {', '.join(sorted({name for name, _ in diff}))}")
    return said


def differs(store: Store, slug: str, a: int | None, b: int | None) -> list[str]:
    if a is None or b is None or a == b:
        return []
    try:
        return changes(store.get_version(slug, a).spec, store.get_version(slug, b).spec)
    except AppNotFound:
        return []


def before_rollback(settings: Settings, store: Store, slug: str, live: int | None, target: int,
                    restore_data: bool, log: Log) -> Backup | None:
    """Say when ``target``'s data differs from ``live``'s; return the snapshot to restore after
    the rollback (only with ``restore_data``: the newest one taken while ``target`` was live)."""
    match = catalog.newest(settings, slug, version=target)
    if restore_data and match is None:
        raise InvalidInput(f"{slug} has no snapshot taken while v{target} was live, so its data "
                           "cannot be restored with the rollback",
                           hint=f"`appforge backups {slug}` lists the snapshots; roll back "
                           "without --restore-data to keep today's data")
    diff = differs(store, slug, live, target)
    if diff and not restore_data:
        log(f"note: v{target} keeps its data in another shape than v{live} "
            f"({'; '.join(diff)}). Today's data is kept; v{target} runs on it.")
        if match is not None:
            log(f"the snapshot taken while v{target} was live is {match.id}: to bring that data "
                f"back, `appforge restore {slug} --from {match.id} --yes` (after the rollback), "
                f"or roll back with --restore-data")
        else:
            log(f"no snapshot was taken while v{target} was live")
    return match if restore_data else None
