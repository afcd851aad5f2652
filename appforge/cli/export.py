"""``appforge export``: an app as a git repository that runs without appforge (``export/``)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from appforge.cli import (
    JsonFlag,
    WaitOption,
    app,
    fail,
    load_settings,
    locked,
    log_to,
    out,
    reconciled,
)
from appforge.errors import AppforgeError


@app.command()
def export(slug: Annotated[str, typer.Argument(help="The app to export.")],
           folder: Annotated[Path, typer.Argument(
               help="A new or empty folder outside appforge's data dir.")],
           image: Annotated[bool, typer.Option(
               "--image", help="Also save the live version's image (docker save) in images/.")]
           = False,
           data: Annotated[bool, typer.Option(
               "--data", help="Also copy the app's data, consistently, into snapshot/.")]
           = False,
           as_json: JsonFlag = False,
           wait: WaitOption = None) -> None:
    """Export an app: a git repository with one commit per version, a compose.yaml that runs
    the live version with appforge's hardening, and a README; optionally its image and data."""
    from appforge.export import export_app

    settings = load_settings()
    reconciled(settings, as_json)
    try:
        # The image and the data are read from the engine: no deploy, restore or destroy of
        # the app meanwhile. The history alone reads only finished versions.
        with locked(settings, slug, wait) if image or data else nullcontext():
            done = export_app(settings, slug, folder, log_to(as_json), image=image, data=data)
    except AppforgeError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(done.as_json()))
        return
    versions = ", ".join(f"v{v}" for v in done.versions)
    out.print(f"[bold green]✓[/] exported {slug} to {done.folder}: {len(done.commits)} "
              f"commit(s) ({versions}), live v{done.live_version} in compose.yaml",
              highlight=False)
    for path in done.images:
        out.print(f"  image: {path}", highlight=False)
    if done.data is not None:
        out.print(f"  data: {done.folder / 'snapshot'} ({len(done.data['files'])} file(s)"
                  f"{', a Postgres dump' if 'postgres' in done.data else ''}); load it with "
                  "sh snapshot/load.sh", highlight=False)
    if done.skipped:
        out.print(f"  [dim]left out (never built): {', '.join(done.skipped)}[/]",
                  highlight=False)
    out.print(f"  run it: cd {done.folder} && docker compose up -d", highlight=False)
