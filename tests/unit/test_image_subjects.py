"""Offline pictures show their subject: artwork chosen in every language, scenes, posters, logos,
credits in the app, and procedural art when the picture set is missing. Pictures are small."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from appforge.generators.image.artwork import (
    CREDITS_FILES,
    README_LINE,
    doctor_line,
    installed,
)
from appforge.generators.image.poster import read_poster
from appforge.generators.image.procedural import ProceduralImageBackend
from appforge.generators.image.subjects import read_subjects
from appforge.spec import AppSpec, AssetRequest, Theme
from appforge.tools.assets import Backends, make_assets

FOX, OWL, COFFEE, BREAD, SAX, PLANT, WAVE, BIKE = (
    "1F98A", "1F989", "2615", "1F35E", "1F3B7", "1FAB4", "1F30A", "1F6B2")
THEME = Theme(primary="#166534", accent="#a16207", background="#f6f9f7")


@pytest.fixture(scope="module")
def artwork():
    found = installed()
    if found is None:
        pytest.skip("the picture set is not installed (scripts/install.sh unpacks it)")
    return found


@pytest.mark.parametrize("text", [
    "a gallery of foxes and owls", "zorros y búhos en la nieve", "raposas e corujas",
    "renards et hiboux", "Füchsen und Eulen", "volpi e gufi", "狐狸和猫头鹰", "キツネとフクロウ",
])
def test_foxes_and_owls_are_the_fox_and_owl_in_every_language(artwork, text: str) -> None:
    assert read_subjects(text, artwork).ids == [FOX, OWL]


@pytest.mark.parametrize(("text", "expected"), [
    ("a cup of coffee", COFFEE), ("fresh loaves of bread", BREAD), ("un café", COFFEE),
    ("página para una panadería", BREAD), ("a saxophone", SAX), ("saxofón", SAX),
    ("lush potted houseplants", PLANT), ("a stylised wave", WAVE), ("bike parts", BIKE),
    ("ein Fahrrad", BIKE), ("パン屋", BREAD), ("咖啡", COFFEE), ("Zimmerpflanzen", PLANT),
])
def test_subjects_are_found_by_their_names_and_business(artwork, text: str, expected: str) -> None:
    assert read_subjects(text, artwork).ids[0] == expected


def test_light_and_colour_words_are_not_subjects(artwork) -> None:
    assert read_subjects("wide shot on a misty morning, olive tones", artwork).ids == []
    assert read_subjects("a simple abstract mark", artwork).ids == []
    assert read_subjects("a fox in the snow", artwork).setting == "snow"


def _request(role: str, alt: str, prompt: str = "", width: int = 96, height: int = 96,
             name: str = "pic") -> AssetRequest:
    return AssetRequest(kind="image", role=role, name=name, prompt=prompt or alt, alt=alt,
                        width=width, height=height, seed=3)


def test_gallery_picture_shows_its_subject_and_caption_names_it(artwork) -> None:
    backend = ProceduralImageBackend(artwork)
    request = _request("gallery", "a fox in the snow", "a fox in the snow, close-up")
    image = backend.render(request, THEME, "Lea Park")
    assert image.size == (96, 96)
    report = backend.last_report
    assert report is not None and report.subjects == [FOX] and report.scene == "snow"
    assert report.names[0] in request.alt  # the caption names what the picture shows
    # The fox's orange is in the picture (the snow scene has none).
    rgb = np.asarray(image, dtype=float)
    orange = (rgb[..., 0] > 200) & (rgb[..., 1] > 100) & (rgb[..., 1] < 180) & (rgb[..., 2] < 80)
    assert orange.mean() > 0.03


def test_poster_sets_the_event_name_date_and_place_over_the_artwork(artwork) -> None:
    caption = "a poster for the Blue Note Jazz Night on June 12 at the Harbour Hall"
    assert read_poster(caption, "x") == read_poster(caption + ", golden hour light", "x")
    text = read_poster(caption, "x")
    assert (text.event, text.date, text.place) == ("Blue Note Jazz Night", "June 12",
                                                    "Harbour Hall")
    assert read_poster("a poster for a blues festival", "x").event == "Blues Festival"
    backend = ProceduralImageBackend(artwork)
    image = backend.render(_request("gallery", caption, width=160, height=160), THEME, "Jazz")
    report = backend.last_report
    assert report.scene == "poster" and report.subjects == [SAX]
    assert report.poster == {"event": "Blue Note Jazz Night", "date": "June 12",
                             "place": "Harbour Hall"}
    # The lower part of the poster (where the name is set) holds light type on a dark field.
    rgb = np.asarray(image, dtype=float)
    type_band = rgb[88:125, 40:120].mean(axis=2)
    assert (type_band > 200).mean() > 0.05 and (type_band < 90).mean() > 0.3


def test_logo_shows_its_motif_in_theme_colours(artwork) -> None:
    backend = ProceduralImageBackend(artwork)
    prompt = 'a simple flat vector logo for "Sol Café", a coffee cup, earthy brown, plain background'
    logo = backend.render(_request("logo", "Sol Café logo", prompt), THEME, "Sol Café")
    assert logo.mode == "RGBA" and logo.size == (96, 96)
    assert backend.last_report.subjects == [COFFEE]


def test_hero_stands_its_subjects_where_the_title_does_not_cover_them(artwork) -> None:
    backend = ProceduralImageBackend(artwork)
    alt = "a steaming cup of coffee beside roasted coffee beans on a wooden counter"
    backend.render(_request("hero", alt, width=192, height=108), THEME, "Roastery")
    assert backend.last_report.subjects[:2] == [COFFEE, "1FAD8"]
    assert backend.last_report.scene == "table"


def test_without_the_picture_set_pictures_are_procedural(tmp_path: Path) -> None:
    backend = ProceduralImageBackend(artwork=None)
    backend.render(_request("gallery", "a fox in the snow"), THEME, "Lea Park")
    assert backend.last_report.subjects == [] and backend.tag == "procedural"
    ok, detail, fix = doctor_line(tmp_path)
    assert not ok and "procedural" in detail and "install.sh" in fix


def test_an_app_showing_the_artwork_carries_its_licence(artwork, tmp_path: Path) -> None:
    spec = AppSpec(name="Lea Park", slug="lea-park", title="Lea Park", kind="gallery",
                   theme=THEME, assets=[_request("gallery", "a fox in the snow", name="photo-01")])
    workspace = tmp_path / "app"
    workspace.mkdir()
    (workspace / "README.md").write_text("# Lea Park\n")
    manifest = make_assets(spec, workspace, tmp_path / "cache", Backends.procedural(),
                           lambda _m: None)
    assert manifest[0]["report"]["subjects"] == [FOX]
    for name in CREDITS_FILES:
        notice = (workspace / name).read_text()
        assert "Twemoji" in notice and "CC-BY 4.0" in notice
    assert README_LINE in (workspace / "README.md").read_text()
    assert json.loads((workspace / "assets.json").read_text())[0]["report"]["names"] == ["fox"]


def test_an_app_without_artwork_gets_no_credits(tmp_path: Path) -> None:
    spec = AppSpec(name="Tide", slug="tide", title="Tide", kind="gallery", theme=THEME,
                   assets=[_request("gallery", "a fox", name="photo-01")])
    backends = Backends.procedural()
    backends.image.backend = ProceduralImageBackend(artwork=None)
    backends.image.tag = backends.image.backend.tag
    make_assets(spec, tmp_path / "app", tmp_path / "cache", backends, lambda _m: None)
    assert not (tmp_path / "app" / "CREDITS.md").exists()
