"""Commands on the installation: up, down, setup, dns, trust, doctor."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from appforge.cli import JsonFlag, app, err, fail, load_settings, log_to, out
from appforge.errors import AppforgeError, InvalidInput


@app.command()
def up(as_json: JsonFlag = False) -> None:
    """Bring back the proxy and every app that should be serving, with all routes; repair what
    a killed appforge left (unrouted containers, stray test runs, builds that never finished).
    Exits 1, saying why and what to try, when an app that should serve could not be started."""
    from appforge.tools import apps

    from appforge import supervisor

    repaired: list[str] = []
    failed: list[str] = []
    settings = load_settings()
    try:
        restored = apps.up(settings, log_to(as_json), repaired=repaired, failed=failed)
    except AppforgeError as exc:
        fail(exc)
        return
    supervisor.ensure_running(settings)
    if as_json:
        print(json.dumps({"status": "failed" if failed else "up", "restored": restored,
                          "repaired": repaired, "failed": failed}))
    elif not failed:
        out.print("[bold green]✓[/] proxy and routes are up"
                  + (f"; restarted {', '.join(restored)}" if restored else "")
                  + (f"; {len(repaired)} repair{'s' if len(repaired) > 1 else ''} (above)"
                     if repaired else ""), highlight=False)
    if failed:
        fail(AppforgeError(
            f"{len(failed)} app(s) that should serve could not be started: "
            + "; ".join(failed),
            hint="fix what each says, then `appforge up` again; `appforge show SLUG` and "
                 "`appforge logs SLUG` tell more"))


@app.command()
def down(as_json: JsonFlag = False) -> None:
    """Take this installation offline: stop and remove every app's container and the proxy.
    Data, versions and certificates stay; `appforge up` brings back every app that should
    serve."""
    from appforge import supervisor
    from appforge.tools import apps

    settings = load_settings()
    stopped = supervisor.stop(settings)  # or it would bring everything back
    if stopped:
        log_to(as_json)(f"stopped the supervisor (pid {stopped})")
    try:
        removed = apps.down(settings, log_to(as_json))
    except AppforgeError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps({"status": "down", "removed": removed}))
    else:
        out.print(f"[bold green]✓[/] down: {len(removed)} container(s) and network(s) removed; "
                  "data and versions kept (`appforge up` brings the apps back)",
                  highlight=False)


@app.command()
def supervise() -> None:
    """Watch this installation and bring back, without a person, the proxy and every app that
    should serve when something kills or removes them (runs until stopped; `appforge up` and
    builds start one in the background unless APPFORGE_SUPERVISE=false)."""
    import signal
    import threading

    from appforge import supervisor

    settings = load_settings()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        mine = supervisor.run(settings, log_to(False), stopping)
    except KeyboardInterrupt:
        return
    except AppforgeError as exc:
        fail(exc)
        return
    if not mine:
        raise typer.Exit(1)


@app.command()
def setup(as_json: JsonFlag = False) -> None:
    """Make the images builds need (Python base, proxy, browser) now, at once, with progress."""
    try:
        jobs = run_setup(load_settings(), as_json)
    except AppforgeError as exc:
        fail(exc)
        return
    failed = [job for job in jobs if job["state"] == "failed"]
    if as_json:
        print(json.dumps({"ok": not failed, "images": jobs}))
    elif not failed:
        out.print("[bold green]✓[/] this machine is ready: "
                  + ", ".join(job["tag"] for job in jobs), highlight=False)
    if failed:
        for job in failed if not as_json else []:
            out.print(f"[bold red]error:[/] {job['label']}: {job['error']}", highlight=False)
        raise typer.Exit(1)


def run_setup(settings: Any, as_json: bool) -> list[dict[str, Any]]:
    """Make the missing images (or follow the setup another process runs), showing one bar."""
    from appforge.cli.progress import SetupBar
    from appforge.sandbox import prepare
    from appforge.sandbox.engine import connect

    client = connect(settings)
    bar = SetupBar(err if as_json else out)
    images = (*prepare.images_for(settings), "postgres")  # builds never wait for this one
    try:
        with prepare.setup_lock(settings, wait=False) as free:
            if not free:
                # A build started the setup in the background: follow it, then check.
                log_to(as_json)("another appforge process is making the images; following it")
                watcher = prepare.ProgressWatcher(settings, bar.update).start()
        if not free:
            with prepare.setup_lock(settings):
                watcher.stop()
                bar.update(prepare.read_progress(settings))  # how the other one ended
        jobs = prepare.run_and_record(client, settings, log_to(as_json), bar.update, images)
        return [job.as_json() for job in jobs]
    finally:
        bar.close()


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

    settings = load_settings()
    try:
        store = Store(settings.db_path)
        hosts = store.domains(store.get_app(slug).slug)
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
        fail(exc)
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

    settings = load_settings()
    try:
        path = export_root_certificate(connect(settings), settings)
    except AppforgeError as exc:
        fail(exc)
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
def doctor(
    as_json: JsonFlag = False,
    fix: Annotated[bool, typer.Option("--fix", help="Make the missing images now.")] = False,
) -> None:
    """Check this machine: Docker engine, base images, proxy, data dir, disk space."""
    from appforge.doctor import run_checks

    settings = load_settings()
    if fix:
        try:
            run_setup(settings, as_json)
        except AppforgeError as exc:
            fail(exc)
    checks = run_checks(settings)
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
