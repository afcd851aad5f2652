"""The app's own tests: the gallery page shows every picture, with its alt text and full size."""

from __future__ import annotations

from fastapi.testclient import TestClient
from markupsafe import escape

from app import site

IMAGES = site.assets("gallery", "image")


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_home_page_shows_title_and_tagline(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert str(escape(site.TITLE)) in response.text
    assert str(escape(site.TAGLINE)) in response.text
    assert f'lang="{escape(site.LANGUAGE)}"' in response.text
    assert 'href="#main"' in response.text
    if site.LOGO:
        assert f'src="{site.LOGO.url}"' in response.text


def test_every_picture_is_shown_with_alt_text_and_links_to_full_size(client: TestClient) -> None:
    html = client.get("/").text
    for image in IMAGES:
        assert f'<a href="{image.url}">' in html
        assert f'src="{image.url}" alt="{escape(image.alt)}"' in html
    assert html.count('class="tile"') == len(IMAGES)


def test_stylesheet_is_served(client: TestClient) -> None:
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_openapi_lists_the_api_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {"/healthz", "/api/images"}


def test_api_lists_the_pictures_in_order(client: TestClient) -> None:
    images = client.get("/api/images").json()
    assert [i["url"] for i in images] == [a.url for a in IMAGES]
    assert all(i["alt"] for i in images)


def test_unknown_pages_are_404(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"accept": "text/html"})
    assert response.status_code == 404
