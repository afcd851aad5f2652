"""Commands on built apps: list, show, logs, rollback, start, stop, destroy."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer

from appforge.cli import (
    JsonFlag,
    WaitOption,
    app,
    fail,
    load_settings,
    locked,
    log_to,
    on_app,
    out,
    reconciled,
)
from appforge.errors import AppforgeError

#: Dashboard tones -> terminal colours.
COLOURS = {"ok": "green", "warn": "yellow", "bad": "red", "off": "dim"}


@app.command("list")
def list_apps(as_json: JsonFlag = False) -> None:
    """List the apps appforge built: the status they should have, what the engine says they
    are doing (live), version and URL."""
    from rich.table import Table

    from appforge.store import Store
    from appforge.tools.app_info import listing, live_states

    settings = load_settings()
    reconciled(settings, as_json)
    if as_json:
        print(json.dumps(listing(settings)))
        return
    apps = Store(settings.db_path).list_apps()
    live = live_states(settings, apps) if apps else {}
    if not apps:
        out.print('No apps yet. Try: appforge build "a todo list"')
        return
    def width(values: list[str], header: str) -> int:
        return max([len(header), *map(len, values)])

    # Only the title may be shortened to fit the terminal; the URL is what people copy.
    table = Table(box=None)
    for header, values in (("slug", [a.slug for a in apps]), ("status", [a.status for a in apps]),
                           ("live", [live[a.slug]["live"] for a in apps]),
                           ("version", ["v999"]), ("url", [a.url or "-" for a in apps]),
                           ("kind", [a.kind for a in apps])):
        table.add_column(header, no_wrap=True, min_width=width(values, header))
    table.add_column("title", overflow="ellipsis", no_wrap=True)
    for a in apps:
        colour = {"running": "green", "failed": "red"}.get(a.status, "yellow")
        now = live[a.slug]
        table.add_row(a.slug, f"[{colour}]{a.status}[/]",
                      f"[{COLOURS[now['tone']]}]{now['live']}[/]",
                      f"v{a.current_version}" if a.current_version else "-", a.url or "-",
                      a.kind, a.title)
    out.print(table)
    for a in apps:  # an app that should serve and does not: say so, and where to look
        if live[a.slug]["attention"]:
            out.print(f"[bold red]![/] {a.slug}: {live[a.slug]['summary']} (`appforge show "
                      f"{a.slug}`, `appforge logs {a.slug}`)", highlight=False)
    unknown = [now["reason"] for now in live.values() if now["live"] == "unknown"]
    if unknown:
        out.print(f"[dim]live state unknown: {unknown[0]}[/]", highlight=False)


@app.command()
def show(slug: Annotated[str, typer.Argument(help="The app to show.")],
         as_json: JsonFlag = False) -> None:
    """An app's versions, status, domains, container health and resource limits."""
    from rich.table import Table

    from appforge.tools import app_info

    settings = load_settings()
    reconciled(settings, as_json)
    try:
        info = app_info.show(settings, slug)
    except AppforgeError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(info))
        return
    out.print(f"[bold]{info['title']}[/] ({info['slug']}, {info['kind']}): {info['status']}",
              highlight=False)
    now = info["live"]
    out.print(f"  [{COLOURS[now['tone']]}]{now['summary']}[/]", highlight=False)
    if now["restarts"] or now["exit_code"] is not None:
        facts = [f"restarts {now['restarts']}"]
        if now["exit_code"] is not None:
            facts.append(f"last exit code {now['exit_code']}"
                         + (" (killed for memory)" if now["oom_killed"] else ""))
        elif now["oom_killed"]:
            facts.append("last exit: killed for memory")
        if now["started_at"]:
            facts.append("last started " + time.strftime("%Y-%m-%d %H:%M:%S",
                                                         time.localtime(now["started_at"])))
        out.print(f"  {', '.join(facts)}", highlight=False)
    out.print(f"  domains: {', '.join(info['domains'])}   url: {info['url'] or '-'}",
              highlight=False)
    data = info.get("data") or {}
    if data.get("database") == "postgres":
        out.print(f"  records in Postgres: {data['server']} ({data.get('server_state')})",
                  highlight=False)
    if data.get("node"):
        out.print(f"  data volume on {data['node']}", highlight=False)
    for line in info.get("reading") or []:  # what the planner read in the description
        out.print(f"  [dim]{line}[/]", highlight=False)
    lim = info["limits"]
    out.print(f"  limits: memory {lim['memory']}, {lim['cpus']:g} CPU, {lim['pids']} processes, "
              f"request bodies up to {lim['body']}", highlight=False)
    pending = info["not_applied"]
    if pending:
        asked = ", ".join(f"{k} {', '.join(v) if isinstance(v, list) else v}"
                          for k, v in pending["settings"].items())
        out.print(f"  [yellow]asked for by v{pending['version']} ({pending['status']}), not "
                  f"applied:[/] {asked}", highlight=False)
    c = info["container"]
    if c:
        lim = c["limits"]
        what = "service" if "replicas" in c else "container"
        out.print(f"  {what} {c['name']}: {c['state']}, health {c['health']}, restarts "
                  f"{c['restarts']}; limits {(lim['memory'] or 0) // 2**20} MiB, "
                  f"{lim['cpus']:g} CPU, {lim['pids']} pids", highlight=False)
        if "replicas" in c:
            where = ", ".join(f"{r['node']} ({r['state']}, v{r['version']})"
                              for r in c["replicas"]["tasks"]) or "none"
            out.print(f"  replicas {c['replicas']['running']}/{c['replicas']['wanted']}: "
                      f"{where}", highlight=False)
    table = Table("version", "status", "tests", "build s", "created", box=None)
    for v in info["versions"]:
        mark = " *" if v["version"] == info["current_version"] else ""
        table.add_row(f"v{v['version']}{mark}", v["status"], v["test_summary"] or v["error"][:60],
                      f"{v['timings'].get('total', 0):.1f}",
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(v["created_at"])))
    out.print(table)
    if now["logs"]:
        out.print(f"last log lines of {c['name'] if c else 'the container'} ({now['live']}):",
                  highlight=False)
        for line in now["logs"].rstrip().splitlines():
            out.print(f"  {line}", highlight=False, markup=False)


@app.command()
def logs(
    slug: Annotated[str, typer.Argument(help="The app whose logs to show.")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")]
    = False,
    tail: Annotated[int, typer.Option(help="How many recent lines.")] = 100,
) -> None:
    """The app container's log (its current version)."""
    from appforge.tools import app_info

    settings = load_settings()
    reconciled(settings, True)  # repairs go to stderr: stdout is the app's log
    try:
        lines = app_info.logs(settings, slug, follow, tail)
    except AppforgeError as exc:
        fail(exc)
        return
    if follow:
        for chunk in lines:
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
    else:
        sys.stdout.write(lines.decode(errors="replace"))


@app.command()
def rollback(
    slug: Annotated[str, typer.Argument(help="The app to roll back.")],
    to: Annotated[int | None, typer.Option("--to", help="Version number (default: previous).")]
    = None,
    restore_data: Annotated[bool, typer.Option(
        "--restore-data", help="Also restore the data snapshot taken while that version was "
        "live (today's data is snapshotted first).")] = False,
    as_json: JsonFlag = False,
    wait: WaitOption = None,
) -> None:
    """Serve an earlier version again (blue/green; today's data is kept unless --restore-data)."""
    from appforge.tools import apps

    done = on_app(slug, wait, as_json,
                  lambda settings, log: apps.rollback(settings, slug, to, log, restore_data))
    _report_deployed(done, "rolled back to", as_json)


@app.command()
def start(slug: Annotated[str, typer.Argument(help="The app to start.")],
          as_json: JsonFlag = False,
          wait: WaitOption = None) -> None:
    """Start a stopped app's current version and route it again."""
    from appforge.tools import apps

    done = on_app(slug, wait, as_json, lambda settings, log: apps.start(settings, slug, log))
    _report_deployed(done, "started", as_json)


@app.command()
def stop(slug: Annotated[str, typer.Argument(help="The app to stop.")],
         as_json: JsonFlag = False,
         wait: WaitOption = None) -> None:
    """Take an app off its domain and stop its container (data and versions stay)."""
    from appforge.tools import apps

    on_app(slug, wait, as_json, lambda settings, log: apps.stop(settings, slug, log))
    if as_json:
        print(json.dumps({"slug": slug, "status": "stopped"}))
    else:
        out.print(f"[bold]stopped[/] {slug}", highlight=False)


@app.command()
def scale(slug: Annotated[str, typer.Argument(help="The app to scale.")],
          replicas: Annotated[int, typer.Argument(min=1, max=100, help="How many copies.")],
          as_json: JsonFlag = False,
          wait: WaitOption = None) -> None:
    """Run N copies of an app (APPFORGE_ENGINE=swarm), rolled out one at a time while it
    serves; its next versions keep N."""
    from appforge.tools import apps

    done = on_app(slug, wait, as_json,
                  lambda settings, log: apps.scale(settings, slug, replicas, log))
    if as_json:
        print(json.dumps(done))
        return
    nodes = sorted({r["node"] for r in done["running"] if r["state"] == "running"})
    out.print(f"[bold]scaled[/] {slug} to {replicas} in {done['seconds']:.1f} s"
              + (f" (on {', '.join(nodes)})" if nodes else ""), highlight=False)


@app.command()
def move(slug: Annotated[str, typer.Argument(help="The app to move.")],
         node: Annotated[str, typer.Argument(help="The node to run it on (name or id).")],
         from_snapshot: Annotated[str | None, typer.Option(
             "--from-snapshot", help="Start it there from this snapshot (or 'newest') instead "
             "of copying its data: for when the node holding the data is down.")] = None,
         as_json: JsonFlag = False,
         wait: WaitOption = None) -> None:
    """Move an app that keeps data, with its data, to another node (APPFORGE_ENGINE=swarm):
    it stops, its data is snapshotted and copied there, and it starts there."""
    from appforge.engines.move import move as move_app
    from appforge.sandbox.engine import connect
    from appforge.store import Store

    done = on_app(slug, wait, as_json, lambda settings, log: move_app(
        settings, Store(settings.db_path), connect(settings), slug, node, log, from_snapshot))
    if as_json:
        print(json.dumps(done))
        return
    out.print(f"[bold]moved[/] {slug} from {done['from']} to {done['to']} with its data "
              f"({done['files']} file(s), snapshot {done['snapshot']}) in {done['seconds']:.1f} s"
              + ("" if done["started"] else "; it is stopped, as before"), highlight=False)


@app.command()
def destroy(
    slug: Annotated[str, typer.Argument(help="The app to remove.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    keep_data: Annotated[bool, typer.Option("--keep-data", help="Keep the data volume.")] = False,
    as_json: JsonFlag = False,
    wait: WaitOption = None,
) -> None:
    """Remove an app: its route, containers, images, workspaces, and its data unless kept (a
    snapshot of the data is taken first and stays: `appforge backups SLUG`)."""
    from appforge.backups import list_backups
    from appforge.store import Store
    from appforge.tools import apps

    settings = load_settings()
    reconciled(settings, as_json)
    try:
        with locked(settings, slug, wait):
            Store(settings.db_path).get_app(slug)
            if not yes and not typer.confirm(f"Destroy {slug} and all its data?", default=False):
                raise typer.Exit(1)
            removed = apps.destroy(settings, slug, keep_data, log_to(as_json))
    except AppforgeError as exc:
        fail(exc)
        return
    kept = [b.id for b in list_backups(settings, slug)]
    if as_json:
        print(json.dumps({"slug": slug, "status": "destroyed", "removed": removed,
                          "kept_data": keep_data, "backups": kept}))
        return
    out.print(f"[bold]destroyed[/] {slug}: {', '.join(removed) or 'nothing was running'}"
              + (" (data volume kept)" if keep_data else ""), highlight=False)
    if kept:
        out.print(f"  its {len(kept)} data snapshot(s) stay in {settings.backups / slug} "
                  f"(newest {kept[0]}): `appforge backups {slug}` lists them, and `appforge "
                  f"restore {slug} --from ID --yes` brings one back into a new {slug}",
                  highlight=False)


def _report_deployed(done: Any, verb: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(done.as_json()))
    else:
        out.print(f"[bold green]✓[/] {done.slug} {verb} v{done.version} at "
                  f"[bold underline]{done.url}[/]", highlight=False)
