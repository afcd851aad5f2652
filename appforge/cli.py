"""The ``appforge`` command line: build, list, show, logs, rollback, stop, start, destroy, up,
doctor.

Commands say what they did in a line or a table, or print one JSON object with ``--json``. Errors
from appforge are one clear message (with a hint and the relevant log lines) and an exit code;
``--debug`` shows the stack trace. Heavy modules load inside the commands, so ``--help`` is fast.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer
from rich.console import Console

from appforge.errors import AppforgeError, InvalidInput

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
    from pydantic import ValidationError

    from appforge.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"APPFORGE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}"
                             for e in exc.errors())
        _fail(InvalidInput(f"invalid setting: {problems}",
                           hint="fix the environment variable or $APPFORGE_HOME/config.toml"))


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
    app_slug: Annotated[str | None, typer.Option(
        "--app", help="Build a new version of this app (blue/green redeploy).")] = None,
    domain: Annotated[list[str] | None, typer.Option(
        "--domain", help="Domain to answer at (repeat for several).")] = None,
    planner: Annotated[str | None, typer.Option(help="Planner to use (default: settings).")] = None,
    memory: Annotated[str | None, typer.Option(help="Memory limit for this app, e.g. 512m.")]
    = None,
    cpus: Annotated[float | None, typer.Option(help="CPU limit for this app, e.g. 0.5.")] = None,
    pids: Annotated[int | None, typer.Option(help="Process limit for this app.")] = None,
) -> None:
    """Plan, write, test, package and deploy an app; print its URL."""
    from appforge.agent.run import build as run_build

    settings = _settings()
    progress = _Progress(err if as_json else out)
    try:
        result = run_build(description, settings, on_event=progress, planner=planner,
                           app=app_slug, domains=domain,
                           limits={"memory": memory, "cpus": cpus, "pids": pids})
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


def _locked(settings: Any, slug: str) -> Any:
    from appforge.spec import validate_slug
    from appforge.store.locks import app_lock

    validate_slug(slug)
    return app_lock(settings.home, slug, lambda m: err.print(m, style="dim"))


def _log(as_json: bool) -> Any:
    console = err if as_json else out
    return lambda message: console.print(f"  {message}", style="dim", highlight=False)


@app.command()
def destroy(
    slug: Annotated[str, typer.Argument(help="The app to remove.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    keep_data: Annotated[bool, typer.Option("--keep-data", help="Keep the data volume.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove an app: its route, containers, images, workspaces, and its data unless kept."""
    from appforge.store import Store
    from appforge.tools import apps

    settings = _settings()
    try:
        with _locked(settings, slug):
            Store(settings.db_path).get_app(slug)
            if not yes and not typer.confirm(f"Destroy {slug} and all its data?", default=False):
                raise typer.Exit(1)
            removed = apps.destroy(settings, slug, keep_data, _log(as_json))
    except AppforgeError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps({"slug": slug, "status": "destroyed", "removed": removed,
                          "kept_data": keep_data}))
    else:
        out.print(f"[bold]destroyed[/] {slug}: {', '.join(removed) or 'nothing was running'}"
                  + (" (data volume kept)" if keep_data else ""), highlight=False)


@app.command()
def rollback(
    slug: Annotated[str, typer.Argument(help="The app to roll back.")],
    to: Annotated[int | None, typer.Option("--to", help="Version number (default: previous).")]
    = None,
    as_json: JsonFlag = False,
) -> None:
    """Serve an earlier version again (blue/green; the data volume is kept)."""
    from appforge.tools import apps

    settings = _settings()
    try:
        with _locked(settings, slug):
            done = apps.rollback(settings, slug, to, _log(as_json))
    except AppforgeError as exc:
        _fail(exc)
        return
    _report_deployed(done, "rolled back to", as_json)


@app.command()
def start(slug: Annotated[str, typer.Argument(help="The app to start.")],
          as_json: JsonFlag = False) -> None:
    """Start a stopped app's current version and route it again."""
    from appforge.tools import apps

    settings = _settings()
    try:
        with _locked(settings, slug):
            done = apps.start(settings, slug, _log(as_json))
    except AppforgeError as exc:
        _fail(exc)
        return
    _report_deployed(done, "started", as_json)


@app.command()
def stop(slug: Annotated[str, typer.Argument(help="The app to stop.")],
         as_json: JsonFlag = False) -> None:
    """Take an app off its domain and stop its container (data and versions stay)."""
    from appforge.tools import apps

    settings = _settings()
    try:
        with _locked(settings, slug):
            apps.stop(settings, slug, _log(as_json))
    except AppforgeError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps({"slug": slug, "status": "stopped"}))
    else:
        out.print(f"[bold]stopped[/] {slug}", highlight=False)


def _report_deployed(done: Any, verb: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"slug": done.slug, "version": done.version, "url": done.url,
                          "status": "running", "container": done.container,
                          "healthy_after": round(done.healthy_after, 3)}))
    else:
        out.print(f"[bold green]✓[/] {done.slug} {verb} v{done.version} at "
                  f"[bold underline]{done.url}[/]", highlight=False)


@app.command()
def up(as_json: JsonFlag = False) -> None:
    """Bring back the proxy and every app that should be serving, with all routes."""
    from appforge.tools import apps

    try:
        restored = apps.up(_settings(), _log(as_json))
    except AppforgeError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps({"status": "up", "restored": restored}))
    else:
        out.print("[bold green]✓[/] proxy and routes are up"
                  + (f"; restarted {', '.join(restored)}" if restored else ""), highlight=False)


@app.command()
def show(slug: Annotated[str, typer.Argument(help="The app to show.")],
         as_json: JsonFlag = False) -> None:
    """An app's versions, status, domains, container health and resource limits."""
    from rich.table import Table

    from appforge.tools import apps

    try:
        info = apps.show(_settings(), slug)
    except AppforgeError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps(info))
        return
    out.print(f"[bold]{info['title']}[/] ({info['slug']}, {info['kind']}): {info['status']}",
              highlight=False)
    out.print(f"  domains: {', '.join(info['domains'])}   url: {info['url'] or '-'}",
              highlight=False)
    c = info["container"]
    if c:
        lim = c["limits"]
        out.print(f"  container {c['name']}: {c['state']}, health {c['health']}, restarts "
                  f"{c['restarts']}; limits {lim['memory'] // 2**20} MiB, {lim['cpus']:g} CPU, "
                  f"{lim['pids']} pids", highlight=False)
    table = Table("version", "status", "tests", "build s", "created", box=None)
    for v in info["versions"]:
        mark = " *" if v["version"] == info["current_version"] else ""
        table.add_row(f"v{v['version']}{mark}", v["status"], v["test_summary"] or v["error"][:60],
                      f"{v['timings'].get('total', 0):.1f}",
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(v["created_at"])))
    out.print(table)


@app.command()
def logs(
    slug: Annotated[str, typer.Argument(help="The app whose logs to show.")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")]
    = False,
    tail: Annotated[int, typer.Option(help="How many recent lines.")] = 100,
) -> None:
    """The app container's log (its current version)."""
    from appforge.tools import apps

    try:
        lines = apps.logs(_settings(), slug, follow, tail)
    except AppforgeError as exc:
        _fail(exc)
        return
    if follow:
        for chunk in lines:
            sys.stdout.write(chunk.decode(errors="replace"))
            sys.stdout.flush()
    else:
        sys.stdout.write(lines.decode(errors="replace"))


@app.command()
def dns(
    slug: Annotated[str, typer.Argument(help="The app whose domains need DNS records.")],
    apply: Annotated[bool, typer.Option("--apply", help="Create them with the DNS provider.")]
    = False,
    as_json: JsonFlag = False,
) -> None:
    """The DNS records each of an app's domains needs (and, with --apply, create them)."""
    from appforge.dns import format_zone_lines, get_dns_provider, needs_dns, records_for
    from appforge.store import Store

    settings = _settings()
    try:
        hosts = Store(settings.db_path).domains(Store(settings.db_path).get_app(slug).slug)
        plan = []
        for host in hosts:
            need = needs_dns(host)
            plan.append((host, need.reason, records_for(host, settings) if need else []))
        changes: list[str] = []
        wanted = [r for _, _, records in plan for r in records]
        if apply and wanted:
            provider = get_dns_provider(settings)
            if provider is None:
                raise InvalidInput("no DNS provider is configured",
                                   hint="set APPFORGE_DNS_PROVIDER=cloudflare and "
                                   "APPFORGE_CLOUDFLARE_API_TOKEN, or create the records by hand")
            with provider:  # type: ignore[attr-defined]
                changes = provider.ensure_records(wanted)
    except AppforgeError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps({"slug": slug, "domains": [
            {"domain": host, "reason": reason, "records": [r.__dict__ for r in records]}
            for host, reason, records in plan], "changes": changes}))
        return
    for host, reason, records in plan:
        if not records:
            out.print(f"{host}: no record needed ({reason})", highlight=False)
            continue
        out.print(f"{host}: create these records at your DNS provider:", highlight=False)
        for line in format_zone_lines(records):
            out.print(f"  {line}", highlight=False, markup=False)
    for line in changes:
        out.print(f"[green]✓[/] {line}", highlight=False)


@app.command()
def trust(as_json: JsonFlag = False) -> None:
    """Export the proxy's local CA certificate and say how to trust it (TLS=internal)."""
    from appforge.sandbox.engine import connect
    from appforge.sandbox.proxy import export_root_certificate

    settings = _settings()
    try:
        path = export_root_certificate(connect(settings), settings)
    except AppforgeError as exc:
        _fail(exc)
        return
    if as_json:
        print(json.dumps({"certificate": str(path)}))
        return
    out.print(f"The proxy's local CA certificate is at [bold]{path}[/]", highlight=False)
    out.print("Trust it on this machine (Debian/Ubuntu):", highlight=False)
    out.print(f"  sudo cp {path} /usr/local/share/ca-certificates/appforge-local-ca.crt && "
              "sudo update-ca-certificates", highlight=False, markup=False)
    out.print("Firefox and Chrome: Settings → Certificates → Import, and trust it for websites.",
              highlight=False)
    out.print(f"curl: curl --cacert {path} https://<app>.localhost"
              + ("" if settings.https_port == 443 else f":{settings.https_port}"),
              highlight=False, markup=False)


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
