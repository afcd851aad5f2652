"""The ``appforge`` command line: build, list, destroy, doctor.

Commands say what they did in a line or a table, or print one JSON object with ``--json``. Errors
from appforge are one clear message (with a hint and the relevant log lines) and an exit code;
``--debug`` shows the stack trace. Heavy modules load inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from appforge.errors import AppforgeError

app = typer.Typer(
    name="appforge",
    help="Turn a description of an app into a running app at its own domain.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
_state = {"debug": False}

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show stack traces.")] = False,
) -> None:
    _state["debug"] = debug


def _settings() -> Any:
    from appforge.config import Settings

    return Settings()


def _fail(exc: AppforgeError) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False)
    if exc.detail:
        err.print(exc.detail.rstrip(), style="dim", highlight=False, markup=False)
    if exc.hint:
        err.print(f"[yellow]hint:[/] {exc.hint}", highlight=False)
    if _state["debug"]:
        err.print_exception()
    raise typer.Exit(exc.exit_code)


@app.command()
def build(
    description: Annotated[str, typer.Argument(help="What the app is, in your own words.")],
    as_json: JsonFlag = False,
    planner: Annotated[str | None, typer.Option(help="Planner to use (default: settings).")] = None,
) -> None:
    """Plan, write, test, package and deploy an app; print its URL."""
    from appforge.agent.run import build as run_build

    settings = _settings()
    progress = _Progress(err if as_json else out)
    try:
        result = run_build(description, settings, on_event=progress, planner=planner)
    except AppforgeError as exc:
        progress.close()
        _fail(exc)
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


class _Progress:
    """Prints one line per stage as the build streams its events."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status = console.status("starting", spinner="dots") if console.is_terminal else None
        if self.status:
            self.status.start()

    def __call__(self, event: dict[str, Any]) -> None:
        stage = event.get("stage", "")
        if event.get("event") == "start":
            if self.status:
                self.status.update(f"{stage} …")
        elif event.get("event") == "end":
            self.console.print(f"[green]✓[/] {stage:<12} {event['seconds']:6.2f}s",
                               highlight=False)
        elif "message" in event:
            self.console.print(f"  [dim]{stage:<12} {event['message']}[/]", highlight=False,
                               markup=True)

    def close(self) -> None:
        if self.status:
            self.status.stop()


@app.command("list")
def list_apps(as_json: JsonFlag = False) -> None:
    """List the apps appforge built, with their status, version and URL."""
    from rich.table import Table

    from appforge.store import Store

    apps = Store(_settings().db_path).list_apps()
    if as_json:
        print(json.dumps([{"slug": a.slug, "title": a.title, "kind": a.kind,
                           "version": a.current_version, "status": a.status, "url": a.url,
                           "host": a.host} for a in apps]))
        return
    if not apps:
        out.print('No apps yet. Try: appforge build "a todo list"')
        return
    table = Table("slug", "title", "kind", "version", "status", "url", box=None)
    for a in apps:
        colour = {"running": "green", "failed": "red"}.get(a.status, "yellow")
        table.add_row(a.slug, a.title, a.kind, f"v{a.current_version}" if a.current_version
                      else "-", f"[{colour}]{a.status}[/]", a.url or "-")
    out.print(table)


@app.command()
def destroy(
    slug: Annotated[str, typer.Argument(help="The app to remove.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove an app: its route, containers, images, data volume and workspaces."""
    import shutil

    from appforge.sandbox.containers import remove_app
    from appforge.sandbox.engine import connect
    from appforge.sandbox.proxy import Route, apply_routes
    from appforge.spec import validate_slug
    from appforge.store import Store

    settings = _settings()
    try:
        validate_slug(slug)
        store = Store(settings.db_path)
        store.get_app(slug)
        if not yes and not typer.confirm(f"Destroy {slug} and all its data?", default=False):
            raise typer.Exit(1)
        client = connect(settings)
        routes = [Route(slug=s, hosts=(h,), upstream=u) for s, h, u in store.live_routes()
                  if s != slug]
        apply_routes(client, settings, routes, lambda _m: None)
        removed = remove_app(client, settings, slug)
        shutil.rmtree(settings.workspaces / slug, ignore_errors=True)
        store.delete_app(slug)
    except AppforgeError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps({"slug": slug, "status": "destroyed", "removed": removed}))
    else:
        out.print(f"[bold]destroyed[/] {slug}: {', '.join(removed) or 'nothing was running'}",
                  highlight=False)


@app.command()
def doctor(as_json: JsonFlag = False) -> None:
    """Check this machine: Docker engine, base images, proxy, data dir, disk space."""
    from appforge.doctor import run_checks

    checks = run_checks(_settings())
    failed = any(c.status == "fail" for c in checks)
    if as_json:
        print(json.dumps({"ok": not failed, "checks": [c.as_json() for c in checks]}))
    else:
        marks = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}
        for c in checks:
            out.print(f"{marks[c.status]} [bold]{c.name}[/]: {c.detail}", highlight=False)
            if c.fix:
                out.print(f"    fix: {c.fix}", style="dim", highlight=False)
    if failed:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
