"""Every word the planner writes into a plan follows the description's language: titles,
taglines, calls to action, features, records' and fields' labels, alt texts and gallery captions,
in English, Spanish, Portuguese, French, German, Italian, Chinese and Japanese; fields the
description names keep its words."""

from __future__ import annotations

import re

import pytest

from appforge.agent.planners import wording
from appforge.agent.planners.bare_apps import BARE_APPS, GENERIC_FIELDS
from appforge.agent.planners.blueprint import BlueprintPlanner
from appforge.agent.planners.plan_words import caption, languages, plan_words
from appforge.agent.planners.topics import GENERIC, TOPICS
from appforge.spec import AppSpec

#: (language, landing, crud with its fields' labels as written, gallery with a word its
#: captions show)
CASES = [
    ("en", "A landing page for a bakery called Crumb in Leeds",
     ("A plant tracker called Sprout. Each plant has a name and a location",
      ["Name", "Location"]),
     ("A gallery of six photos of foxes in the snow", "a fox in the snow")),
    ("es", "Página de aterrizaje para una panadería llamada La Espiga en Sevilla",
     ("Una app para regar plantas llamada Brote. Cada planta tiene un nombre y una ubicación",
      ["Nombre", "Ubicación"]),
     ("Una galería de seis fotos de zorros en la nieve", "un zorro en la nieve")),
    ("pt", "Página para uma padaria chamada Pão Quente em Lisboa",
     ("Uma app chamada Rega para as minhas plantas. Cada planta tem um nome e uma localização",
      ["Nome", "Localização"]),
     ("Uma galeria com seis fotos de raposas na neve", "uma raposa na neve")),
    ("fr", "Une page d'accueil pour une boulangerie appelée Le Fournil à Lyon",
     (("Une application appelée Arrosoir pour mes plantes. Chaque plante a un nom et un "
      "emplacement"), ["Nom", "Emplacement"]),
     ("Une galerie de six photos de renards dans la neige", "un renard dans la neige")),
    ("de", "Eine Landingpage für eine Bäckerei namens Sonnenkorn in München",
     (("Eine App namens Gießkanne für meine Pflanzen. Jede Pflanze hat einen Namen und einen "
      "Standort"), ["Name", "Standort"]),
     ("Eine Galerie mit sechs Fotos von Füchsen und Eulen im Schnee", "eine Eule im Schnee")),
    ("it", "Una landing page per una panetteria chiamata Il Forno a Roma",
     ("Un'app chiamata Annaffia per le mie piante. Ogni pianta ha un nome e una posizione",
      ["Nome", "Posizione"]),
     ("Una galleria di sei foto di volpi nella neve", "una volpe nella neve")),
    ("zh", "一家名叫「麦香」的面包店的落地页，在上海",
     ("一个叫“小芽”的植物浇水记录应用。每个植物有名字和位置", ["名字", "位置"]),
     ("一个展示六张猫咪照片的相册", "猫咪")),
    ("ja", "「さくら」という名前のカフェのホームページ。場所は京都",
     ("植物の水やりを記録するアプリ。各植物には名前と場所があります", ["名前", "場所"]),
     ("猫の写真を8枚載せたギャラリー", "猫")),
]
IDS = [case[0] for case in CASES]
#: Words no plan in another language should show (names aside).
ENGLISH_WORDS = re.compile(r"\b(?:the|and|with|your|every|get started|view the|never|tidy desk"
                           r"|chosen with care|made with care|photographs)\b|\blogo$", re.IGNORECASE)


def _english_defaults() -> set[str]:
    """Every sentence and label the planner writes for an English description by default."""
    found = {"Get started", "View the collection", "A small collection of work, chosen with care."}
    for topic in (GENERIC, *TOPICS):
        found |= {topic.tagline.replace("{in_place}", ""), topic.cta, topic.imagery}
        found |= {part.replace("{in_place}", "") for feature in topic.features
                  for part in feature[:2]}
    for app in BARE_APPS:
        found |= {app.tagline, app.display, app.entity.capitalize(), f"{app.entity}s".capitalize()}
        found |= {field.label for field in app.fields}
    found |= {field.label for field in GENERIC_FIELDS}
    return {text for text in found if text}


ENGLISH = _english_defaults()


def _person_facing(spec: AppSpec) -> list[str]:
    """The plan's words a person reads, except the app's name (the user's own)."""
    words = [spec.tagline, spec.call_to_action]
    if spec.title != spec.name:
        words.append(spec.title)
    for entity in spec.entities:
        words += [entity.label, entity.label_plural, *(f.label for f in entity.fields)]
    for feature in spec.features:
        words += [feature.title, feature.text]
    words += [asset.alt.replace(spec.name, "") for asset in spec.assets]
    return [word for word in words if word.strip()]


def _english_in(spec: AppSpec) -> list[str]:
    table = plan_words(spec.language) or {}
    native = {*table.get("fields", {}).values(),
              *(label for pair in table.get("entities", {}).values() for label in pair)}
    return [word for word in _person_facing(spec)
            if (word in ENGLISH and word not in native) or ENGLISH_WORDS.search(word)]


def _plans(case: tuple) -> list[AppSpec]:
    _, landing, (crud, _), (gallery, _) = case
    planner = BlueprintPlanner()
    return [planner.plan(landing), planner.plan(crud), planner.plan(gallery)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_plans_are_written_in_the_descriptions_language(case: tuple) -> None:
    language = case[0]
    for spec in _plans(case):
        assert spec.language == language
        if language == "en":
            assert all(word.isascii() for word in _person_facing(spec)), _person_facing(spec)
        else:
            assert not _english_in(spec), f"{spec.kind}: English words {_english_in(spec)}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fields_the_description_names_keep_its_words(case: tuple) -> None:
    _, _, (crud, labels), _ = case
    spec = BlueprintPlanner().plan(crud)
    assert spec.kind.value == "crud"
    fields = spec.entities[0].fields
    assert [f.label for f in fields] == labels
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", f.name) for f in fields)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gallery_captions_name_one_picture_in_the_language(case: tuple) -> None:
    _, _, _, (gallery, shown) = case
    spec = BlueprintPlanner().plan(gallery)
    captions = [asset.alt for asset in spec.assets_with_role("gallery")]
    assert captions and shown in captions, captions


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_landing_pages_speak_of_their_business_in_the_language(case: tuple) -> None:
    language, landing, _, _ = case
    spec = BlueprintPlanner().plan(landing)
    assert spec.kind.value == "landing" and spec.reading.business in ("bakery", "coffee")
    table = plan_words(language)
    if table:
        topic = table["topics"][spec.reading.business]
        assert spec.call_to_action == topic["cta"]
        assert [a.alt for a in spec.assets_with_role("hero")] == [topic["hero"]]
        assert spec.reading.place and spec.reading.place in spec.tagline


def test_galleries_are_named_by_what_they_show() -> None:
    planner = BlueprintPlanner()
    assert planner.plan("Galería de seis fotos de gatos").name == "Fotos de gatos"
    assert planner.plan("一个展示六张猫咪照片的相册").name == "猫咪相册"
    assert planner.plan("Galería de 10 carteles para un festival de jazz en Madrid").name == \
        "Carteles para un festival de jazz"


def test_every_subject_of_a_list_is_shown() -> None:
    planner = BlueprintPlanner()
    english = planner.plan("A gallery of saxophones, guitars and violins")
    assert english.reading.subjects == ["a saxophone", "a guitar", "a violin"]
    german = planner.plan("Eine Galerie mit Fotos von Füchsen und Eulen")
    assert german.reading.subjects == ["ein Fuchs", "eine Eule"]


def test_chinese_and_japanese_slugs_are_english_words() -> None:
    planner = BlueprintPlanner()
    assert planner.plan("読書記録アプリ").slug == "reading-log"
    assert planner.plan("猫の写真を8枚載せたギャラリー").slug == "cats-photos-gallery"
    assert planner.plan("「さくら」という名前のカフェのホームページ").slug == "sakura"


def test_usual_apps_are_labelled_in_the_language() -> None:
    spec = BlueprintPlanner().plan("Quiero una lista de tareas para mi casa")
    entity = spec.entities[0]
    assert (entity.name, entity.label, entity.label_plural) == ("task", "Tarea", "Tareas")
    assert [f.label for f in entity.fields] == ["Título", "Notas", "Fecha límite", "Hecha"]
    assert spec.tagline == plan_words("es")["apps"]["todo"]


@pytest.mark.parametrize("language", languages())
def test_word_tables_are_complete(language: str) -> None:
    english = plan_words("es")
    table = plan_words(language)
    assert table is not None
    for section in ("copy", "topics", "apps", "entities", "fields"):
        assert set(table[section]) == set(english[section]), (language, section)
    assert set(table["topics"]) == {t.key for t in (GENERIC, *TOPICS)}
    assert set(table["apps"]) == {app.key for app in BARE_APPS}
    for app in BARE_APPS:
        assert app.entity in table["entities"]
        assert all(field.name in table["fields"] for field in app.fields)
    assert wording.gallery_name(language, "x")


@pytest.mark.parametrize(("language", "said", "shown"), [
    ("es", "flores", "una flor"), ("pt", "gatos", "um gato"), ("fr", "hiboux", "un hibou"),
    ("it", "gatti", "un gatto"), ("de", "Katzen", "eine Katze"), ("es", "qwxz", "qwxz"),
])
def test_captions_make_a_plural_one_picture(language: str, said: str, shown: str) -> None:
    assert caption(said, language) == shown


def test_a_field_added_in_the_chat_is_labelled_in_the_apps_language() -> None:
    from appforge.chat.edits import apply_edit

    spanish = BlueprintPlanner().plan("Una app para regar plantas llamada Brote. Cada planta "
                                      "tiene un nombre y una ubicación")
    edited = apply_edit(spanish, "add a rating field", deployed=False)
    assert [(f.name, f.label) for f in edited.entities[0].fields][-1] == ("rating", "Valoración")
    english = BlueprintPlanner().plan("A plant tracker called Sprout. Each plant has a name")
    edited = apply_edit(english, "add a rating field", deployed=False)
    assert edited.entities[0].fields[-1].label == "Rating"


@pytest.mark.parametrize(("text", "language"), [
    ("Una lista de contactos", "es"), ("Una galleria fotografica", "it"),
    ("Un gestionnaire de dépenses", "fr"), ("Una app de hábitos", "es"),
    ("Un portfolio de Marie Dubois avec six photos de renards", "fr"),
])
def test_short_descriptions_are_planned_in_their_language(text: str, language: str) -> None:
    spec = BlueprintPlanner().plan(text)
    assert spec.language == language
    assert not _english_in(spec), _english_in(spec)


@pytest.mark.parametrize("text", ["Una galería de fotos", "Eine Galerie für meine Bäckerei",
                                  "我的相册", "ギャラリー"])
def test_galleries_without_a_subject_are_captioned_in_their_language(text: str) -> None:
    spec = BlueprintPlanner().plan(text)
    assert not _english_in(spec), _english_in(spec)
    assert all(a.alt not in ("fotos", "un foto") for a in spec.assets_with_role("gallery"))


@pytest.mark.parametrize(("text", "name"), [
    ("Una página web para mi clínica dental en Valencia", "Mi clínica dental"),
    ("Una landing page per il mio studio di yoga a Milano", "Il mio studio di yoga"),
    ("Voglio un'app per gestire i miei vini: nome, annata, prezzo e note", "I miei vini"),
    ("Una scuola di musica a Torino", "Scuola di musica"),
    ("Eine App für meine Ausgaben", "Meine Ausgaben"),
])
def test_an_app_called_only_an_app_is_named_by_what_it_keeps(text: str, name: str) -> None:
    assert BlueprintPlanner().plan(text).name == name


@pytest.mark.parametrize("language", languages())
def test_landing_pages_of_a_known_business_get_its_own_features(language: str) -> None:
    table = plan_words(language)
    own = {key: topic["features"] for key, topic in table["topics"].items() if "features" in topic}
    assert {"coffee", "bakery", "food", "surf", "yoga", "fitness", "health", "art"} <= set(own)
    assert all(len(pairs) == 3 and all(len(pair) == 2 for pair in pairs) for pairs in own.values())
    landing = {case[0]: case[1] for case in CASES}[language]
    spec = BlueprintPlanner().plan(landing)
    assert [f.title for f in spec.features] == [title for title, _ in own[spec.reading.business]]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_hero_in_another_language_shows_what_the_english_one_does(case: tuple) -> None:
    from appforge.generators.image.artwork import installed
    from appforge.generators.image.procedural import subject_text
    from appforge.generators.image.subjects import read_subjects

    artwork = installed()
    if artwork is None:
        pytest.skip("the picture set is not installed (install.sh)")
    spec = BlueprintPlanner().plan(case[1])
    hero = spec.assets_with_role("hero")[0]
    shown = read_subjects(subject_text(hero), artwork).subjects
    assert shown and shown[0].name in ("bread", "hot beverage"), (hero.alt, shown)


@pytest.mark.parametrize(("text", "slug"), [
    ("お菓子屋さんのウェブサイト", "sweets-shop-site"), ("ラーメン屋「一番」のホームページ", "ramen-shop"),
    ("「ハナ」という名前の花屋のサイト", "hana"), ("植物の水やりを記録するアプリ", "plants-log"),
])
def test_chinese_and_japanese_slugs_never_keep_half_a_name(text: str, slug: str) -> None:
    assert BlueprintPlanner().plan(text).slug == slug


def test_a_gallery_captioned_by_the_planner_still_shows_its_business() -> None:
    from appforge.generators.image.artwork import installed
    from appforge.generators.image.procedural import subject_text
    from appforge.generators.image.subjects import read_subjects

    artwork = installed()
    if artwork is None:
        pytest.skip("the picture set is not installed (install.sh)")
    spec = BlueprintPlanner().plan("Una galleria per la mia panetteria")
    picture = spec.assets_with_role("gallery")[0]
    assert picture.alt == plan_words("it")["topics"]["bakery"]["hero"]
    assert read_subjects(subject_text(picture), artwork).subjects[0].name == "bread"


@pytest.mark.parametrize(("text", "record"), [
    ("Voglio un'app per gestire i miei vini: nome, annata, prezzo e note", ("Vino", "Vini")),
    ("Une application pour mes vins : nom, année et prix", ("Vin", "Vins")),
    ("Uma app para os meus discos: título, artista e ano", ("Disco", "Discos")),
])
def test_a_record_is_named_by_what_the_description_keeps(text: str, record: tuple) -> None:
    entity = BlueprintPlanner().plan(text).entities[0]
    assert (entity.label, entity.label_plural) == record


def test_the_description_reads_the_same_in_its_details() -> None:
    planner = BlueprintPlanner()
    assert planner.plan("Un carnet de notes").language == "fr"
    assert planner.plan("Um registo das minhas leituras").language == "pt"
    # the app's name ("Roda Livre") asks for no books
    assert not planner.plan("Uma loja de bicicletas chamada Roda Livre no Porto").entities
    # a listed field and the usual one with the same label: the listed one stays
    plants = planner.plan("Un elenco delle mie piante con nome e posizione")
    labels = [f.label for f in plants.entities[0].fields]
    assert len(labels) == len(set(labels)) and labels[:2] == ["Nome", "Posizione"]
    added = {a.field for a in plants.reading.added_fields}
    assert added <= {f.name for f in plants.entities[0].fields}
    assert planner.plan("一个记录开支的应用，每笔支出有金额、类别和日期").name == "记录开支的应用"
