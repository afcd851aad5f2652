"""The words of generated apps follow the plan's language, in every blueprint and every catalogue.

Each blueprint is rendered for each language and its pages are fetched in a subprocess (the app's
own package is called ``app``, so apps cannot share one interpreter): no English word from the
catalogue is left on a page of another language, ``<html lang>`` says the language, and dates and
amounts are written the way that language writes them. The app's own test suite passes for plans
that are not in English.
"""

from __future__ import annotations

import html
import json
import os
import re
import string
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from appforge.generators.code import BLUEPRINTS_DIR, render_app
from appforge.spec import AppSpec

LOCALE_DIR = BLUEPRINTS_DIR / "_shared" / "app" / "locale"
LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "zh", "ja")
#: Words a language rightly writes as English does ("No" in Spanish, "Actions" in French).
SAME_AS_ENGLISH = {
    "es": {"crud.no", "crud.title_error", "units.bytes"},
    "pt": {"units.bytes"},
    "fr": {"crud.actions"},
    "de": {"crud.optional"},
    "it": {"crud.no"},
    "zh": set(),
    "ja": set(),
}
#: Keys that hold no words (formats, separators, rules).
NOT_WORDS = ("meta.", "number.", "date.format", "crud.summary_item")
#: 2026-11-30 and 1234.5 as each language writes them on a page.
DATES = {"en": "30 Nov 2026", "es": "30 nov 2026", "pt": "30 de nov. de 2026",
         "fr": "30 nov. 2026", "de": "30. Nov. 2026", "it": "30 nov 2026",
         "zh": "2026年11月30日", "ja": "2026年11月30日"}
AMOUNTS = {"en": "1,234.50", "es": "1.234,50", "pt": "1.234,50", "fr": "1\u202f234,50",
           "de": "1.234,50", "it": "1.234,50", "zh": "1,234.50", "ja": "1,234.50"}
#: What a planner writes in each language: entity, plural, and the labels of five fields.
LABELS = {
    "en": ("Book", "Books", "Title", "Price", "Read on", "Stars", "Finished", "Cover"),
    "es": ("Libro", "Libros", "Título", "Precio", "Leído el", "Estrellas", "Terminado", "Portada"),
    "pt": ("Livro", "Livros", "Título", "Preço", "Lido em", "Estrelas", "Terminado", "Capa"),
    "fr": ("Livre", "Livres", "Titre", "Prix", "Lu le", "Étoiles", "Terminé", "Couverture"),
    "de": ("Buch", "Bücher", "Titel", "Preis", "Gelesen am", "Sterne", "Fertig", "Umschlag"),
    "it": ("Libro", "Libri", "Titolo", "Prezzo", "Letto il", "Stelle", "Finito", "Copertina"),
    "zh": ("书", "书", "书名", "价格", "阅读日期", "星级", "已读完", "封面"),
    "ja": ("本", "本", "タイトル", "価格", "読んだ日", "評価", "読了", "表紙"),
}
#: A landing page's call to action and one feature, as the planner writes them.
COPY = {
    "en": ("Book a table", "Fresh every day", "Bread from our oven."),
    "es": ("Reserva mesa", "Fresco cada día", "Pan de nuestro horno."),
    "pt": ("Reservar mesa", "Fresco todos os dias", "Pão do nosso forno."),
    "fr": ("Réserver", "Frais chaque jour", "Du pain de notre four."),
    "de": ("Tisch reservieren", "Jeden Tag frisch", "Brot aus unserem Ofen."),
    "it": ("Prenota", "Fresco ogni giorno", "Pane dal nostro forno."),
    "zh": ("预订座位", "每日新鲜", "我们烤炉里的面包。"),
    "ja": ("席を予約", "毎日焼きたて", "自家製のパン。"),
}


def catalogue(language: str) -> dict[str, Any]:
    def flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        words: dict[str, Any] = {}
        for key, value in table.items():
            if isinstance(value, dict) and "other" not in value:
                words.update(flatten(value, f"{prefix}{key}."))
            else:
                words[prefix + key] = value
        return words

    with (LOCALE_DIR / f"{language}.toml").open("rb") as file:
        return flatten(tomllib.load(file))


def texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def english_fragments(language: str) -> set[str]:
    """The pieces of English text around the placeholders of every word the language translates,
    less those that are words of the language too ("No" is Spanish)."""
    english, own = catalogue("en"), catalogue(language)
    own_text = " ".join(t for key, value in own.items() for t in texts(value))
    fragments = set()
    for key, value in english.items():
        if key.startswith(NOT_WORDS) or own[key] == value:
            continue
        for text in texts(value):
            for piece in re.split(r"\{[a-z_]+\}", text):
                piece = piece.strip(" .,:;!?()·—“”’")
                if re.search(r"[A-Za-z]{2}", piece) and not word_in(piece, own_text):
                    fragments.add(piece)
    return fragments


def word_in(piece: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", text) is not None


def visible(page: str) -> str:
    """What a person (or a screen reader) gets from a page: its text and its labelling attributes."""
    body = re.sub(r"<style.*?</style>", " ", page, flags=re.DOTALL)
    attributes = re.findall(r'(?:aria-label|placeholder|title|alt)="([^"]*)"', body)
    return html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + " ".join(attributes))


# -- the catalogues ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_has_every_word_with_the_same_placeholders(language: str) -> None:
    english, own = catalogue("en"), catalogue(language)
    assert set(own) == set(english)
    for key, value in own.items():
        if isinstance(value, dict):
            assert "other" in value and set(value) <= {"one", "other"}, key
        allowed = placeholders(" ".join(texts(english[key])))
        if key == "date.format":
            allowed = {"day", "month", "month_number", "year"}
        for text in texts(value):
            # a translation may leave a placeholder out ("Se eliminará para siempre"), not add one
            assert placeholders(text) <= allowed, (key, text)
    assert len(own["date.months"]) == 12
    assert own["meta.plural"] in ("one", "zero_one", "none")


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_words_left_as_in_english_are_only_those_the_language_shares(language: str) -> None:
    english, own = catalogue("en"), catalogue(language)
    same = {k for k, v in own.items() if v == english[k] and not k.startswith(NOT_WORDS)}
    assert same <= SAME_AS_ENGLISH[language] | {"date.months"}


# -- the pages -----------------------------------------------------------------------------------


def crud_spec(language: str) -> AppSpec:
    entity, plural, title, price, read_on, stars, finished, cover = LABELS[language]
    fields = [
        {"name": "title", "label": title, "type": "text"},
        {"name": "price", "label": price, "type": "money", "required": False},
        {"name": "read_on", "label": read_on, "type": "date", "required": False},
        {"name": "stars", "label": stars, "type": "rating", "min": 1, "max": 5,
         "required": False},
        {"name": "finished", "label": finished, "type": "boolean"},
        {"name": "cover", "label": cover, "type": "image", "required": False},
    ]
    return AppSpec.model_validate({
        "name": "Sol", "slug": f"sol-{language}", "title": "Sol", "kind": "crud",
        "language": language, "call_to_action": COPY[language][0],
        "entities": [{"name": "book", "plural": "books", "label": entity,
                      "label_plural": plural, "fields": fields}],
    })


def landing_spec(language: str) -> AppSpec:
    cta, feature, text = COPY[language]
    return AppSpec.model_validate({
        "name": "Sol", "slug": f"sol-{language}", "title": "Sol", "kind": "landing",
        "language": language, "call_to_action": cta,
        "features": [{"title": feature, "text": text, "icon": "star"}],
    })


def gallery_spec(language: str, images: int = 2) -> AppSpec:
    return AppSpec.model_validate({
        "name": "Sol", "slug": f"sol-{language}", "title": "Sol", "kind": "gallery",
        "language": language, "call_to_action": COPY.get(language, COPY["en"])[0],
        "assets": [{"kind": "image", "role": "gallery", "name": f"g-{i}", "prompt": "☀",
                    "alt": "☀"} for i in range(images)],
    })


#: Fetches every kind of page a blueprint has and prints them as JSON, inside the app's folder.
FETCH = r'''
import json, sys, tempfile, pathlib
from fastapi.testclient import TestClient
from app.main import create_app
client = TestClient(create_app(pathlib.Path(tempfile.mkdtemp())), follow_redirects=False)
html = {"accept": "text/html"}
pages = {"404": client.get("/no-such-page", headers=html).text,
         "413": client.post("/", content=b"x" * 4096, headers=html).text}
kind = sys.argv[1]
if kind == "crud":
    pages["empty"] = client.get("/").text
    pages["new"] = client.get("/books/new").text
    pages["errors"] = client.post("/books/new", data={"title": " ", "price": "1.234",
                                  "read_on": "soon", "stars": "9", "finished": "maybe"}).text
    pages["wrong picture"] = client.post("/books/new", data={"title": "x"},
                                         files={"cover": ("a.txt", b"text", "text/plain")}).text
    for n in range(21):
        client.post("/api/books", json={"title": f"Sol {n}", "price": 1234.5,
                                        "read_on": "2026-11-30", "stars": 4, "finished": n % 2 == 0})
    client.put("/api/books/1/cover", content=b"GIF89a" + b"x" * 2000)
    pages["list"] = client.get("/?done=created").text
    pages["page 2"] = client.get("/?page=2").text
    pages["no match"] = client.get("/?q=zzzz").text
    pages["show"] = client.get("/books/1?done=updated").text
    pages["edit"] = client.get("/books/1/edit").text
    pages["delete"] = client.get("/books/1/delete").text
    pages["deleted"] = client.get("/?done=deleted").text
elif kind == "landing":
    pages["home"] = client.get("/").text
    pages["joined"] = client.get("/?joined=1").text
    pages["bad email"] = client.post("/signup", data={"email": "nope"}).text
else:
    pages["home"] = client.get("/").text
print(json.dumps(pages))
'''


def fetch_pages(spec: AppSpec, root: Path) -> dict[str, str]:
    app_dir = root / f"{spec.kind.value}-{spec.language}-{len(spec.assets)}"
    render_app(spec, app_dir)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONDONTWRITEBYTECODE="1", DATA_DIR=str(root / "data"),
               APP_MAX_BODY_BYTES="2048", APP_UPLOAD_QUOTA_BYTES="1000000")
    result = subprocess.run([sys.executable, "-c", FETCH, spec.kind.value], cwd=app_dir, env=env,
                            capture_output=True, text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def assert_in_language(pages: dict[str, str], language: str) -> None:
    fragments = english_fragments(language)
    for name, page in pages.items():
        assert f'<html lang="{language}"' in page, name
        text = visible(page)
        leaked = sorted(f for f in fragments if word_in(f, text))
        assert not leaked, f"{language} {name}: English left on the page: {leaked}"


def said(language: str, key: str, **values: Any) -> str:
    return catalogue(language)[key].format(**values)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_crud_app_speaks_the_language_of_its_plan(language: str, tmp_path: Path) -> None:
    pages = fetch_pages(crud_spec(language), tmp_path)
    if language != "en":
        assert_in_language(pages, language)
    text = {name: visible(page) for name, page in pages.items()}
    plural, label = LABELS[language][1], LABELS[language][0]
    noun = plural.lower() if catalogue(language)["meta.lowercase_nouns"] else plural
    assert said(language, "crud.empty_title", plural=noun) in text["empty"]
    assert DATES[language] in text["list"] and AMOUNTS[language] in text["list"]
    assert said(language, "crud.page_of", page=1, pages=2) in text["list"]
    assert said(language, "crud.done.created", label=label) in text["list"]
    assert said(language, "validation.date") in text["errors"]
    assert said(language, "validation.picture") in text["wrong picture"]
    assert said(language, "crud.delete_question", title="Sol 0") in text["delete"]
    assert said(language, "error.heading_404") in text["404"]
    assert said(language, "error.too_large", size="2 KiB") in text["413"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_landing_page_speaks_the_language_of_its_plan(language: str, tmp_path: Path) -> None:
    pages = fetch_pages(landing_spec(language), tmp_path)
    if language != "en":
        assert_in_language(pages, language)
    assert said(language, "landing.why", name="Sol") in visible(pages["home"])
    assert said(language, "landing.thanks") in visible(pages["joined"])
    assert said(language, "landing.bad_email") in visible(pages["bad email"])


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_gallery_speaks_the_language_of_its_plan(language: str, tmp_path: Path) -> None:
    pages = fetch_pages(gallery_spec(language), tmp_path)
    empty = fetch_pages(gallery_spec(language, images=0), tmp_path)
    pages["empty"] = empty["home"]
    if language != "en":
        assert_in_language(pages, language)
    count = catalogue(language)["gallery.count"]
    assert count["other"].format(count=2) in visible(pages["home"])
    assert said(language, "gallery.empty_title") in visible(pages["empty"])


def test_a_language_without_a_catalogue_gets_english_words(tmp_path: Path) -> None:
    pages = fetch_pages(gallery_spec("other", images=0), tmp_path)
    assert '<html lang="other"' in pages["home"]
    assert "No pictures yet" in pages["home"]


# -- the apps' own tests -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "language"), [("crud", "ja"), ("landing", "es"),
                                                ("gallery", "fr")])
def test_an_app_planned_in_another_language_passes_its_own_tests(
    kind: str, language: str, tmp_path: Path
) -> None:
    spec = {"crud": crud_spec, "landing": landing_spec, "gallery": gallery_spec}[kind](language)
    render_app(spec, tmp_path / "app")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
               DATA_DIR=str(tmp_path / "unused"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path / "app", env=env, capture_output=True, text=True, check=False, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
