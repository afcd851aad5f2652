"""The app's own tests: its API and its pages, for every entity and every field it has.

The tests read the entities from app/entities.py, so they keep covering the app as it changes.
"""

from __future__ import annotations

import base64
import errno
import math
import os
import sqlite3
import tempfile
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from app import i18n, site
from app.entities import ENTITIES
from app.fields import EntityDef, FieldDef
from app.main import create_app

FIELDS = [(entity, field) for entity in ENTITIES for field in entity.data_fields]
UPLOADS = [(entity, field) for entity in ENTITIES for field in entity.upload_fields]


def entity_id(entity: EntityDef) -> str:
    return entity.plural


def field_id(pair: tuple[EntityDef, FieldDef]) -> str:
    return f"{pair[0].plural}.{pair[1].name}"


def list_url(entity: EntityDef) -> str:
    return "/" if entity is ENTITIES[0] else f"/{entity.plural}"


def _within(field: FieldDef, value: float) -> float:
    if field.min is not None:
        value = max(value, field.min)
    if field.max is not None:
        value = min(value, field.max)
    return value


def sample(field: FieldDef, variant: int = 0) -> Any:
    """A valid JSON value for ``field``; ``variant`` 1 gives a different one."""
    kind = field.type
    if kind == "text":
        return ["Sample value", "Changed value"][variant]
    if kind == "long_text":
        return ["A longer note.\nIt has two lines.", "Rewritten note."][variant]
    if kind in ("integer", "rating"):
        low = math.ceil(field.min) if field.min is not None else None
        high = math.floor(field.max) if field.max is not None else None
        value = int(_within(field, 3 + variant))
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high
        return value
    if kind == "decimal":
        return _within(field, [2.5, 4.75][variant])
    if kind == "money":
        value = Decimal(str(_within(field, [12.5, 99.99][variant]))).quantize(Decimal("0.01"))
        if field.max is not None and value > Decimal(str(field.max)):
            value -= Decimal("0.01")
        if field.min is not None and value < Decimal(str(field.min)):
            value += Decimal("0.01")
        return float(value)
    if kind == "boolean":
        return [True, False][variant]
    if kind == "date":
        return ["2024-05-01", "2024-06-15"][variant]
    if kind == "email":
        return ["someone@example.com", "another@example.org"][variant]
    if kind == "url":
        return ["https://example.com/one", "http://example.org/two?x=1"][variant]
    if kind == "phone":
        return ["+1 (555) 010-2030", "020 7946 0000"][variant]
    raise AssertionError(f"no sample for {kind}")


def payload(entity: EntityDef, variant: int = 0) -> dict[str, Any]:
    return {field.name: sample(field, variant) for field in entity.data_fields}


#: The smallest PNG (1x1 pixel) and a GIF: pictures as a browser would upload them.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)
GIF = base64.b64decode("R0lGODdhAQABAIEAAAAAAAAAAAAAAAAAACwAAAAAAQABAAAIBAABBAQAOw==")
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


def upload_sample(field: FieldDef, variant: int = 0) -> tuple[str, bytes, str]:
    """(file name, bytes, media type) of a file for ``field``; ``variant`` 1 gives another."""
    if field.type == "image":
        return [("receipt.png", PNG, "image/png"), ("cat photo.gif", GIF, "image/gif")][variant]
    return [("notes.pdf", b"%PDF-1.4 not really", "application/pdf"),
            ("r\u00e9sum\u00e9.txt", "Grüße\n".encode() * 3, "text/plain")][variant]


def form_files(entity: EntityDef, variant: int = 0) -> dict[str, tuple[str, bytes, str]]:
    return {field.name: upload_sample(field, variant) for field in entity.upload_fields}


def form_data(entity: EntityDef, variant: int = 0) -> dict[str, str]:
    data = {}
    for field in entity.data_fields:
        value = sample(field, variant)
        if field.type == "boolean":
            if value:
                data[field.name] = "on"
        elif field.type == "money":
            data[field.name] = f"{value:.2f}"
        else:
            data[field.name] = str(value)
    return data


def same(field: FieldDef, got: Any, sent: Any) -> bool:
    if field.type == "money":
        return Decimal(str(got)) == Decimal(str(sent))
    if field.type == "decimal":
        return math.isclose(float(got), float(sent))
    return got == sent


#: Beyond what SQLite stores in an integer (64 bits).
HUGE = 2**63


def bad_json_values(field: FieldDef) -> list[Any]:
    """Values the OpenAPI document rules out for ``field``: each must be answered 422."""
    bad: list[Any] = {
        "text": ["x" * 201, " " + "x" * 200, 7],
        "long_text": ["x" * 10_001, ["a list"]],
        "integer": ["abc", 1.5, "3", True, HUGE, -HUGE - 1],
        "rating": ["abc", "3", True],
        "decimal": ["abc", "2.5", False, 10**400],
        "money": ["12.50", "abc", True, HUGE],
        "boolean": ["maybe", 0, "true"],
        "date": ["2024-13-45", "yesterday", 20240501, "2024-05-01T00:00:00"],
        "email": ["not-an-email", "a@b", " someone@example.com"],
        "url": ["javascript:alert(1)", "example.com", "http://[::1", "http://a b"],
        "phone": ["call me", "12"],
    }[field.type]
    if field.type in ("integer", "rating", "decimal", "money"):
        if field.min is not None:
            bad.append(math.floor(field.min) - 1)
        if field.max is not None:
            bad.append(math.ceil(field.max) + 1)
    if field.type in ("text", "long_text", "email", "url", "phone"):
        bad.append("")
    if field.type in ("text", "long_text"):
        bad += ["   ", "\u2003\n", "a\x00b"]  # no NUL: Postgres text cannot hold one
    if field.required or field.type == "boolean":
        bad.append(None)
    return bad


BAD_FORM_VALUES = {
    "text": "x" * 201,
    "long_text": "x" * 10_001,
    "integer": "abc",
    "decimal": "abc",
    "money": "12.345",
    "boolean": "maybe",
    "date": "2024-13-45",
    "email": "not-an-email",
    "url": "javascript:alert(1)",
    "phone": "call me",
}


def bad_form_value(field: FieldDef) -> str:
    if field.type == "rating":
        return str(int(field.max or 5) + 1)
    return BAD_FORM_VALUES[field.type]


# -- the basics ----------------------------------------------------------------------------------


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_home_page_shows_the_title(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert str(escape(site.TITLE)) in response.text
    assert f'lang="{escape(site.LANGUAGE)}"' in response.text
    assert 'href="#main"' in response.text
    if site.LOGO:
        assert site.LOGO.url in response.text
    if site.HERO_IMAGE:
        assert site.HERO_IMAGE.url in response.text


def test_home_page_invites_the_first_record(client: TestClient) -> None:
    response = client.get("/")
    assert f'href="/{ENTITIES[0].plural}/new"' in response.text
    assert str(escape(i18n.t("crud.empty_text", label=i18n.noun(ENTITIES[0].label)))) \
        in response.text


def test_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "--primary:" in response.text


def test_pages_send_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    assert "script-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_openapi_lists_the_api_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/healthz" in paths
    for entity in ENTITIES:
        assert set(paths[f"/api/{entity.plural}"]) == {"get", "post"}
        assert set(paths[f"/api/{entity.plural}/{{item_id}}"]) == {"get", "put", "patch", "delete"}
    assert not any(path.endswith("/edit") for path in paths)


def test_unknown_pages_and_ids_are_404(client: TestClient) -> None:
    page = client.get("/no-such-page", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert str(escape(i18n.t("error.heading_404"))) in page.text
    for entity in ENTITIES:
        assert client.get(f"/api/{entity.plural}/999999").status_code == 404
        assert client.get(f"/{entity.plural}/999999").status_code == 404
        assert client.get(f"/{entity.plural}/999999/edit").status_code == 404
        assert client.post(f"/{entity.plural}/999999/delete").status_code == 404


# -- the JSON API --------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES, ids=entity_id)
def test_api_create_read_update_delete(client: TestClient, entity: EntityDef) -> None:
    base = f"/api/{entity.plural}"
    sent = payload(entity)
    created = client.post(base, json=sent)
    assert created.status_code == 201, created.text
    record = created.json()
    item = f"{base}/{record['id']}"
    for field in entity.data_fields:
        assert same(field, record[field.name], sent[field.name]), field.name
    for field in entity.upload_fields:
        assert record[field.name] is None  # files are sent on their own URL

    assert client.get(item).json() == record
    assert record["id"] in [r["id"] for r in client.get(base).json()]

    replacement = payload(entity, variant=1)
    replaced = client.put(item, json=replacement)
    assert replaced.status_code == 200, replaced.text
    for field in entity.data_fields:
        assert same(field, replaced.json()[field.name], replacement[field.name]), field.name

    if entity.data_fields:
        first = entity.data_fields[0]
        patched = client.patch(item, json={first.name: sample(first, 0)})
        assert patched.status_code == 200, patched.text
        assert same(first, patched.json()[first.name], sample(first, 0))
        for field in entity.data_fields[1:]:
            assert same(field, patched.json()[field.name], replacement[field.name]), field.name

    assert client.delete(item).status_code == 204
    assert client.get(item).status_code == 404
    assert client.delete(item).status_code == 404
    assert client.put(item, json=replacement).status_code == 404
    assert client.patch(item, json={}).status_code == 404


@pytest.mark.parametrize("entity", ENTITIES, ids=entity_id)
def test_api_rejects_unknown_and_missing_fields(client: TestClient, entity: EntityDef) -> None:
    base = f"/api/{entity.plural}"
    assert client.post(base, json={**payload(entity), "no_such_field": 1}).status_code == 422
    for field in entity.upload_fields:  # a file is never part of the JSON body
        assert client.post(base, json={**payload(entity), field.name: None}).status_code == 422
    required = [f for f in entity.data_fields if f.required]
    if required:
        partial = payload(entity)
        del partial[required[0].name]
        assert client.post(base, json=partial).status_code == 422


@pytest.mark.parametrize(("entity", "field"), FIELDS, ids=[field_id(p) for p in FIELDS])
def test_api_rejects_a_bad_value(client: TestClient, entity: EntityDef, field: FieldDef) -> None:
    base = f"/api/{entity.plural}"
    record = client.post(base, json=payload(entity)).json()
    for bad in bad_json_values(field):
        response = client.post(base, json={**payload(entity), field.name: bad})
        assert response.status_code == 422, (bad, response.text)
        assert any(field.name in map(str, e["loc"]) for e in response.json()["detail"])
        patched = client.patch(f"{base}/{record['id']}", json={field.name: bad})
        assert patched.status_code == 422, (bad, patched.text)
    assert client.get(base).json() == [record]


@pytest.mark.parametrize("entity", ENTITIES, ids=entity_id)
def test_api_ids_and_offsets_out_of_range_are_refused_not_crashed(
    client: TestClient, entity: EntityDef
) -> None:
    base = f"/api/{entity.plural}"
    for item_id in (0, -1, 2**53, 2**64, 10**30):
        assert client.get(f"{base}/{item_id}").status_code == 422, item_id
        assert client.put(f"{base}/{item_id}", json=payload(entity)).status_code == 422
        assert client.delete(f"{base}/{item_id}").status_code == 422
        # the pages answer for the same ids with "not found"
        assert client.get(f"/{entity.plural}/{abs(item_id)}").status_code == 404
    for offset in (-1, 2**53, 2**64):
        assert client.get(base, params={"offset": offset}).status_code == 422, offset
    assert client.get(base, params={"offset": 2**53 - 1}).json() == []
    for limit in (0, 501, "ten"):
        assert client.get(base, params={"limit": limit}).status_code == 422, limit


@pytest.mark.parametrize(("entity", "field"), FIELDS, ids=[field_id(p) for p in FIELDS])
def test_api_accepts_the_edges_the_document_states(
    client: TestClient, entity: EntityDef, field: FieldDef
) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"][f"{type_name(entity)}In"]
    stated = schema["properties"][field.name]
    stated = next((s for s in stated.get("anyOf", [stated]) if s.get("type") != "null"), stated)
    edges = [stated[key] for key in ("minimum", "maximum") if key in stated]
    base = f"/api/{entity.plural}"
    for edge in edges:
        response = client.post(base, json={**payload(entity), field.name: edge})
        assert response.status_code == 201, (edge, response.text)
    if field.type in ("integer", "rating"):
        assert stated["type"] == "integer" and -(2**53) < stated["minimum"] <= stated["maximum"]
        assert stated["maximum"] < 2**53
        whole = client.post(base, json={**payload(entity), field.name: float(edges[0])})
        assert whole.status_code == 201 and whole.json()[field.name] == edges[0]
    if field.type == "money":
        low = max(stated["minimum"], 0)
        sent = client.post(base, json={**payload(entity), field.name: low + 0.5700000000000001})
        assert sent.status_code == 201 and Decimal(str(sent.json()[field.name])) == Decimal(
            str(low)
        ) + Decimal("0.57")
    if field.type in ("text", "long_text"):
        padded = client.post(base, json={**payload(entity), field.name: "  Padded  "})
        assert padded.json()[field.name] == "Padded"


def type_name(entity: EntityDef) -> str:
    return "".join(part.capitalize() for part in entity.name.split("_"))


def test_openapi_states_every_answer_an_operation_gives(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for entity in ENTITIES:
        listing, item = paths[f"/api/{entity.plural}"], paths[f"/api/{entity.plural}/{{item_id}}"]
        assert {"201", "400", "413", "422", "507"} <= set(listing["post"]["responses"])
        for method in ("put", "patch"):
            assert {"200", "400", "404", "413", "422", "507"} <= set(item[method]["responses"])
        assert {"204", "404", "422"} <= set(item["delete"]["responses"])
        assert {"200", "404", "422"} <= set(item["get"]["responses"])


def test_api_answers_head_and_options(client: TestClient) -> None:
    entity = ENTITIES[0]
    assert client.head("/").status_code == 200
    assert client.head(f"/api/{entity.plural}").status_code == 200
    listing = client.options(f"/api/{entity.plural}")
    assert listing.status_code == 204
    assert listing.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    item = client.options(f"/api/{entity.plural}/1")
    assert item.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
    wrong = client.post(f"/api/{entity.plural}/1", json={})
    assert wrong.status_code == 405 and wrong.headers["allow"] == item.headers["allow"]


def test_a_body_that_is_not_json_text_is_400(client: TestClient) -> None:
    entity = ENTITIES[0]
    response = client.post(
        f"/api/{entity.plural}", content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}


@pytest.mark.parametrize("entity", ENTITIES, ids=entity_id)
def test_api_search_finds_text(client: TestClient, entity: EntityDef) -> None:
    if not entity.searchable:
        pytest.skip("no text fields to search")
    base = f"/api/{entity.plural}"
    client.post(base, json=payload(entity))
    client.post(base, json=payload(entity, variant=1))
    word = str(sample(entity.searchable[0], 1)).split()[0]
    found = client.get(base, params={"q": word}).json()
    assert found and all(
        any(word in str(r[f.name] or "") for f in entity.searchable) for r in found
    )
    assert client.get(base, params={"q": "zz-no-such-thing"}).json() == []


# -- the HTML pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES, ids=entity_id)
def test_pages_create_show_edit_and_delete(client: TestClient, entity: EntityDef) -> None:
    form = client.get(f"/{entity.plural}/new")
    assert form.status_code == 200
    for field in entity.fields:
        assert f'id="f-{field.name}' in form.text
        assert str(escape(field.label)) in form.text

    created = client.post(
        f"/{entity.plural}/new", data=form_data(entity), files=form_files(entity)
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == f"{list_url(entity)}?done=created"
    listing = client.get(created.headers["location"])
    assert str(escape(i18n.t("crud.done.created", label=entity.label))) in listing.text
    record = client.get(f"/api/{entity.plural}").json()[0]
    for field in entity.data_fields:
        assert same(field, record[field.name], sample(field)), field.name

    page = client.get(f"/{entity.plural}/{record['id']}")
    assert page.status_code == 200
    assert str(escape(entity.title(record))) in page.text

    edit = client.get(f"/{entity.plural}/{record['id']}/edit")
    assert edit.status_code == 200
    saved = client.post(f"/{entity.plural}/{record['id']}/edit", data=form_data(entity, 1))
    assert saved.status_code == 303, saved.text
    assert str(escape(i18n.t("crud.done.updated", label=entity.label))) \
        in client.get(saved.headers["location"]).text
    changed = client.get(f"/api/{entity.plural}/{record['id']}").json()
    for field in entity.data_fields:
        assert same(field, changed[field.name], sample(field, 1)), field.name

    confirm = client.get(f"/{entity.plural}/{record['id']}/delete")
    assert confirm.status_code == 200
    assert f'action="/{entity.plural}/{record["id"]}/delete"' in confirm.text
    deleted = client.post(f"/{entity.plural}/{record['id']}/delete")
    assert deleted.status_code == 303
    assert str(escape(i18n.t("crud.done.deleted", label=entity.label))) \
        in client.get(deleted.headers["location"]).text
    assert client.get(f"/api/{entity.plural}/{record['id']}").status_code == 404


@pytest.mark.parametrize(("entity", "field"), FIELDS, ids=[field_id(p) for p in FIELDS])
def test_form_shows_a_bad_value_again_with_a_message(
    client: TestClient, entity: EntityDef, field: FieldDef
) -> None:
    bad = bad_form_value(field)
    response = client.post(
        f"/{entity.plural}/new", data={**form_data(entity), field.name: bad},
        files=form_files(entity),
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert f'id="f-{field.name}-error"' in response.text or f'id="f-{field.name}' in response.text
    assert 'class="field-error"' in response.text
    if field.type not in ("boolean", "rating"):
        assert str(escape(bad)) in response.text
        assert 'aria-invalid="true"' in response.text
    assert client.get(f"/api/{entity.plural}").json() == []


@pytest.mark.parametrize("entity", ENTITIES, ids=entity_id)
def test_form_asks_for_required_fields(client: TestClient, entity: EntityDef) -> None:
    required = [f for f in entity.data_fields if f.required]
    if not required:
        pytest.skip("no required fields")
    data = {**form_data(entity), required[0].name: ""}
    response = client.post(f"/{entity.plural}/new", data=data, files=form_files(entity))
    assert response.status_code == 422
    assert str(escape(i18n.t("validation.required", label=required[0].label))) in response.text


@pytest.mark.parametrize("entity", ENTITIES, ids=entity_id)
def test_list_page_shows_and_searches_records(client: TestClient, entity: EntityDef) -> None:
    client.post(f"/api/{entity.plural}", json=payload(entity))
    page = client.get(list_url(entity))
    assert page.status_code == 200
    assert "<table" in page.text
    if entity.searchable:
        assert (
            client.get(list_url(entity), params={"q": "zz-no-such-thing"}).text.count(
                str(escape(i18n.t("crud.no_match", query="zz-no-such-thing")))
            )
            == 1
        )


# -- upgrades ------------------------------------------------------------------------------------


def test_new_fields_are_added_to_an_old_database(data_dir) -> None:
    entity = ENTITIES[0]
    kept, *added = entity.fields
    with sqlite3.connect(data_dir / "app.db") as conn:
        conn.execute(
            f'CREATE TABLE "{entity.table}" (id INTEGER PRIMARY KEY AUTOINCREMENT, '
            f'created_at TEXT NOT NULL, updated_at TEXT NOT NULL, "{kept.name}" {kept.sql_type})'
        )
        conn.execute(
            f'INSERT INTO "{entity.table}" (created_at, updated_at, "{kept.name}") VALUES (?, ?, ?)',
            ("2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00+00:00", None),
        )
    conn.close()
    opens_the_older_table(data_dir, entity, added)


def opens_the_older_table(data_dir, entity, added) -> None:
    """The app on a table made before ``added`` existed: its one record reads them as empty,
    and pages and new records work."""
    with TestClient(create_app(data_dir)) as client:
        records = client.get(f"/api/{entity.plural}").json()
        assert len(records) == 1
        assert all(records[0][f.name] is None for f in added)
        assert client.get("/").status_code == 200
        assert client.post(f"/api/{entity.plural}", json=payload(entity)).status_code == 201


# -- a full disk ---------------------------------------------------------------------------------


def no_free_space(_path: object) -> os.statvfs_result:
    """What ``os.statvfs`` says about a full disk of 4 KiB blocks."""
    return os.statvfs_result((4096, 4096, 256, 0, 0, 64, 0, 0, 0, 255))


def test_a_full_disk_refuses_writes_with_507_and_keeps_what_was_saved(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    entity = ENTITIES[0]
    base = f"/api/{entity.plural}"
    saved = [client.post(base, json=payload(entity)).json()]
    monkeypatch.setattr(os, "statvfs", no_free_space)
    # the database may still fill the pages it has; the first one it would add is refused
    for _ in range(2000):
        response = client.post(base, json=payload(entity))
        if response.status_code != 201:
            break
        saved.append(response.json())
    assert response.status_code == 507, response.text
    assert "storage is full" in response.json()["detail"]

    assert client.get("/healthz").status_code == 200
    listed = client.get(base, params={"limit": 500}).json()
    assert {r["id"] for r in listed} == {r["id"] for r in saved[-500:]}

    # the same record as the refused one (a smaller one might still fit in the last page)
    form = client.post(f"/{entity.plural}/new", data=form_data(entity), files=form_files(entity))
    assert form.status_code == 507
    assert str(escape(i18n.t("error.storage_full"))) in form.text and 'role="alert"' in form.text
    first = entity.fields[0]
    if first.type in ("text", "long_text"):
        assert str(escape(sample(first))) in form.text  # what was typed is kept
    # the files of the refused form were removed again
    assert not any(client.app.state.uploads.folder.glob("*"))

    # deleting still works, and frees room for a new record
    assert client.delete(f"{base}/{saved[-1]['id']}").status_code == 204
    assert client.post(base, json=payload(entity)).status_code == 201


# -- uploaded files ------------------------------------------------------------------------------


def upload_id(pair: tuple[EntityDef, FieldDef]) -> str:
    return field_id(pair)


def stored_files(client: TestClient) -> list[str]:
    """The files in the uploads folder, partial ones included."""
    folder = client.app.state.uploads.folder
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def new_record(client: TestClient, entity: EntityDef) -> dict[str, Any]:
    created = client.post(f"/api/{entity.plural}", json=payload(entity))
    assert created.status_code == 201, created.text
    return created.json()


def put_file(
    client: TestClient, entity: EntityDef, field: FieldDef, item_id: int, variant: int = 0
) -> Any:
    name, content, kind = upload_sample(field, variant)
    return client.put(
        f"/api/{entity.plural}/{item_id}/{field.name}", params={"name": name}, content=content,
        headers={"content-type": kind},
    )


@pytest.mark.parametrize(("entity", "field"), UPLOADS, ids=[upload_id(p) for p in UPLOADS])
def test_a_file_uploads_downloads_is_replaced_and_deleted(
    client: TestClient, entity: EntityDef, field: FieldDef
) -> None:
    record = new_record(client, entity)
    url = f"/api/{entity.plural}/{record['id']}/{field.name}"
    assert client.get(url).status_code == 404  # no file yet

    name, content, kind = upload_sample(field)
    uploaded = put_file(client, entity, field, record["id"])
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()[field.name] == {"name": name, "size": len(content), "type": kind,
                                           "url": url}
    assert client.get(f"/api/{entity.plural}/{record['id']}").json()[field.name]["url"] == url
    download = client.get(url)
    assert download.status_code == 200 and download.content == content
    if field.type == "image":
        assert download.headers["content-type"] == kind
        assert download.headers["content-disposition"].startswith("inline")
    else:
        assert download.headers["content-type"] == "application/octet-stream"
        assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"
    assert len(stored_files(client)) == 1

    # a new file replaces the old one, which is gone from the disk
    other_name, other, _ = upload_sample(field, 1)
    replaced = put_file(client, entity, field, record["id"], variant=1)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()[field.name]["name"] == other_name
    assert client.get(url).content == other
    assert len(stored_files(client)) == 1

    # the JSON API changes the other fields and leaves the file alone
    assert client.put(f"/api/{entity.plural}/{record['id']}", json=payload(entity, 1)).json()[
        field.name]["size"] == len(other)

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 204  # nothing left to delete: still no file
    assert client.get(f"/api/{entity.plural}/{record['id']}").json()[field.name] is None
    assert stored_files(client) == []

    # deleting the record deletes its file
    assert put_file(client, entity, field, record["id"]).status_code == 200
    assert client.delete(f"/api/{entity.plural}/{record['id']}").status_code == 204
    assert stored_files(client) == []
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404  # no such record
    assert put_file(client, entity, field, record["id"]).status_code == 404
    assert stored_files(client) == []


@pytest.mark.parametrize(("entity", "field"), UPLOADS, ids=[upload_id(p) for p in UPLOADS])
def test_an_uploaded_web_page_never_runs_as_a_page_of_the_app(
    client: TestClient, entity: EntityDef, field: FieldDef
) -> None:
    record = new_record(client, entity)
    url = f"/api/{entity.plural}/{record['id']}/{field.name}"
    sent = client.put(url, params={"name": "evil.html"}, content=HTML,
                      headers={"content-type": "text/html"})
    if field.type == "image":  # not a picture, whatever it says it is: refused, nothing kept
        assert sent.status_code == 415, sent.text
        assert "JPEG, PNG, GIF or WebP" in sent.json()["detail"]
        assert client.get(f"/api/{entity.plural}/{record['id']}").json()[field.name] is None
        assert stored_files(client) == []
        fake = client.put(url, content=b"GIF89a" + HTML, headers={"content-type": "image/gif"})
        assert fake.status_code == 200  # starts like a GIF: kept, but only ever served as one
        assert client.get(url).headers["content-type"] == "image/gif"
        return
    assert sent.status_code == 200, sent.text
    assert sent.json()[field.name]["type"] == "text/html"  # what the client said, kept as such
    served = client.get(url)
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"] == 'attachment; filename="evil.html"'
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]


@pytest.mark.parametrize(("entity", "field"), UPLOADS, ids=[upload_id(p) for p in UPLOADS])
def test_uploads_beyond_the_quota_are_refused_with_507_saying_how_much_is_used(
    data_dir: Any, monkeypatch: pytest.MonkeyPatch, entity: EntityDef, field: FieldDef
) -> None:
    monkeypatch.setenv("APP_UPLOAD_QUOTA_BYTES", "1000")
    content = b"GIF89a" + b"x" * 594  # 600 bytes, a picture by its first bytes
    with TestClient(create_app(data_dir)) as client:
        first, second = new_record(client, entity), new_record(client, entity)
        url = f"/api/{entity.plural}/{{}}/{field.name}"
        assert client.put(url.format(first["id"]), content=content).status_code == 200
        refused = client.put(url.format(second["id"]), content=content)
        assert refused.status_code == 507, refused.text
        detail = refused.json()["detail"]
        assert "1000 bytes in all" in detail and "600 bytes are used" in detail, detail
        # sent without a length (chunked), it is cut off as it arrives
        chunked = client.put(url.format(second["id"]), content=iter([content[:300]] * 2))
        assert chunked.status_code == 507
        assert client.get(f"/api/{entity.plural}/{second['id']}").json()[field.name] is None
        assert len(stored_files(client)) == 1  # nothing partial is left behind
        # a file that replaces another counts without the one it replaces
        bigger = b"GIF89a" + b"y" * 894
        assert client.put(url.format(first["id"]), content=bigger).status_code == 200
        assert client.get(url.format(first["id"])).content == bigger
        # the form says the same
        files = {**form_files(entity), field.name: ("big.gif", content, "image/gif")}
        form = client.post(f"/{entity.plural}/{second['id']}/edit", data=form_data(entity),
                           files=files)
        quota = f"1000 {i18n.t('units.bytes')}"
        assert form.status_code == 507 and str(escape(quota)) in form.text
        assert len(stored_files(client)) == 1


@pytest.mark.parametrize(("entity", "field"), UPLOADS[:1], ids=[upload_id(p) for p in UPLOADS[:1]])
def test_an_upload_over_the_body_limit_is_413_and_leaves_nothing(
    data_dir: Any, monkeypatch: pytest.MonkeyPatch, entity: EntityDef, field: FieldDef
) -> None:
    monkeypatch.setenv("APP_MAX_BODY_BYTES", "2048")
    with TestClient(create_app(data_dir)) as client:
        record = new_record(client, entity)
        url = f"/api/{entity.plural}/{record['id']}/{field.name}"
        for body in (PNG + b"x" * 4096, iter([PNG + b"x" * 1024] * 4)):  # declared, chunked
            answer = client.put(url, content=body)
            assert answer.status_code == 413, answer.text
            assert "larger than this app accepts" in answer.json()["detail"]
        assert stored_files(client) == []
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(("entity", "field"), UPLOADS, ids=[upload_id(p) for p in UPLOADS])
def test_a_full_disk_during_an_upload_is_507_and_the_older_file_stays(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, entity: EntityDef, field: FieldDef
) -> None:
    record = new_record(client, entity)
    url = f"/api/{entity.plural}/{record['id']}/{field.name}"
    assert put_file(client, entity, field, record["id"]).status_code == 200
    kept = client.get(url).content

    def disk_full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)  # the kernel says so when the file is flushed
    answer = put_file(client, entity, field, record["id"], variant=1)
    assert answer.status_code == 507, answer.text
    assert "storage is full" in answer.json()["detail"]
    assert client.get(url).content == kept
    assert len(stored_files(client)) == 1  # the partial file is gone
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(("entity", "field"), UPLOADS, ids=[upload_id(p) for p in UPLOADS])
def test_forms_upload_show_and_replace_a_file(
    client: TestClient, entity: EntityDef, field: FieldDef
) -> None:
    form = client.get(f"/{entity.plural}/new")
    assert 'enctype="multipart/form-data"' in form.text
    assert f'name="{field.name}" type="file"' in form.text
    assert ('accept="image/*"' in form.text) == any(f.type == "image" for f in entity.fields)

    created = client.post(f"/{entity.plural}/new", data=form_data(entity),
                          files=form_files(entity))
    assert created.status_code == 303, created.text
    record = client.get(f"/api/{entity.plural}").json()[0]
    url = record[field.name]["url"]
    name, content, _ = upload_sample(field)
    assert client.get(url).content == content
    page = client.get(f"/{entity.plural}/{record['id']}").text
    if field.type == "image":
        assert f'<img src="{url}"' in page
        download = escape(i18n.t("crud.download", name=name))
        assert f'href="{url}?download=true" download>{download}</a>' in page
        saved = client.get(url, params={"download": "true"})
        assert saved.content == content
        assert saved.headers["content-disposition"].startswith("attachment")
    else:
        assert f'href="{url}" download>{escape(name)}</a>' in page
    listing = client.get(list_url(entity)).text
    if field in entity.columns and field.type == "image":
        assert f'<img src="{url}"' in listing

    # an edit without a file keeps it; with one, replaces it
    edit = client.get(f"/{entity.plural}/{record['id']}/edit").text
    assert 'class="current-file"' in edit and f'href="{url}"' in edit
    kept = client.post(f"/{entity.plural}/{record['id']}/edit", data=form_data(entity, 1))
    assert kept.status_code == 303, kept.text
    assert client.get(url).content == content
    _, other, _ = upload_sample(field, 1)
    replaced = client.post(f"/{entity.plural}/{record['id']}/edit", data=form_data(entity, 1),
                           files={field.name: upload_sample(field, 1)})
    assert replaced.status_code == 303, replaced.text
    assert client.get(url).content == other
    assert len(stored_files(client)) == len(entity.upload_fields)

    if field.type == "image":  # a file that is no picture is refused with a message
        wrong = client.post(f"/{entity.plural}/{record['id']}/edit", data=form_data(entity),
                            files={field.name: ("notes.txt", b"just text", "text/plain")})
        assert wrong.status_code == 422
        assert str(escape(i18n.t("validation.picture"))) in wrong.text
        assert client.get(url).content == other
    if not field.required:  # an optional file can be removed
        removed = client.post(f"/{entity.plural}/{record['id']}/edit",
                              data={**form_data(entity, 1), f"{field.name}-remove": "on"})
        assert removed.status_code == 303
        assert client.get(url).status_code == 404

    assert client.post(f"/{entity.plural}/{record['id']}/delete").status_code == 303
    assert stored_files(client) == []


def test_openapi_describes_every_upload(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for entity, field in UPLOADS:
        operations = paths[f"/api/{entity.plural}/{{item_id}}/{field.name}"]
        assert set(operations) == {"put", "get", "delete"}
        body = operations["put"]["requestBody"]["content"]
        answers = set(operations["put"]["responses"])
        if field.type == "image":
            assert set(body) == {"image/jpeg", "image/png", "image/gif", "image/webp"}
            assert {"200", "404", "413", "415", "422", "507"} <= answers
        else:
            assert set(body) == {"application/octet-stream"}
            assert {"200", "404", "413", "422", "507"} <= answers
        assert "application/octet-stream" in operations["get"]["responses"]["200"]["content"]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for entity, field in UPLOADS:  # not in the JSON bodies, read-only in the record
        name = "".join(part.capitalize() for part in entity.name.split("_"))
        assert field.name not in schemas[f"{name}In"].get("properties", {})
        assert field.name not in schemas[f"{name}Patch"].get("properties", {})
        assert field.name in schemas[f"{name}"]["properties"]


def test_form_uploads_are_spooled_to_the_data_volume_not_to_tmp(
    data_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The container's /tmp is a small tmpfs (memory); its Dockerfile sets TMPDIR=/data/tmp."""
    monkeypatch.setenv("TMPDIR", str(data_dir / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)  # put back afterwards
    create_app(data_dir)
    assert tempfile.gettempdir() == str(data_dir / "tmp")
