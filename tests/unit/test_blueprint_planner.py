"""The blueprint planner: rules that read a free-text description into a valid AppSpec."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appforge.agent.planners import Planner, get_planner
from appforge.agent.planners.blueprint import BlueprintPlanner
from appforge.agent.planners.inflect import plural, singular
from appforge.agent.planners.theme import FAMILIES, contrast_ratio, palette
from appforge.errors import InvalidInput
from appforge.spec import SLUG_RE, AppSpec, Entity, EntityField, FieldType, Kind

SPROUT = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days "
          "between waterings and the date it was last watered.")
SURF = "A landing page for a surf school in Ericeira with a hero video of waves at sunrise"
FOXES = "a portfolio of six photos of foxes and owls"

EXAMPLES = [
    SPROUT, SURF, FOXES,
    "todo list",
    "a to-do app",
    "an expense tracker with amount, category, date and notes",
    "Books with title, author, rating 1 to 10 and year published",
    "A tool to log my runs: distance, time in minutes, date and how I felt",
    "Inventory for my coffee shop: item, qty, supplier, supplier email, reorder level",
    "A dark themed habit tracker",
    "a website for my bakery in Lisbon in warm orange, at bakery.example.com",
    "Wedding website for Anna and Ben, with an image of a lake at dusk",
    "A landing page for an AI startup called Nimbus",
    "portfolio of 30 photos of mountains, in dark mode",
    "Una lista de tareas llamada Casa",
    "Eine Rezeptsammlung namens Kochbuch",
    "une application de notes appelée Carnet",
    "植物の水やりを記録するアプリ「スプラウト」",
    "タスク管理アプリ",
    "Список задач для дома",
    "asdf",
    "!!!",
]


def plan(description: str) -> AppSpec:
    return BlueprintPlanner().plan(description)


def only_entity(spec: AppSpec) -> Entity:
    assert len(spec.entities) == 1
    return spec.entities[0]


def field_types(entity: Entity) -> dict[str, FieldType]:
    return {f.name: f.type for f in entity.fields}


def field_of(description: str) -> EntityField:
    """The one field of "Each thing has <phrase>"."""
    return only_entity(plan(f"Each thing has {description}.")).fields[0]


# --- the examples the planner is built around ---------------------------------------------------

def test_sprout_plant_tracker_reads_its_entity_fields_and_types():
    spec = plan(SPROUT)

    assert spec.kind == Kind.crud
    assert (spec.name, spec.slug) == ("Sprout", "sprout")
    plant = only_entity(spec)
    assert (plant.name, plant.plural, plant.label, plant.label_plural) == (
        "plant", "plants", "Plant", "Plants")
    assert [(f.name, f.type) for f in plant.fields] == [
        ("name", FieldType.text),
        ("location", FieldType.text),
        ("days_between_waterings", FieldType.integer),
        ("last_watered", FieldType.date),
    ]
    labels = {f.name: f.label for f in plant.fields}
    assert labels["days_between_waterings"] == "Days between waterings"
    assert labels["last_watered"] == "Last watered"
    assert plant.fields[0].required
    assert spec.description == SPROUT
    assert spec.language == "en"


def test_sprout_gets_a_green_theme_a_logo_and_a_hero():
    spec = plan(SPROUT)

    assert spec.theme.primary == FAMILIES["green"][0]
    logo, hero = spec.assets_with_role("logo"), spec.assets_with_role("hero")
    assert [(a.name, a.width, a.height) for a in logo] == [("logo", 512, 512)]
    assert [(a.name, a.kind, a.width, a.height) for a in hero] == [("hero", "image", 1280, 480)]
    assert "Sprout" in logo[0].prompt


def test_surf_school_landing_page_has_a_hero_video_a_hero_image_a_logo_and_features():
    spec = plan(SURF)

    assert spec.kind == Kind.landing
    assert spec.name == "Ericeira Surf School"
    assert spec.slug == "ericeira-surf-school"
    assert spec.entities == []
    video = next(a for a in spec.assets if a.kind == "video")
    assert (video.role, video.name, video.prompt) == ("hero", "hero-video", "waves at sunrise")
    assert (video.width, video.height, video.seconds, video.fps) == (960, 540, 4, 24)
    assert video.filename == "hero-video.mp4"
    hero = next(a for a in spec.assets if a.name == "hero")
    assert (hero.kind, hero.role, hero.width, hero.height) == ("image", "hero", 1280, 720)
    assert "surf school in Ericeira" in hero.prompt
    assert [(a.role, a.width, a.height) for a in spec.assets if a.name == "logo"] == [
        ("logo", 512, 512)]
    assert len(spec.features) == 3
    assert all(f.title and f.text for f in spec.features)
    assert spec.call_to_action == "Book a lesson"
    assert "Ericeira" in spec.tagline


def test_portfolio_of_six_photos_of_foxes_and_owls_makes_six_gallery_images():
    spec = plan(FOXES)

    assert spec.kind == Kind.gallery
    photos = spec.assets_with_role("gallery")
    assert [p.name for p in photos] == [f"photo-{i:02d}" for i in range(1, 7)]
    assert all((p.kind, p.width, p.height) == ("image", 768, 768) for p in photos)
    assert all(re.search(r"\b(?:fox|owl)\b", p.prompt) for p in photos)
    assert {p.prompt.split(",")[0] for p in photos} == {"a fox", "an owl"}
    assert len({p.prompt for p in photos}) == 6
    assert "Fox" in spec.name and "Owl" in spec.name


@pytest.mark.parametrize(("description", "count"), [
    ("a gallery of 12 pictures of lighthouses", 12),
    ("a portfolio of three paintings of boats", 3),
    ("a photo album with 100 photos of my dog", 24),
    ("a gallery of my photography", 6),
])
def test_gallery_counts_photos_in_words_or_digits_capped_at_24(description, count):
    spec = plan(description)

    assert spec.kind == Kind.gallery
    assert len(spec.assets_with_role("gallery")) == count


# --- names and slugs ------------------------------------------------------------------------------

@pytest.mark.parametrize("description", [
    "a plant tracker called Sprout",
    "a plant tracker named Sprout, with a green theme",
    'a plant tracker "Sprout"',
    "a plant tracker 'Sprout'",
    "a plant tracker “Sprout”",
    "Sprout, a plant tracker",
    "Sprout: a tracker for my plants",
    "Sprout is a plant tracker",
])
def test_a_given_name_names_the_app(description):
    spec = plan(description)

    assert (spec.name, spec.slug) == ("Sprout", "sprout")
    assert spec.kind == Kind.crud


def test_a_gallery_without_photos_of_shows_its_subject():
    photos = plan("a gallery of my paintings").assets_with_role("gallery")

    assert all(p.prompt.startswith("a painting, ") for p in photos)


def test_a_quoted_name_may_hold_an_apostrophe():
    spec = plan('A recipe box named "Grandma’s Kitchen"')

    assert (spec.name, spec.slug) == ("Grandma’s Kitchen", "grandmas-kitchen")


@pytest.mark.parametrize(("description", "name"), [
    ("todo list", "Todo List"),
    ("expense tracker", "Expense Tracker"),
    ("an expense tracker with amount, category, date and notes", "Expense Tracker"),
    ("a tracker of books", "Book Tracker"),
    ("I want an app where I can track my books", "Book Tracker"),
    ("a website for my bakery in Lisbon", "Lisbon Bakery"),
    ("A landing page for Joe's Pizza", "Joe's Pizza"),
    ("Wedding website for Anna and Ben", "Anna & Ben's Wedding"),
    ("a todo list for my family", "Family Todo List"),
    ("Inventory for my coffee shop: item, quantity and price", "Coffee Shop Inventory"),
    ("a page for my band The Foxes", "The Foxes"),
    ("A blog about cooking", "Cooking Blog"),
    ("I run a small bookshop in Porto and want a homepage", "Porto Bookshop"),
    ("a teal todo list", "Todo List"),
    ("a forest-themed journal", "Journal"),
])
def test_a_name_is_made_from_the_subject_when_none_is_given(description, name):
    assert plan(description).name == name


@pytest.mark.parametrize(("description", "slug"), [
    ("a bakery called Crème Brûlée", "creme-brulee"),
    ("an app called Ñandú Straße", "nandu-strasse"),
    ('a shop called "Supercalifragilistic Expialidocious Wonder Emporium"',
     "supercalifragilistic-expialidocious"),
])
def test_the_slug_is_an_ascii_dns_label_of_at_most_40_characters(description, slug):
    assert plan(description).slug == slug


@pytest.mark.parametrize("description", ["!!!", "🌱🌊", "一个应用"])
def test_a_description_with_no_usable_name_gets_an_app_hash_slug(description):
    spec = plan(description)

    assert re.fullmatch(r"app-[0-9a-f]{6}", spec.slug)
    assert spec.name


# --- entities and fields --------------------------------------------------------------------------

def test_a_with_list_gives_the_fields_in_order():
    expense = only_entity(plan("an expense tracker with amount, category, date and notes"))

    assert (expense.name, expense.plural) == ("expense", "expenses")
    assert field_types(expense) == {
        "amount": FieldType.money, "category": FieldType.text, "date": FieldType.date,
        "notes": FieldType.long_text,
    }
    assert [f.name for f in expense.fields if f.required] == ["category"]


def test_a_fields_list_and_a_plural_have_sentence_give_fields():
    fields_spec = plan("A guitar collection. Fields: brand, model, year, price")
    have_spec = plan("A wine cellar app. Wines have a name, a vintage year and a rating")

    assert field_types(only_entity(fields_spec)) == {
        "brand": FieldType.text, "model": FieldType.text, "year": FieldType.integer,
        "price": FieldType.money,
    }
    wine = only_entity(have_spec)
    assert (wine.name, wine.plural) == ("wine", "wines")
    assert field_types(wine) == {"name": FieldType.text, "vintage_year": FieldType.integer,
                                 "rating": FieldType.rating}


def test_look_and_feel_words_in_a_with_list_are_not_fields():
    task = only_entity(plan("a todo list with a dark theme and search"))

    assert [f.name for f in task.fields] == ["title", "notes", "due_date", "done"]


def test_several_each_sentences_give_several_entities():
    spec = plan("A school app. Each student has a name and an email. "
                "Each course has a title and a start date.")

    assert [(e.name, e.plural) for e in spec.entities] == [("student", "students"),
                                                           ("course", "courses")]


@pytest.mark.parametrize(("phrase", "expected"), [
    ("amount", FieldType.money), ("price", FieldType.money), ("cost", FieldType.money),
    ("total", FieldType.money), ("salary", FieldType.money), ("budget", FieldType.money),
    ("balance", FieldType.money), ("price in euros", FieldType.money),
    ("date", FieldType.date), ("purchase date", FieldType.date), ("when", FieldType.date),
    ("deadline", FieldType.date), ("birthday", FieldType.date), ("last fed", FieldType.date),
    ("the date it was last watered", FieldType.date), ("date of birth", FieldType.date),
    ("email", FieldType.email), ("email address", FieldType.email),
    ("phone", FieldType.phone), ("mobile", FieldType.phone), ("tel", FieldType.phone),
    ("phone number", FieldType.phone),
    ("url", FieldType.url), ("website", FieldType.url), ("link", FieldType.url),
    ("notes", FieldType.long_text), ("description", FieldType.long_text),
    ("body", FieldType.long_text), ("content", FieldType.long_text), ("bio", FieldType.long_text),
    ("comments", FieldType.long_text), ("details", FieldType.long_text),
    ("ingredients", FieldType.long_text), ("instructions", FieldType.long_text),
    ("summary", FieldType.long_text),
    ("quantity", FieldType.integer), ("qty", FieldType.integer), ("count", FieldType.integer),
    ("year", FieldType.integer), ("age", FieldType.integer),
    ("number of guests", FieldType.integer), ("days between waterings", FieldType.integer),
    ("minutes", FieldType.integer), ("hours", FieldType.integer),
    ("servings", FieldType.integer), ("pages", FieldType.integer),
    ("weight", FieldType.decimal), ("height", FieldType.decimal),
    ("distance", FieldType.decimal), ("temperature", FieldType.decimal),
    ("percentage", FieldType.decimal),
    ("rating", FieldType.rating), ("stars", FieldType.rating),
    ("score out of 10", FieldType.rating),
    ("active", FieldType.boolean), ("done", FieldType.boolean),
    ("completed", FieldType.boolean), ("paid", FieldType.boolean),
    ("archived", FieldType.boolean), ("is urgent", FieldType.boolean),
    ("has warranty", FieldType.boolean), ("favorite", FieldType.boolean),
    ("whether it is paid", FieldType.boolean),
    ("colour", FieldType.text), ("last name", FieldType.text), ("title", FieldType.text),
])
def test_field_types_are_guessed_from_their_names(phrase, expected):
    assert field_of(phrase).type == expected


@pytest.mark.parametrize(("phrase", "expected"), [
    ("a receipt photo", FieldType.image), ("a photo", FieldType.image),
    ("a picture", FieldType.image), ("a cover image", FieldType.image),
    ("an avatar", FieldType.image), ("a cover", FieldType.image), ("a logo", FieldType.image),
    ("a scan", FieldType.image), ("photos", FieldType.image),
    ("a file", FieldType.file), ("an attachment", FieldType.file),
    ("a document", FieldType.file), ("the signed pdf", FieldType.file),
    ("an upload", FieldType.file),
    # the upload word is not the head noun: no upload
    ("a document title", FieldType.text), ("a photo url", FieldType.url),
    ("number of photos", FieldType.integer), ("cover price", FieldType.money),
])
def test_pictures_and_files_are_guessed_from_their_head_noun(phrase, expected):
    assert field_of(phrase).type == expected


def test_an_expense_tracker_with_a_receipt_photo_takes_uploads():
    spec = plan("An expense tracker: each expense has an amount, a date and a receipt photo")
    expense = only_entity(spec)
    assert [(f.name, f.type) for f in expense.fields] == [
        ("amount", FieldType.money), ("date", FieldType.date),
        ("receipt_photo", FieldType.image)]
    assert spec.takes_uploads


def test_a_document_library_keeps_a_title_and_a_file():
    spec = plan("A document library: each document has a title and a file")
    assert [(f.name, f.type) for f in only_entity(spec).fields] == [
        ("title", FieldType.text), ("file", FieldType.file)]
    assert spec.takes_uploads
    assert not plan(SPROUT).takes_uploads


@pytest.mark.parametrize(("phrase", "name"), [
    ("the date it was last watered", "last_watered"),
    ("days between waterings", "days_between_waterings"),
    ("a date of birth", "birth_date"),
    ("number of servings", "servings"),
    ("price in euros", "price"),
    ("weight in kg", "weight_kg"),
    ("Owner's name", "owner_name"),
    ("Título", "titulo"),
])
def test_field_names_are_short_snake_case_identifiers(phrase, name):
    assert field_of(phrase).name == name


@pytest.mark.parametrize(("phrase", "low", "high"), [
    ("rating 1 to 10", 1, 10),
    ("rating from 1-10", 1, 10),
    ("rating between 0 and 5", 0, 5),
    ("score out of 10", 1, 10),
    ("rating (1-5)", 1, 5),
    ("stars", 1, 5),
    ("difficulty 1 to 3", 1, 3),
])
def test_ratings_keep_the_bounds_the_description_gives(phrase, low, high):
    field = field_of(phrase)

    assert field.type == FieldType.rating
    assert (field.min, field.max) == (low, high)


def test_reserved_names_are_renamed_or_dropped_and_keywords_get_a_suffix():
    entity = only_entity(plan("Each thing has a title, id, created_at, class and from."))

    assert field_types(entity) == {"title": FieldType.text, "created_on": FieldType.date,
                                   "class_": FieldType.text, "from_": FieldType.text}


def test_repeated_fields_appear_once_and_only_the_first_text_field_is_required():
    entity = only_entity(plan("Each book has a title, a title, an author, done and a rating."))

    assert [f.name for f in entity.fields] == ["title", "author", "done", "rating"]
    assert [f.name for f in entity.fields if f.required] == ["title"]


def test_optional_and_required_markers_are_respected():
    entity = only_entity(plan("Each guest has a name, an email (required) and a phone (optional)."))

    assert {f.name: f.required for f in entity.fields} == {"name": True, "email": True,
                                                           "phone": False}


def test_bare_todo_list_gets_tasks_with_title_notes_due_date_and_done():
    task = only_entity(plan("todo list"))

    assert (task.name, task.plural) == ("task", "tasks")
    assert [(f.name, f.type, f.required) for f in task.fields] == [
        ("title", FieldType.text, True),
        ("notes", FieldType.long_text, False),
        ("due_date", FieldType.date, False),
        ("done", FieldType.boolean, False),
    ]


@pytest.mark.parametrize(("description", "entity"), [
    ("a to-do app", "task"),
    ("expense tracker", "expense"),
    ("a simple CRM for my clients", "client"),
    ("an address book", "contact"),
    ("my reading list", "book"),
    ("a recipe collection", "recipe"),
    ("inventory of parts", "part"),
    ("a notes app", "note"),
    ("a habit tracker", "habit"),
    ("a workout log", "workout"),
    ("a list of my favourite movies", "movie"),
    ("a tracker of guitars", "guitar"),
    ("a tracker", "item"),
])
def test_bare_apps_get_sensible_records(description, entity):
    spec = plan(description)

    assert spec.kind == Kind.crud
    assert only_entity(spec).name == entity
    assert only_entity(spec).fields[0].required


def test_a_todo_list_with_two_extras_keeps_its_defaults():
    task = only_entity(plan("Todo app with priorities and due dates"))

    assert [f.name for f in task.fields] == ["title", "notes", "due_date", "done", "priorities"]


@pytest.mark.parametrize(("word", "plural_form"), [
    ("plant", "plants"), ("category", "categories"), ("box", "boxes"), ("match", "matches"),
    ("dish", "dishes"), ("class", "classes"), ("day", "days"), ("person", "people"),
    ("child", "children"), ("movie", "movies"), ("expense", "expenses"), ("series", "series"),
])
def test_plurals_follow_simple_english_rules(word, plural_form):
    assert plural(word) == plural_form
    assert singular(plural_form) == word


# --- kinds ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("description", "kind"), [
    ("a landing page for my app", Kind.landing),
    ("a homepage for a dentist", Kind.landing),
    ("a website for my bakery", Kind.landing),
    ("a marketing site for a yoga retreat", Kind.landing),
    ("a portfolio for a ceramic artist", Kind.gallery),
    ("a photo album of our trip", Kind.gallery),
    ("12 photos of Paris", Kind.gallery),
    ("a book tracker", Kind.crud),
    ("an inventory of parts", Kind.crud),
    ("a workout log", Kind.crud),
    ("Each order has a customer and a total", Kind.crud),
    ("a surf school in Ericeira", Kind.landing),
    ("recipes with ingredients and steps", Kind.crud),
])
def test_kind_follows_the_words_of_the_description(description, kind):
    assert plan(description).kind == kind


# --- theme ----------------------------------------------------------------------------------------

def test_contrast_ratio_follows_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1)
    assert contrast_ratio("#ffffff", "#1d4ed8") == contrast_ratio("#1d4ed8", "#ffffff")


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("dark", [False, True])
@pytest.mark.parametrize("pastel", [False, True])
def test_every_palette_has_readable_text_and_button_colours(family, dark, pastel):
    theme = palette(family, dark=dark, pastel=pastel)

    assert contrast_ratio(theme.text, theme.background) >= 7
    assert contrast_ratio(theme.text, theme.surface) >= 7
    assert contrast_ratio(theme.muted, theme.background) >= 4.5
    assert contrast_ratio(theme.primary, "#ffffff") >= 4.5


def test_a_dark_theme_has_a_dark_background_and_light_text():
    theme = plan("A habit tracker with a dark theme").theme

    assert theme.mode == "dark"
    assert contrast_ratio(theme.background, "#000000") < contrast_ratio(theme.background, "#ffffff")
    assert contrast_ratio(theme.text, theme.background) >= 7
    assert contrast_ratio(theme.primary, "#ffffff") >= 4.5


def test_dark_green_is_a_colour_not_dark_mode():
    theme = plan("a plant tracker in dark green").theme

    assert theme.mode == "light"
    assert theme.primary == FAMILIES["green"][0]


def test_warm_orange_gives_an_orange_primary():
    theme = plan("A cafe website in warm orange").theme
    red, green, blue = (int(theme.primary[i:i + 2], 16) for i in (1, 3, 5))

    assert red > green > blue
    assert theme.mode == "light"


@pytest.mark.parametrize(("description", "family"), [
    ("a plant tracker", "green"),
    ("a landing page for a surf school", "ocean"),
    ("a website for a pizza restaurant", "orange"),
    ("a green and gold expense tracker", "green"),
    ("a purple todo list", "purple"),
])
def test_the_palette_follows_theme_words_or_the_subject(description, family):
    assert plan(description).theme.primary == FAMILIES[family][0]


# --- assets ---------------------------------------------------------------------------------------

def test_landing_and_crud_apps_always_get_a_logo_and_a_hero_image():
    landing, crud = plan("a website for my bakery"), plan("todo list")

    assert [(a.name, a.width, a.height) for a in landing.assets if a.kind == "image"] == [
        ("logo", 512, 512), ("hero", 1280, 720)]
    assert [(a.name, a.width, a.height) for a in crud.assets] == [
        ("logo", 512, 512), ("hero", 1280, 480)]


def test_an_image_of_something_becomes_an_extra_image():
    spec = plan("A landing page for my cabin with an image of a lake at dusk")

    extra = spec.assets_with_role("feature")
    assert [(a.name, a.prompt) for a in extra] == [("image-01", "a lake at dusk")]


def test_a_video_length_and_role_are_read():
    spec = plan("a landing page for a spa with a 6-second background video of rain on leaves")

    video = next(a for a in spec.assets if a.kind == "video")
    assert (video.role, video.name, video.seconds, video.prompt) == (
        "background", "background-video", 6, "rain on leaves")


def test_asset_seeds_are_fixed_per_asset_and_differ_between_assets():
    first, again = plan(FOXES), plan(FOXES)

    seeds = [a.seed for a in first.assets]
    assert seeds == [a.seed for a in again.assets]
    assert len(set(seeds)) == len(seeds)


# --- other languages ------------------------------------------------------------------------------

@pytest.mark.parametrize(("description", "name", "language", "entity"), [
    ("Una lista de tareas llamada Casa", "Casa", "es", "task"),
    ("Eine Rezeptsammlung namens Kochbuch", "Kochbuch", "de", "recipe"),
    ("une application de notes appelée Carnet", "Carnet", "fr", "note"),
    ("Uma lista de tarefas chamada Lar", "Lar", "pt", "task"),
    ("Una lista di compiti chiamata Casa", "Casa", "it", "task"),
    ("植物の水やりを記録するアプリ「スプラウト」", "スプラウト", "ja", "plant"),
])
def test_descriptions_in_other_languages_give_a_working_spec(description, name, language, entity):
    spec = plan(description)

    assert (spec.name, spec.language, spec.kind) == (name, language, Kind.crud)
    assert only_entity(spec).name == entity
    assert SLUG_RE.match(spec.slug)
    assert spec.description == description


def test_non_latin_names_are_transliterated_for_the_slug():
    assert plan("植物の水やりを記録するアプリ「スプラウト」").slug == "supurauto"
    assert plan("Список задач для дома").slug == "spisok-zadach"


def test_a_spanish_description_without_a_name_is_named_from_its_words():
    spec = plan("Una lista de tareas para mi casa")

    assert spec.name == "Lista de tareas"
    assert spec.call_to_action == "Empezar"


# --- domain, errors, determinism ------------------------------------------------------------------

def test_a_custom_domain_is_read_and_an_invalid_one_ignored():
    assert plan("a bakery website at shop.example.com").domain == "shop.example.com"
    assert plan("a bakery site on the domain Bakery.Example.org.").domain == "bakery.example.org"
    assert plan("a bakery site at -bad-.example.com").domain is None
    assert plan("a bakery site").domain is None


@pytest.mark.parametrize("description", ["", "   ", "\n\t "])
def test_an_empty_description_is_invalid_input(description):
    with pytest.raises(InvalidInput, match="the description is empty"):
        plan(description)


def test_a_very_long_description_is_invalid_input():
    with pytest.raises(InvalidInput, match="4000"):
        plan("a todo list " * 400)


@pytest.mark.parametrize("description", EXAMPLES)
def test_every_spec_round_trips_and_the_same_text_gives_the_same_spec(description):
    spec = plan(description)

    assert AppSpec.model_validate(spec.model_dump()) == spec
    assert AppSpec.model_validate_json(spec.model_dump_json()) == spec
    assert plan(description) == spec
    assert SLUG_RE.match(spec.slug) and len(spec.slug) <= 40
    assert spec.name and spec.title and spec.tagline


def test_get_planner_returns_the_blueprint_planner():
    planner = get_planner("blueprint")

    assert isinstance(planner, BlueprintPlanner)
    assert planner.name == "blueprint"
    assert isinstance(planner, Planner)


def test_an_unknown_planner_is_invalid_input_naming_the_known_ones():
    with pytest.raises(InvalidInput, match="blueprint"):
        get_planner("gpt")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=300))
def test_any_text_gives_a_valid_spec_or_invalid_input(text):
    try:
        spec = plan(text)
    except InvalidInput:
        return
    assert AppSpec.model_validate(spec.model_dump()) == spec


def test_subject_beats_container_word_for_the_palette() -> None:
    from appforge.agent.planners.topics import find_topic

    assert find_topic("a portfolio of six photos of foxes and owls").palette == "forest"
    assert find_topic("a photography portfolio").palette == "neutral"


@pytest.mark.parametrize("phrase,name", [("a pinned flag", "pinned"), ("a paid checkbox", "paid"),
                                         ("an urgent yes/no", "urgent")])
def test_flag_words_make_a_boolean_named_by_the_rest(phrase: str, name: str) -> None:
    from appforge.agent.planners.fields import field_from_phrase

    field = field_from_phrase(phrase)
    assert field is not None and (field.name, field.type.value) == (name, "boolean")


def test_an_app_people_upload_to_gets_a_larger_body_limit_unless_one_is_set():
    from appforge.agent.nodes import UPLOAD_BODY_LIMIT, _version_settings

    expenses = plan("An expense tracker: each expense has an amount, a date and a receipt photo")
    assert UPLOAD_BODY_LIMIT == "50m"
    assert _version_settings(None, None, [], expenses)["limits"] == {"body": "50m"}
    assert _version_settings(None, {"body": "200m"}, [], expenses)["limits"] == {"body": "200m"}
    assert _version_settings(None, {"body": None}, [], plan(SPROUT))["limits"] == {}
    # an installation whose default is larger keeps it for such apps too
    assert _version_settings(None, None, [], expenses, "100M")["limits"] == {"body": "100m"}
