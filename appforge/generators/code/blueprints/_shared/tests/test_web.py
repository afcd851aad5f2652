"""What every app gets from app/web.py, tried on a small app of its own: the body limit, HEAD and
OPTIONS, and the methods a path answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from pydantic import BaseModel

from app import i18n, web

LIMIT = 1024


class Note(BaseModel):
    text: str


def small_app() -> FastAPI:
    app = FastAPI()
    web.install(app)

    @app.get("/api/notes")
    def notes() -> list[Note]:
        return [Note(text="hello")]

    @app.post("/api/notes", status_code=201, responses=web.BODY_ERRORS)
    def add(note: Note) -> Note:
        return note

    return app


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("APP_MAX_BODY_BYTES", str(LIMIT))
    with TestClient(small_app()) as test_client:
        yield test_client


def test_the_body_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_MAX_BODY_BYTES", raising=False)
    assert web.max_body_bytes() == web.DEFAULT_MAX_BODY_BYTES == 1_048_576
    monkeypatch.setenv("APP_MAX_BODY_BYTES", "2048")
    assert web.max_body_bytes() == 2048
    monkeypatch.setenv("APP_MAX_BODY_BYTES", "lots")
    with pytest.raises(ValueError, match="APP_MAX_BODY_BYTES"):
        web.max_body_bytes()


def test_a_body_within_the_limit_is_read(client: TestClient) -> None:
    text = "x" * (LIMIT - 20)
    response = client.post("/api/notes", json={"text": text})
    assert response.status_code == 201, response.text
    assert response.json() == {"text": text}


def test_a_declared_body_over_the_limit_is_refused_unread(client: TestClient) -> None:
    body = b"{" + b" " * LIMIT + b"}"
    response = client.post("/api/notes", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    detail = "The request body is larger than this app accepts (1 KiB)."
    assert response.json() == {"detail": detail}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/notes").status_code == 200


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(LIMIT // 100 + 5):
            yield b"y" * 100
        yield b'"}'

    response = client.post(
        "/api/notes", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert "1 KiB" in response.json()["detail"]


def test_a_browser_gets_a_page_saying_the_limit(client: TestClient) -> None:
    response = client.post(
        "/form", content=b"a" * (LIMIT + 1), headers={"accept": "text/html"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert str(escape(i18n.t("error.too_large", size="1 KiB"))) in response.text


def test_head_is_answered_wherever_get_is(client: TestClient) -> None:
    for path in ("/api/notes", "/healthz", "/openapi.json"):
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]


def test_options_names_every_method_of_the_path(client: TestClient) -> None:
    response = client.options("/api/notes")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert client.options("/healthz").headers["allow"] == "GET, HEAD, OPTIONS"


def test_a_method_the_path_lacks_is_405_with_the_paths_methods(client: TestClient) -> None:
    for method in ("PUT", "DELETE", "TRACE"):
        response = client.request(method, "/api/notes")
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, HEAD, OPTIONS, POST"
        assert response.json() == {"detail": "Method Not Allowed"}
    assert client.request("OPTIONS", "/no-such-path").status_code == 404


def test_the_openapi_document_states_the_body_errors(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/api/notes"]["post"]
    assert {"201", "400", "413", "422"} <= set(operation["responses"])
