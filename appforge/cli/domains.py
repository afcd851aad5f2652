"""`appforge domain ...`: search for a name, buy it within the budget, list, attach, detach."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated, Any

import typer

from appforge.cli import (
    JsonFlag,
    WaitOption,
    app,
    err,
    fail,
    load_settings,
    locked,
    log_to,
    out,
)
from appforge.errors import AppforgeError

domain_app = typer.Typer(name="domain", no_args_is_help=True,
                         help="Find a domain, buy it within the budget, point it at an app.")
app.add_typer(domain_app)

AppOption = Annotated[str | None, typer.Option("--app", help="The app (slug) it is for.")]
MARKS = {"done": "[green]✓[/]", "skipped": "[dim]-[/]", "failed": "[red]✗[/]"}


def _steps_to(as_json: bool) -> Any:
    console = err if as_json else out

    def show(step: str, status: str, detail: str) -> None:
        console.print(f"  {MARKS.get(status, '?')} {step}: {detail}", highlight=False)

    return show


@domain_app.command()
def search(
    words: Annotated[list[str] | None, typer.Argument(
        help="Words to make names from, or one name (bikeshop.com).")] = None,
    tlds: Annotated[str | None, typer.Option(
        "--tlds", help="Endings to try, comma separated (default com,dev,app).")] = None,
    slug: AppOption = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, max=50, help="Names to check at most (default 6 at Porkbun, which "
        "allows one check per 10 s; 12 elsewhere).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Free names with their first-year and renewal prices; with --app and no words, names
    from the app's plan."""
    from appforge.tools import domains

    settings = load_settings()
    console = err if as_json else out

    def progress(done: int, total: int, name: str) -> None:
        console.print(f"  checked {done}/{total}: {name}", style="dim", highlight=False)

    try:
        found = domains.search(settings, words or [], tlds=tlds, slug=slug, limit=limit,
                               progress=progress)
    except AppforgeError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(found))
        return
    from rich.table import Table

    table = Table(box=None)
    for header in ("name", "status", "first year", "renewal"):
        table.add_column(header, no_wrap=True)
    for row in found["names"]:
        shown = row["name"] if row["unicode"] == row["name"] else \
            f"{row['unicode']} ({row['name']})"
        table.add_row(shown, _status(row), row.get("first_year", "-"), row.get("renewal", "-"))
    out.print(table)
    where = found["registrar"] + (" sandbox" if found["sandbox"] else "")
    out.print(f"[dim]prices from {where}, US dollars per year[/]", highlight=False)
    if found["left_out"]:
        out.print(f"[dim]not checked ({len(found['left_out'])}): "
                  f"{', '.join(found['left_out'][:6])}… (--limit to check more)[/]",
                  highlight=False)


def _status(row: dict[str, Any]) -> str:
    if not row.get("available"):
        reason = row.get("reason") or ""
        return "[red]taken[/]" if reason in ("", "taken") else f"[red]{reason}[/]"
    if row.get("premium"):
        return "[yellow]premium (not sold through appforge)[/]"
    if not row.get("api_registerable", True):
        return "[yellow]free, but only on the registrar's website[/]"
    return "[green]free[/]"


@domain_app.command()
def buy(
    name: Annotated[str, typer.Argument(help="The name to buy, e.g. bikeshop.com.")],
    slug: AppOption = None,
    years: Annotated[int, typer.Option("--years", min=1, max=10,
                                       help="Years to register for.")] = 1,
    max_price: Annotated[str | None, typer.Option(
        "--max-price", help="The most you will pay, in US dollars (e.g. 15).")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Buy without asking (the budget and "
                                      "--max-price still apply).")] = False,
    as_json: JsonFlag = False,
    wait: WaitOption = None,
) -> None:
    """Show the price and what will happen; buy only with --yes (or the name typed back), within
    --max-price and APPFORGE_DOMAIN_BUDGET; then point the name at the app."""
    from appforge.tools import domains

    settings = load_settings()
    log, steps = log_to(as_json), _steps_to(as_json)
    try:
        price = _dollars(max_price)
        if not yes and not as_json and sys.stdin.isatty():
            # Quote and ask first, holding nothing while a person reads and types.
            quote = domains.buy(settings, name, slug=slug, years=years, max_price=price,
                                log=log, on_step=steps)
            _explain(quote, slug)
            typed = typer.prompt("Type the name to buy it (anything else cancels)",
                                 default="", show_default=False).strip().lower()
            if typed not in (quote["name"], quote["unicode"]):
                out.print("not bought")
                raise typer.Exit(1)
            yes = True
        # Pointing the name at the app changes the app: hold its lock, as every command does.
        with locked(settings, slug, wait) if slug else contextlib.nullcontext():
            result = domains.buy(settings, name, slug=slug, years=years, max_price=price,
                                 yes=yes, log=log, on_step=steps)
    except AppforgeError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(result))
        return
    if result["state"] == "quoted":
        _explain(result, slug)
        out.print(f"[yellow]not bought[/]: run again with --yes to buy {result['name']}",
                  highlight=False)
        return
    mark = "[bold green]✓[/]" if result["state"] == "registered" else "[yellow]…[/]"
    out.print(f"{mark} {result['message']}", highlight=False)
    if result["charged_minor"] is not None:
        source = " (as quoted)" if result["charged_source"] == "quote" else ""
        out.print(f"  charged {result['charged']}{source}", style="dim", highlight=False)


def _dollars(text: str | None) -> Any:
    if text is None:
        return None
    from appforge.domains.money import parse_amount

    return parse_amount(text, what="--max-price")


def _explain(result: dict[str, Any], slug: str | None) -> None:
    from appforge.domains.money import format_minor

    shown = result["name"] if result["unicode"] == result["name"] else \
        f"{result['unicode']} ({result['name']})"
    where = result["registrar"] + (" sandbox" if result["sandbox"] else "")
    out.print(f"[bold]{shown}[/] at {where}: {result['quoted']} for {result['years']} year(s), "
              f"then {format_minor(result['renewal_minor'], result['currency'])} a year",
              highlight=False)
    budget = result.get("budget") or {}
    if budget:
        out.print(f"  budget {format_minor(budget['total_minor'])}, spent "
                  f"{format_minor(budget['spent_minor'])}, left "
                  f"{format_minor(budget['left_minor'])}", highlight=False)
    then = f"DNS records, attach to {slug}, certificate, check https://{result['name']}/" \
        if slug else "nothing else (attach it later: appforge domain attach NAME SLUG)"
    out.print(f"  after the purchase: {then}", highlight=False)


@domain_app.command("list")
def list_domains(as_json: JsonFlag = False) -> None:
    """Owned names: registrar, expiry, auto-renew, purchase state, app, DNS, certificate."""
    from appforge.tools import domains

    settings = load_settings()
    try:
        rows = domains.list_domains(settings)
    except AppforgeError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        out.print("No domains yet. Try: appforge domain search WORDS")
        return
    from rich.table import Table

    table = Table(box=None)
    # The name is what people copy: never shortened; the rest may fold.
    table.add_column("name", no_wrap=True, min_width=max(len(r["name"]) for r in rows))
    for header in ("registrar", "expires", "renew", "purchase", "app", "dns", "certificate"):
        table.add_column(header, overflow="fold")
    for row in rows:
        renew = {True: "on", False: "off", None: "-"}[row["auto_renew"]]
        cert = row["certificate"]
        shown = "-" if cert is None else ("internal CA" if cert["internal"] else
                                          f"until {cert['expires_at'][:10]}")
        table.add_row(row["name"], row["registrar"] or "-", row["expires_at"][:10] or "-", renew,
                      row["purchase"] or "-", row["app"] or "-",
                      (row["dns"] or {}).get("state", "-"), shown)
    out.print(table)


@domain_app.command()
def attach(
    name: Annotated[str, typer.Argument(help="The name, e.g. bikeshop.com or shop.example.org.")],
    slug: Annotated[str, typer.Argument(help="The app.")],
    as_json: JsonFlag = False,
    wait: WaitOption = None,
) -> None:
    """Point a name at an app: records, propagation, attach, certificate, check."""
    from appforge.tools import domains

    settings = load_settings()
    try:
        with locked(settings, slug, wait):
            result = domains.attach(settings, name, slug, log=log_to(as_json),
                                    on_step=_steps_to(as_json))
    except AppforgeError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(result))
        return
    out.print(f"[bold green]✓[/] {result['message']}", highlight=False)


@domain_app.command()
def detach(
    name: Annotated[str, typer.Argument(help="The name to take off its app.")],
    as_json: JsonFlag = False,
    wait: WaitOption = None,
) -> None:
    """Take a name off its app (the name stays owned; its DNS records stay)."""
    from appforge.domains.names import parse
    from appforge.store import Store
    from appforge.tools import domains

    settings = load_settings()
    try:
        owner = Store(settings.db_path).app_for_host(parse(name, local_ok=True).ascii)
        with locked(settings, owner.slug, wait) if owner else contextlib.nullcontext():
            result = domains.detach(settings, name, log=log_to(as_json))
    except AppforgeError as exc:
        fail(exc)
        return
    if as_json:
        print(json.dumps(result))
        return
    out.print(f"[bold green]✓[/] {result['message']}", highlight=False)


__all__ = ["domain_app"]
