"""The server-rendered pages: list, show, create, edit and delete records with plain HTML forms.

Every page works without JavaScript. After a successful POST the browser is redirected
(POST/redirect/GET) to a page that says what happened, named by a ``done`` query parameter.
"""

from __future__ import annotations

import datetime
import decimal
import math
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from app import forms
from app import site
from app.db import Database
from app.entities import BY_PLURAL, ENTITIES
from app.fields import EntityDef
from app.web import STORAGE_FULL, render, storage_full, templates

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
DONE_MESSAGES = {
    "created": "{label} added.",
    "updated": "{label} saved.",
    "deleted": "{label} deleted.",
}


def list_url(entity: EntityDef) -> str:
    """The home page lists the first entity; the others have a page of their own."""
    return "/" if entity is ENTITIES[0] else f"/{entity.plural}"


def format_money(value: decimal.Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def format_number(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.6f}".rstrip("0").rstrip(".")
    return f"{value:,}"


def format_date(value: datetime.date | None) -> str:
    if value is None:
        return ""
    if site.LANGUAGE.startswith("en"):
        return f"{value.day} {value:%b %Y}"
    return value.isoformat()


def noun(label: str) -> str:
    """ "Garden Bed" -> "garden bed" inside an English sentence; acronyms and other languages kept."""
    if not site.LANGUAGE.startswith("en"):
        return label
    return " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in label.split(" "))


def hostname(url: str) -> str:
    return urlsplit(url).hostname or url


templates.env.filters["money"] = format_money
templates.env.filters["noun"] = noun
templates.env.filters["hostname"] = hostname
templates.env.filters["number"] = format_number
templates.env.filters["nicedate"] = format_date
templates.env.globals["entities"] = ENTITIES
templates.env.globals["list_url"] = list_url


def _db(request: Request) -> Database:
    return request.app.state.db


def _entity(plural: str) -> EntityDef:
    entity = BY_PLURAL.get(plural)
    if entity is None:
        raise HTTPException(status_code=404)
    return entity


def _record(request: Request, entity: EntityDef, item_id: int) -> dict[str, Any]:
    record = _db(request).get(entity, item_id)
    if record is None:
        raise HTTPException(status_code=404)
    return record


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- listing ---------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, q: str = "", page: int = 1, done: str = "") -> HTMLResponse:
    return _list(request, ENTITIES[0], q, page, done)


@router.get("/{plural}", response_class=HTMLResponse)
def list_records(request: Request, plural: str, q: str = "", page: int = 1, done: str = ""):
    entity = _entity(plural)
    if entity is ENTITIES[0]:
        return _redirect("/" + (f"?{request.url.query}" if request.url.query else ""))
    return _list(request, entity, q, page, done)


def _list(request: Request, entity: EntityDef, q: str, page: int, done: str) -> HTMLResponse:
    db = _db(request)
    query = q.strip()[:200]
    total = db.count(entity, query=query)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    records = db.find(entity, query=query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    message = DONE_MESSAGES.get(done, "").format(label=entity.label)
    context = {
        "entity": entity,
        "records": records,
        "total": total,
        "q": query,
        "page": page,
        "pages": pages,
        "message": message,
        "is_home": entity is ENTITIES[0],
    }
    return render(request, "list.html", context)


@router.get("/{plural}/{item_id:int}", response_class=HTMLResponse)
def show(request: Request, plural: str, item_id: int, done: str = "") -> HTMLResponse:
    entity = _entity(plural)
    record = _record(request, entity, item_id)
    message = DONE_MESSAGES.get(done, "").format(label=entity.label)
    return render(request, "show.html", {"entity": entity, "record": record, "message": message})


# -- creating and editing ----------------------------------------------------------------------------


def _form(
    request: Request,
    entity: EntityDef,
    values: dict[str, str],
    errors: dict[str, str],
    record: dict[str, Any] | None = None,
    problem: str = "",
) -> HTMLResponse:
    """The form again, with what was typed; ``problem``: why nothing was saved (disk full)."""
    context = {
        "entity": entity,
        "values": values,
        "errors": errors,
        "record": record,
        "problem": problem,
    }
    status = 507 if problem else 422 if errors else 200
    return render(request, "form.html", context, status_code=status)


@router.get("/{plural}/new", response_class=HTMLResponse)
def new_form(request: Request, plural: str) -> HTMLResponse:
    entity = _entity(plural)
    return _form(request, entity, {f.name: "" for f in entity.fields}, {})


@router.post("/{plural}/new", response_class=HTMLResponse)
async def create(request: Request, plural: str):
    entity = _entity(plural)
    values = forms.posted_values(entity, await request.form())
    record, errors = forms.parse(entity, values)
    if record is None:
        return _form(request, entity, values, errors)
    try:
        _db(request).insert(entity, record)
    except (sqlite3.OperationalError, OSError) as exc:
        if not storage_full(exc):
            raise
        return _form(request, entity, values, {}, problem=STORAGE_FULL)
    return _redirect(f"{list_url(entity)}?done=created")


@router.get("/{plural}/{item_id:int}/edit", response_class=HTMLResponse)
def edit_form(request: Request, plural: str, item_id: int) -> HTMLResponse:
    entity = _entity(plural)
    record = _record(request, entity, item_id)
    return _form(request, entity, forms.form_values(entity, record), {}, record)


@router.post("/{plural}/{item_id:int}/edit", response_class=HTMLResponse)
async def update(request: Request, plural: str, item_id: int):
    entity = _entity(plural)
    current = _record(request, entity, item_id)
    values = forms.posted_values(entity, await request.form())
    record, errors = forms.parse(entity, values)
    if record is None:
        return _form(request, entity, values, errors, current)
    try:
        updated = _db(request).update(entity, item_id, record)
    except (sqlite3.OperationalError, OSError) as exc:
        if not storage_full(exc):
            raise
        return _form(request, entity, values, {}, current, problem=STORAGE_FULL)
    if updated is None:
        raise HTTPException(status_code=404)
    return _redirect(f"/{entity.plural}/{item_id}?done=updated")


# -- deleting ----------------------------------------------------------------------------------------


@router.get("/{plural}/{item_id:int}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, plural: str, item_id: int) -> HTMLResponse:
    entity = _entity(plural)
    record = _record(request, entity, item_id)
    return render(request, "delete.html", {"entity": entity, "record": record})


@router.post("/{plural}/{item_id:int}/delete")
def delete(request: Request, plural: str, item_id: int) -> RedirectResponse:
    entity = _entity(plural)
    if not _db(request).delete(entity, item_id):
        raise HTTPException(status_code=404)
    return _redirect(f"{list_url(entity)}?done=deleted")
