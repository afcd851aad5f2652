"""`appforge build`: describe an app, get it running; progress per stage."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from appforge.cli import JsonFlag, WaitOption, app, err, fail, load_settings, out
from appforge.cli.progress import BuildProgress
from appforge.errors import AppforgeError, Interrupted


@app.command()
def build(
    description: Annotated[str, typer.Argument(help="What the app is, in your own words.")]
    = "",
    as_json: JsonFlag = False,
    app_slug: Annotated[str | None, typer.Option(
        "--app", help="Build a new version of this app (blue/green redeploy).")] = None,
    domain: Annotated[list[str] | None, typer.Option(
        "--domain", help="Domain to answer at (repeat for several).")] = None,
    planner: Annotated[str | None, typer.Option(help="Planner to use (default: settings).")] = None,
    memory: Annotated[str | None, typer.Option(help="Memory limit for this app, e.g. 512m.")]
    = None,
    cpus: Annotated[float | None, typer.Option(help="CPU limit for this app, e.g. 0.5.")] = None,
    pids: Annotated[int | None, typer.Option(help="Process limit for this app.")] = None,
    max_body: Annotated[str | None, typer.Option(
        "--max-body", help="Largest request body this app takes, e.g. 10m (default 1m); "
        "larger ones get 413.")] = None,
    database: Annotated[str | None, typer.Option(
        "--database", help="Where a CRUD app keeps its records: sqlite (default, in its data "
        "volume) or postgres (a Postgres server of its own, which replicas can share); a "
        "rebuild keeps the app's.")] = None,
    replicas: Annotated[int | None, typer.Option(
        "--replicas", min=1, max=100, help="Copies of the app to run (APPFORGE_ENGINE=swarm; "
        "apps that keep data in SQLite run one); a rebuild keeps the app's.")] = None,
    resume: Annotated[str | None, typer.Option(
        help="Go on with a build that stopped (its id is in the error's hint).")] = None,
    wait: WaitOption = None,
) -> None:
    """Plan, write, test, package and deploy an app; print its URL."""
    from appforge import interrupts
    from appforge.agent.run import build as run_build

    interrupts.install()  # a Ctrl-C stops the step under way too, not only the main thread
    settings = load_settings()
    if wait is not None:
        settings = settings.model_copy(update={"lock_wait": wait})
    progress = BuildProgress(err if as_json else out)
    try:
        result = run_build(description, settings, on_event=progress, planner=planner,
                           app=app_slug, domains=domain,
                           limits={"memory": memory, "cpus": cpus, "pids": pids,
                                   "body": max_body},
                           resume=resume, database=database, replicas=replicas)
    except KeyboardInterrupt:  # before the build had anything to record
        progress.close()
        fail(Interrupted(interrupts.MESSAGE), now=True)
        return
    except AppforgeError as exc:
        progress.close()
        fail(exc, now=interrupts.interrupted())  # worker threads still busy are not waited for
        return
    progress.close()
    if as_json:
        print(json.dumps(result.as_json()))
        return
    out.print()
    out.print(f"[bold green]✓[/] {result.title} v{result.version} is live at "
              f"[bold underline]{result.url}[/]", highlight=False)
    stages = "  ".join(f"{k} {v:.1f}s" for k, v in result.timings.items() if k != "total")
    out.print(f"  {stages}  [bold]total {result.timings['total']:.1f}s[/]", style="dim",
              highlight=False)
    out.print(f"  workspace: {result.workspace}", style="dim", highlight=False)
