"""Commands on app data: backup (take a snapshot), backups (list them), restore (bring one back).

Snapshots live in ``$APPFORGE_HOME/backups/<slug>/`` (``APPFORGE_BACKUP_DIR``), the newest
``APPFORGE_BACKUP_KEEP`` per app; deploys, rollbacks, restores and destroys take one first.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer

from appforge.cli import (
    JsonFlag,
    WaitOption,
    app,
    fail,
    load_settings,
    on_app,
    out,
    reconciled,
)
from appforge.errors import AppforgeError, InvalidInput


@app.command()
def backup(slug: Annotated[str, typer.Argument(help="The app whose data to snapshot.")],
           as_json: JsonFlag = False,
           wait: WaitOption = None) -> None:
    """Snapshot an app's data now (SQLite consistently, while it keeps serving)."""
    from appforge.backups import snapshot
    from appforge.sandbox.engine import connect
    from appforge.store import Store

    def take(settings: Any, log: Any) -> Any:
        store = Store(settings.db_path)
        store.get_app(slug)
        return snapshot(connect(settings), settings, store, slug, "manual", log)

    taken = on_app(slug, wait, as_json, take)
    if as_json:
        print(json.dumps(taken.as_json()))
    else:
        out.print(f"[bold green]✓[/] backed up {slug}: {taken.id} ({taken.files} file(s), "
                  f"{_size(taken.size)}) in {taken.path.parent}", highlight=False)


@app.command("backups")
def list_backups(slug: Annotated[str, typer.Argument(help="The app whose snapshots to list.")],
                 as_json: JsonFlag = False) -> None:
    """List an app's snapshots, newest first (they outlive a destroyed app)."""
    from rich.console import Console
    from rich.table import Table

    from appforge.backups import list_backups as found
    from appforge.spec import validate_slug

    settings = load_settings()
    try:
        validate_slug(slug)
    except AppforgeError as exc:
        fail(exc)
        return
    reconciled(settings, as_json)  # an unfinished snapshot a killed backup left is cleared
    rows = found(settings, slug)
    if as_json:
        print(json.dumps([b.as_json() for b in rows]))
        return
    if not rows:
        out.print(f"No backups of {slug} yet. Take one: appforge backup {slug}", highlight=False)
        return
    # The id (UTC time and reason) is what people copy: it is never shortened; "when" is local.
    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=max(len(b.id) for b in rows))
    table.add_column("reason", no_wrap=True, overflow="ellipsis")
    for header in ("version", "size", "files", "when"):
        table.add_column(header, no_wrap=True)
    for b in rows:
        table.add_row(b.id, b.reason if b.status == "complete" else f"{b.reason} (damaged)",
                      f"v{b.version}" if b.version else "-", _size(b.size), str(b.files),
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(b.created_at))
                      if b.created_at else "-")
    # Piped, rich would squeeze the table into 80 columns and cut the ids people copy.
    (out if out.is_terminal else Console(file=out.file, width=160, soft_wrap=True)).print(table)
    out.print(f"in {settings.backups / slug}; keeping the newest {settings.backup_keep}",
              style="dim", highlight=False)


@app.command()
def restore(
    slug: Annotated[str, typer.Argument(help="The app whose data to restore.")],
    from_id: Annotated[str | None, typer.Option("--from", help="Snapshot id (default: the "
                                                "newest; `appforge backups SLUG` lists them).")]
    = None,
    yes: Annotated[bool, typer.Option("--yes", help="Replace the app's data (required).")]
    = False,
    as_json: JsonFlag = False,
    wait: WaitOption = None,
) -> None:
    """Bring an app's data back from a snapshot while it serves (today's is snapshotted first)."""
    from appforge.backups import restore as restore_data
    from appforge.sandbox.engine import connect
    from appforge.store import Store

    if not yes:
        fail(InvalidInput(f"restore replaces the data of {slug} with a snapshot: add --yes to "
                          "do it", hint="today's data is snapshotted first, so it can be undone "
                          f"with another restore; `appforge backups {slug}` lists the snapshots"))
        return
    done = on_app(slug, wait, as_json, lambda settings, log: restore_data(
        connect(settings), settings, Store(settings.db_path), slug, from_id, log))
    if as_json:
        print(json.dumps({"slug": slug, "restored": done.backup.as_json(),
                          "undo": done.undo.as_json(), "files": done.files,
                          "removed": done.removed, "restarted": done.restarted}))
        return
    out.print(f"[bold green]✓[/] restored {slug} from {done.backup.id} ({done.files} file(s))",
              highlight=False)
    out.print(f"  undo: appforge restore {slug} --from {done.undo.id} --yes", highlight=False)


def _size(size: Any) -> str:
    from appforge.backups.catalog import size_label

    return size_label(int(size))
