"""The app's own tests: the landing page, its assets and its sign-up form."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from markupsafe import escape

from app import i18n, site
from app.signups import Signups


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_home_page_shows_title_tagline_and_call_to_action(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert str(escape(site.TITLE)) in html
    assert str(escape(site.TAGLINE)) in html
    assert str(escape(site.CALL_TO_ACTION)) in html
    assert f'lang="{escape(site.LANGUAGE)}"' in html
    assert 'href="#main"' in html and 'id="main"' in html
    for feature in site.FEATURES:
        assert str(escape(feature.title)) in html
        assert str(escape(feature.text)) in html


def test_home_page_shows_logo_and_hero_media(client: TestClient) -> None:
    html = client.get("/").text
    if site.LOGO:
        assert f'src="{site.LOGO.url}"' in html
    if site.HERO_VIDEO:
        assert "<video autoplay muted loop playsinline" in html
        assert f'poster="{site.HERO_VIDEO.poster_url}"' in html
        assert f'<source src="{site.HERO_VIDEO.url}" type="video/mp4">' in html
    elif site.HERO_IMAGE:
        assert f'src="{site.HERO_IMAGE.url}"' in html


def test_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "--primary:" in response.text


def test_openapi_lists_the_api_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {"/healthz", "/api/signups"}
    assert "/signup" not in paths


def test_signup_form_thanks_the_visitor_and_keeps_the_address(
    client: TestClient, data_dir: Path
) -> None:
    response = client.post("/signup", data={"email": " someone@example.com "})
    assert response.status_code == 303
    assert response.headers["location"] == "/?joined=1#get-started"
    assert str(escape(i18n.t("landing.thanks"))) in client.get("/?joined=1").text
    client.post("/signup", data={"email": "SOMEONE@example.com"})
    assert Signups(data_dir / "app.db").count() == 1


def test_signup_form_explains_a_bad_address(client: TestClient, data_dir: Path) -> None:
    response = client.post("/signup", data={"email": "not <an> email"})
    assert response.status_code == 422
    assert str(escape(i18n.t("landing.bad_email"))) in response.text
    assert str(escape("not <an> email")) in response.text
    assert 'aria-invalid="true"' in response.text
    assert Signups(data_dir / "app.db").count() == 0


def test_signup_api_accepts_good_and_rejects_bad_addresses(client: TestClient) -> None:
    assert client.post("/api/signups", json={"email": "a@example.com"}).status_code == 201
    assert client.post("/api/signups", json={"email": "a@example.com"}).status_code == 201
    assert client.post("/api/signups", json={"email": "nope"}).status_code == 422
    assert client.post("/api/signups", json={}).status_code == 422


def test_unknown_pages_are_404(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert str(escape(i18n.t("error.heading_404"))) in response.text
