"""The dashboard's Domains tab: an app's names and their states, search, buy, attach, detach.

Everything goes through ``appforge.tools.domains``, as the CLI does: the same budget, the same
refusals, the same record of every purchase. A search and a buy talk to the registrar (Porkbun
allows one check per 10 seconds), so they run as the app's background job and the page shows
their progress, then their result. A purchase asks for the same confirmation as the CLI's typed
one: the name typed back, and a price it may not exceed (the quote the page showed, so a price
that moved since stops the purchase).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from appforge.config import Settings
from appforge.errors import AppforgeError
from appforge.web import model
from appforge.web.actions import csrf_checked, job_lock, start_job
from appforge.web.jobs import Job
from appforge.web.pages import app_page
from appforge.web.render import redirect

router = APIRouter()
actions = APIRouter(dependencies=[Depends(csrf_checked)])


def _web(request: Request) -> Any:
    return request.app.state.web


def budget_view(settings: Settings) -> dict[str, Any]:
    """The budget as the page shows it: configured or not, spent, left (formatted)."""
    from appforge.domains.money import format_minor
    from appforge.tools.domains import budget

    limit, spent = budget(settings)
    if limit is None:
        return {"set": False, "spent": format_minor(spent)}
    return {"set": True, "total": format_minor(limit.total_minor), "spent": format_minor(spent),
            "left": format_minor(limit.left_minor)}


def app_names(settings: Settings, slug: str) -> list[dict[str, Any]]:
    """The app's names: each with its purchase (if appforge bought it), the DNS records it
    needs, and the certificate the proxy serves for it."""
    from appforge.dns.records import needs_dns, records_for
    from appforge.store import Store
    from appforge.store.domains import DomainStore
    from appforge.tools.domains import certificate_of

    store, purchases = Store(settings.db_path), DomainStore(settings.db_path)
    rows = []
    for host in store.domains(slug):
        bought = next((p for p in purchases.purchases(host)), None)
        records: list[str] = []
        if needs_dns(host):
            try:
                records = [f"{r.name} {r.type} {r.content}" for r in records_for(host, settings)]
            except AppforgeError as exc:  # no public address configured: say so
                records = [str(exc)]
        rows.append({"name": host, "url": settings.url_for(host), "public": needs_dns(host),
                     "purchase": bought.to_dict() if bought else None, "records": records,
                     "certificate": certificate_of(settings, host)})
    return rows


@router.get("/apps/{slug}/domains")
def domains(request: Request, slug: str) -> Response:
    web = _web(request)
    model.find_app(web.store, slug)
    job = request.query_params.get("job")
    found = web.jobs.get(job) if job else None
    search = found.data.get("search") if found is not None and found.slug == slug else None
    return app_page(request, slug, "domains", "domains.html", {
        "names": app_names(web.settings, slug), "budget": budget_view(web.settings),
        "registrar": web.settings.registrar, "search": search,
        "words": request.query_params.get("q", "")})


@actions.post("/apps/{slug}/domains/search")
def search(request: Request, slug: str, words: str = Form(""),
           tlds: str = Form("")) -> Response:
    from appforge.tools import domains as tools

    web = _web(request)
    model.find_app(web.store, slug)
    back = f"/apps/{slug}/domains"

    def work(job: Job) -> str:
        found = tools.search(web.settings, words.split(), tlds=tlds or None, slug=slug,
                             progress=lambda done, total, name: job.say(
                                 f"checked {name} ({done}/{total})"))
        job.data["search"] = found
        free = [n for n in found["names"] if n.get("buyable")]
        return f"{len(free)} of {len(found['names'])} names can be bought at {found['registrar']}"

    return start_job(request, slug, "domain-search", "Search for a name", work, back=back)


@actions.post("/apps/{slug}/domains/buy")
def buy(request: Request, slug: str, name: str = Form(...), max_price: str = Form(...),
        confirm: str = Form("")) -> Response:
    from appforge.domains.names import parse
    from appforge.tools import domains as tools

    web = _web(request)
    model.find_app(web.store, slug)
    back = f"/apps/{slug}/domains"
    checked = parse(name)
    if confirm.strip().lower() not in (checked.ascii, checked.unicode):
        return redirect(back, f"{checked.unicode} was not bought: type the name, "
                        f"{checked.unicode}, to confirm", "error")
    limit = Decimal(max_price)

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            done = tools.buy(web.settings, checked.ascii, slug=slug, max_price=limit, yes=True,
                             log=job.say, on_step=tools.steps_to(job.say))
        job.data["purchase"] = done
        return done.get("message") or f"{done['name']}: {done['state']}"

    return start_job(request, slug, "domain-buy", f"Buy {checked.unicode}", work, back=back)


@actions.post("/apps/{slug}/domains/attach")
def attach(request: Request, slug: str, name: str = Form(...)) -> Response:
    from appforge.tools import domains as tools

    web = _web(request)
    model.find_app(web.store, slug)

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            done = tools.attach(web.settings, name.strip(), slug, log=job.say,
                                on_step=tools.steps_to(job.say))
        return done["message"]

    return start_job(request, slug, "domain-attach", f"Attach {name.strip()}", work,
                     back=f"/apps/{slug}/domains")


@actions.post("/apps/{slug}/domains/detach")
def detach(request: Request, slug: str, name: str = Form(...)) -> Response:
    from appforge.tools import domains as tools

    web = _web(request)
    model.find_app(web.store, slug)

    def work(job: Job) -> str:
        with job_lock(web, slug, job):
            return str(tools.detach(web.settings, name.strip(), log=job.say)["message"])

    return start_job(request, slug, "domain-detach", f"Detach {name.strip()}", work,
                     back=f"/apps/{slug}/domains")

