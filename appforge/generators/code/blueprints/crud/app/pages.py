"""The server-rendered pages: list, show, create, edit and delete records with plain HTML forms.

Every page works without JavaScript. After a successful POST the browser is redirected
(POST/redirect/GET) to a page that says what happened, named by a ``done`` query parameter.

Forms of entities with file fields are posted as multipart/form-data. Starlette's parser spools
a part over 1 MiB to a temporary file in ``$TMPDIR`` (/data/tmp in the container, on the data
volume: see the Dockerfile), and app/uploads.py copies it from there, chunk by chunk, into the
uploads folder within the quota. The spooled copy goes when the request ends.
"""

from __future__ import annotations

import datetime
import decimal
import math
from typing import Any
from urllib.parse import urlsplit

from collections.abc import AsyncIterator, Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from app import forms
from app import site
from app.db import Database
from app.entities import BY_PLURAL, ENTITIES
from app.fields import EntityDef
from app.uploads import CHUNK_BYTES, WRONG_TYPE, OverQuota, Uploads, WrongType, size_text
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
templates.env.filters["filesize"] = size_text
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


def _uploads(request: Request) -> Uploads:
    return request.app.state.uploads


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


class _NotStored(Exception):
    """A chosen file was not stored: a field's message (wrong type) or the form's problem."""

    def __init__(self, errors: dict[str, str], problem: str = "") -> None:
        self.errors, self.problem = errors, problem


async def _store_files(
    request: Request,
    entity: EntityDef,
    files: dict[str, UploadFile],
    current: Mapping[str, Any] | None,
) -> dict[str, dict[str, Any]]:
    """Store each chosen file; on any failure remove those stored and raise :class:`_NotStored`."""
    store, saved = _uploads(request), {}
    try:
        for name, upload in files.items():
            field = entity.field(name)
            assert field is not None
            saved[name] = await store.receive(
                _chunks(upload), field, name=upload.filename, declared_type=upload.content_type,
                replacing=(current or {}).get(name), expected_size=upload.size,
            )
    except BaseException as exc:
        for meta in saved.values():
            store.remove(meta["stored"])
        if isinstance(exc, WrongType):
            raise _NotStored({name: WRONG_TYPE}) from None
        if isinstance(exc, OverQuota):
            raise _NotStored({}, str(exc.detail)) from None
        if storage_full(exc):
            raise _NotStored({}, STORAGE_FULL) from None
        raise
    return saved


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
    form = await request.form()
    values = forms.posted_values(entity, form)
    record, errors = forms.parse(entity, values)
    files = forms.posted_files(entity, form)
    errors.update(forms.missing_files(entity, files))
    if record is None or errors:
        return _form(request, entity, values, errors)
    try:
        stored = await _store_files(request, entity, files, None)
    except _NotStored as exc:
        return _form(request, entity, values, exc.errors, problem=exc.problem)
    try:
        _db(request).insert(entity, {**record, **stored})
    except (*_db(request).storage_errors, OSError) as exc:
        for meta in stored.values():
            _uploads(request).remove(meta["stored"])
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
    form = await request.form()
    values = forms.posted_values(entity, form)
    record, errors = forms.parse(entity, values)
    files = forms.posted_files(entity, form)
    removed = forms.removed_files(entity, form) - set(files)
    errors.update(forms.missing_files(entity, files, current))
    if record is None or errors:
        return _form(request, entity, values, errors, current)
    try:
        stored = await _store_files(request, entity, files, current)
    except _NotStored as exc:
        return _form(request, entity, values, exc.errors, current, problem=exc.problem)
    try:
        changes = {**record, **stored, **dict.fromkeys(removed)}
        updated = _db(request).update(entity, item_id, changes)
    except (*_db(request).storage_errors, OSError) as exc:
        for meta in stored.values():
            _uploads(request).remove(meta["stored"])
        if not storage_full(exc):
            raise
        return _form(request, entity, values, {}, current, problem=STORAGE_FULL)
    if updated is None:  # deleted while the files arrived
        for meta in stored.values():
            _uploads(request).remove(meta["stored"])
        raise HTTPException(status_code=404)
    for name in {*stored, *removed}:  # the files these replace or remove
        if current.get(name):
            _uploads(request).remove(current[name]["stored"])
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
