"""Domains for apps: search, buy, list, attach, detach — what the CLI, dashboard and chat call.

Each function takes the settings and returns plain data (dicts and lists, ready for JSON); the
registrar comes from ``appforge.domains.get_registrar`` unless one is passed in. Buying goes
through ``appforge.domains.purchase.buy`` (budget, confirmation, never paying twice); pointing a
name at an app goes through ``appforge.domains.connect`` (records, propagation, attach,
certificate, outside check).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from appforge.config import Settings
from appforge.dns.records import needs_dns
from appforge.domains import errors as e
from appforge.domains.money import Budget, format_minor
from appforge.domains.names import (
    check_attachable,
    parse,
    parse_tlds,
    suggest,
    words_of,
    words_of_plan,
)
from appforge.domains.purchase import OnStep, connect_to_app
from appforge.domains.purchase import buy as buy_name
from appforge.domains.registrar import Registrar, get_registrar
from appforge.errors import AppforgeError, InvalidInput
from appforge.store import Store
from appforge.store.domains import DomainStore

Log = Callable[[str], None]
#: (done, total, name) after each name is checked: Porkbun allows one check per 10 seconds.
Progress = Callable[[int, int, str], None]
#: How many names a search checks at most (Porkbun: one check per 10 s, so about a minute).
MAX_CHECKS = 12
MAX_SLOW_CHECKS = 6


def budget(settings: Settings) -> tuple[Budget | None, int]:
    """``APPFORGE_DOMAIN_BUDGET`` with what purchases took of it (None: no budget is set), and
    what they took (minor units)."""
    from appforge.domains.money import to_minor

    spent = DomainStore(settings.db_path).spent_minor()
    if settings.domain_budget is None:
        return None, spent
    return Budget(to_minor(settings.domain_budget, what="APPFORGE_DOMAIN_BUDGET"), spent), spent


def steps_to(say: Log) -> OnStep:
    """An ``on_step`` that says each step as a line: ``records: done - created A ...``."""
    def on_step(step: str, status: str, detail: str) -> None:
        say(f"{step}: {status}" + (f" - {detail}" if detail else ""))
    return on_step


def search(settings: Settings, words: list[str], *, tlds: str | None = None,
           slug: str | None = None, limit: int | None = None,
           progress: Progress | None = None, registrar: Registrar | None = None) -> dict[str, Any]:
    """Free names and their prices: for one NAME, that name; for WORDS, names made from them;
    with neither, names made from the app's plan (``slug``)."""
    candidates = _candidates(settings, words, tlds, slug)
    own = registrar is None
    registrar = registrar or get_registrar(settings)
    try:
        bound = limit or (MAX_SLOW_CHECKS if registrar.check_interval else MAX_CHECKS)
        chosen, left_out = candidates[:bound], candidates[bound:]
        rows = []
        batches = [[n] for n in chosen] if registrar.check_interval else [chosen]
        for batch in batches:
            rows += _check(registrar, batch)
            if progress is not None:
                progress(len(rows), len(chosen), batch[-1])
    finally:
        if own:
            registrar.close()
    return {"registrar": registrar.name, "sandbox": registrar.sandbox, "names": rows,
            "left_out": left_out}


def _candidates(settings: Settings, words: list[str], tlds: str | None,
                slug: str | None) -> list[str]:
    words = [w for w in (w.strip() for w in words) if w]
    if len(words) == 1 and "." in words[0]:
        return [parse(words[0]).ascii]
    found: list[str] = []
    for word in words:
        found += [w for w in words_of(word) if w not in found]
    if not found and slug is not None:
        found = words_of_plan(_plan_of(settings, slug))
    if not found:
        raise InvalidInput("give words or a name to search for, or --app SLUG to use an app's "
                           "plan", hint="appforge domain search bike shop --tlds com,dev")
    return suggest(found, parse_tlds(tlds), limit=MAX_CHECKS * 2)


def _plan_of(settings: Settings, slug: str) -> dict[str, Any]:
    store = Store(settings.db_path)
    app = store.get_app(slug)
    versions = store.list_versions(slug)
    current = [v for v in versions if v.version == app.current_version] or versions[-1:]
    return current[0].spec if current else {"name": app.name, "title": app.title}


def _check(registrar: Registrar, names: list[str]) -> list[dict[str, Any]]:
    try:
        offers = registrar.check(names)
    except (e.RegistrarAuthError, e.RegistrarUnavailable, e.RateLimited):
        raise
    except e.RegistrarError as exc:  # the registrar refuses this name (an ending it lacks)
        return [{"name": n, "unicode": parse(n).unicode, "available": False,
                 "reason": str(exc)} for n in names]
    rows = []
    for offer in offers:
        row = offer.to_dict()
        row["unicode"] = parse(offer.name).unicode
        row["first_year"] = format_minor(offer.first_year_minor, offer.currency)
        row["renewal"] = format_minor(offer.renewal_minor, offer.currency)
        row["buyable"] = offer.available and offer.api_registerable and not offer.premium
        rows.append(row)
    return rows


def buy(settings: Settings, name: str, *, slug: str | None = None, years: int = 1,
        max_price: Decimal | str | None = None, yes: bool = False, log: Log = lambda _m: None,
        on_step: OnStep | None = None, registrar: Registrar | None = None) -> dict[str, Any]:
    """Buy ``name`` (see ``purchase.buy``); without ``yes`` only the quote is recorded."""
    parse(name)  # a name that can never be bought is refused before any registrar is asked
    own = registrar is None
    registrar = registrar or get_registrar(settings)
    try:
        return buy_name(settings, registrar, name, slug=slug, years=years, max_price=max_price,
                        yes=yes, log=log, on_step=on_step).to_dict()
    finally:
        if own:
            registrar.close()


def list_domains(settings: Settings, registrar: Registrar | None = None) -> list[dict[str, Any]]:
    """Owned names (the registrar's list, and names bought through appforge): registrar,
    expiry, auto-renew, purchase state, app, and the certificate the proxy serves for an
    attached name, and whether DNS points it here (``dns``; None for a name not attached).""" 
    store = Store(settings.db_path)
    purchases = {p.name: p for p in DomainStore(settings.db_path).purchases()}
    owned: dict[str, Any] = {}
    if registrar is not None or settings.registrar != "none":
        own = registrar is None
        registrar = registrar or get_registrar(settings)
        try:
            owned = {o.name: o for o in registrar.list()}
        finally:
            if own:
                registrar.close()
    rows = []
    for name in sorted(set(owned) | {n for n, p in purchases.items()
                                     if p.state in ("registered", "pending", "in_doubt",
                                                    "submitting")}):
        o, p = owned.get(name), purchases.get(name)
        app = store.app_for_host(name)
        rows.append({
            "name": name, "unicode": parse(name).unicode,
            "registrar": p.registrar if p else (registrar.name if registrar else ""),
            "expires_at": o.expires_at if o else "", "auto_renew": o.auto_renew if o else None,
            "status": o.status if o else "", "owned": o is not None,
            "purchase": p.state if p else "", "charged": format_minor(p.charged_minor)
            if p else "-", "app": app.slug if app else (p.slug if p else None),
            "attached": app is not None,
            "dns": _dns_state(settings, name) if app is not None else None,
            "certificate": certificate_of(settings, name) if app is not None else None})
    return rows


def _dns_state(settings: Settings, name: str) -> dict[str, str]:
    """Whether every authoritative server of ``name`` answers with this machine's records now
    (one round of questions, no waiting): ``points-here``, ``elsewhere`` or ``unknown``."""
    from appforge.dns.errors import DnsNotPropagated
    from appforge.dns.propagation import wait_until_resolves
    from appforge.dns.records import records_for

    try:
        wanted = records_for(name, settings)
        answers = wait_until_resolves(name, wanted, settings, lambda _m: None, timeout=0)
    except DnsNotPropagated as exc:
        return {"state": "elsewhere", "detail": exc.detail or str(exc)}
    except AppforgeError as exc:  # no public address configured: nothing to compare with
        return {"state": "unknown", "detail": str(exc)}
    return {"state": "points-here", "detail": f"{len(answers)} authoritative server(s) agree"}


def certificate_of(settings: Settings, name: str) -> dict[str, Any] | None:
    """The certificate the proxy serves for ``name``: issuer, expiry, and whether it is Caddy's
    own CA's; None with TLS off or when the proxy serves none (or is down)."""
    if settings.tls == "off":
        return None
    from appforge.domains.certificate import served_certificate

    state = served_certificate(settings, name, timeout=2.0)
    if state is None:
        return None
    return {"issuer": state.issuer, "expires_at": state.not_after.isoformat(),
            "internal": state.internal}


def attach(settings: Settings, name: str, slug: str, *, log: Log = lambda _m: None,
           on_step: OnStep | None = None, registrar: Registrar | None = None) -> dict[str, Any]:
    """Point ``name`` (owned here or elsewhere, a sub-name too) at the app ``slug``. Callers
    hold the app's lock (``store.locks.app_lock``), as ``domains.connect`` asks."""
    checked = parse(name, local_ok=True)
    store = Store(settings.db_path)
    store.get_app(slug)
    check_attachable(store, checked.ascii, slug)
    steps: list[dict[str, Any]] = []

    def record(step: str, status: str, detail: str) -> None:
        steps.append({"step": step, "status": status, "detail": detail})
        if on_step is not None:
            on_step(step, status, detail)

    local = not needs_dns(checked.ascii)
    own = registrar is None and settings.registrar != "none" and not local
    if own:
        registrar = get_registrar(settings)
    try:
        owns = False
        if registrar is not None and not local:
            try:
                owns = registrar.owned(checked.registrable) is not None
            except e.RegistrarError as exc:  # records are then shown, not made
                log(f"could not ask {registrar.name} whether it holds "
                    f"{checked.registrable}: {exc}")
        message = connect_to_app(settings, store, registrar if owns else None, checked.ascii,
                                 slug, log, record)
    finally:
        if own and registrar is not None:
            registrar.close()
    return {"name": checked.ascii, "app": slug, "steps": steps, "message": message,
            "connected": True}


def detach(settings: Settings, name: str, *, log: Log = lambda _m: None) -> dict[str, Any]:
    """Take ``name`` off the app it serves (the app keeps its other names; the name stays
    owned and its DNS records stay). Callers hold the app's lock, as for ``attach`` and a
    ``buy`` with an app."""
    checked = parse(name, local_ok=True)
    store = Store(settings.db_path)
    app = store.app_for_host(checked.ascii)
    if app is None:
        raise InvalidInput(f"{checked.ascii} is not attached to any app",
                           hint="`appforge domain list` shows the names and their apps")
    if store.domains(app.slug) == [checked.ascii]:
        raise InvalidInput(f"{checked.ascii} is the only name of the app {app.slug!r}",
                           hint=f"attach another name first, or destroy {app.slug}")
    from appforge.domains.connect import detach_domain

    detach_domain(store, app.slug, checked.ascii)
    message = f"{checked.ascii} no longer serves {app.slug}"
    if app.status != "running":
        return {"name": checked.ascii, "app": app.slug, "message": message}
    try:
        from appforge.sandbox import engine
        from appforge.tools.apps import apply_store_routes

        apply_store_routes(engine.connect(settings), settings, store, log)
    except AppforgeError as exc:
        message += f" (the proxy could not be updated now: {exc}; `appforge up` will)"
    return {"name": checked.ascii, "app": app.slug, "message": message}
