"""The server-rendered pages: list, show, create, edit and delete records with plain HTML forms.

Every page works without JavaScript. After a successful POST the browser is redirected
(POST/redirect/GET) to a page that says what happened, named by a ``done`` query parameter.

Forms of entities with file fields are posted as multipart/form-data. Starlette's parser spools
a part over 1 MiB to a temporary file in ``$TMPDIR`` (/data/tmp in the container, on the data
volume: see the Dockerfile), and app/uploads.py copies it from there, chunk by chunk, into the
uploads folder within the quota. The spooled copy goes when the request ends.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

from collections.abc import AsyncIterator, Mapping

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from app import forms, i18n
from app.db import Database
from app.entities import BY_PLURAL, ENTITIES
from app.fields import EntityDef
from app.uploads import CHUNK_BYTES, OverQuota, Uploads, WrongType, size_text
from app.web import render, storage_full, templates

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
#: What a page says after a change, by its ``done`` parameter (words in app/locale/).
DONE_MESSAGES = {"created": "crud.done.created", "updated": "crud.done.updated",
                 "deleted": "crud.done.deleted"}


def list_url(entity: EntityDef) -> str:
    """The home page lists the first entity; the others have a page of their own."""
    return "/" if entity is ENTITIES[0] else f"/{entity.plural}"


def file_size(count: int) -> str:
    """A file's size in the app's language ("1,5 KiB", "200 Byte")."""
    return i18n.decimal_text(size_text(count, i18n.t("units.bytes")))


def done_message(done: str, entity: EntityDef) -> str:
    key = DONE_MESSAGES.get(done)
    return i18n.t(key, label=entity.label) if key else ""


def storage_full_text() -> str:
    return i18n.t("error.storage_full")


def hostname(url: str) -> str:
    return urlsplit(url).hostname or url


templates.env.filters["money"] = i18n.format_money
templates.env.filters["noun"] = i18n.noun
templates.env.filters["hostname"] = hostname
templates.env.filters["number"] = i18n.format_number
templates.env.filters["nicedate"] = i18n.format_date
templates.env.filters["filesize"] = file_size
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
            raise _NotStored({name: i18n.t("validation.picture")}) from None
        if isinstance(exc, OverQuota):
            quota, used = file_size(exc.quota), file_size(exc.used)
            raise _NotStored({}, i18n.t("validation.over_quota", quota=quota, used=used)) from None
        if storage_full(exc):
            raise _NotStored({}, storage_full_text()) from None
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
    message = done_message(done, entity)
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
    message = done_message(done, entity)
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
        return _form(request, entity, values, {}, problem=storage_full_text())
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
        return _form(request, entity, values, {}, current, problem=storage_full_text())
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
