"""Sensible records for bare requests ("a todo list", "an expense tracker", "eine Rezeptsammlung"),
so an app described in four words still gets useful fields.

Each :class:`BareApp` says which words ask for it (in a few languages), which nouns it stores
under their own name ("client" in a contacts app) or under its own ("todo" -> task), and its
fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appforge.spec import EntityField, FieldType


@dataclass(frozen=True)
class BareApp:
    key: str
    entity: str  # singular identifier of the record: "task"
    display: str  # a name for the app when nothing better is given: "Todo List"
    tagline: str
    triggers: re.Pattern[str]
    nouns: frozenset[str]  # nouns stored under their own name ("client" in a contacts app)
    aliases: frozenset[str]  # nouns that mean this record ("todo" -> "task")
    fields: tuple[EntityField, ...]


def _field(name: str, ftype: FieldType, label: str | None = None, *, required: bool = False,
           minimum: float | None = None, maximum: float | None = None) -> EntityField:
    label = label or name.replace("_", " ").capitalize()
    return EntityField(name=name, label=label, type=ftype, required=required, min=minimum,
                       max=maximum)


def _triggers(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


T = FieldType
NOTES = _field("notes", T.long_text)

BARE_APPS: tuple[BareApp, ...] = (
    BareApp(
        "todo", "task", "Todo List", "Everything you need to do, in one calm list.",
        _triggers(r"\bto[\s-]?dos?\b|\btasks?\b|\bchores?\b|checklist|\btareas?\b|\baufgaben?"
                  r"|\bt[âa]ches?\b|\btarefas?\b|\bcompiti\b|タスク|やること|待办|任务清单|задач"),
        frozenset({"task", "chore", "errand", "job"}),
        frozenset({"todo", "to-do", "checklist", "kanban", "tarea", "aufgabe", "tache",
                   "tarefa"}),
        (_field("title", T.text, required=True), NOTES, _field("due_date", T.date),
         _field("done", T.boolean)),
    ),
    BareApp(
        "expenses", "expense", "Expense Tracker",
        "See where your money goes, one expense at a time.",
        _triggers(r"\bexpenses?\b|\bspending\b|\bbudget|\bgastos?\b|\bausgaben\b|d[ée]penses?"
                  r"|\bdespesas?\b|\bspese\b|家計簿|支出|记账|расход"),
        frozenset({"expense", "purchase", "transaction", "bill", "payment", "receipt"}),
        frozenset({"spending", "budget", "finance", "money", "gasto", "ausgabe", "depense",
                   "despesa"}),
        (_field("description", T.text, required=True), _field("amount", T.money),
         _field("category", T.text), _field("date", T.date), NOTES),
    ),
    BareApp(
        "contacts", "contact", "Contacts", "The people you know, and how to reach them.",
        _triggers(r"\bcontacts?\b|address book|\bcrm\b|\bclients?\b|\bcustomers?\b|contactos?"
                  r"|kontakte?|contatos?|contatti|連絡先|контакт"),
        frozenset({"contact", "client", "customer", "friend", "lead", "member", "supplier",
                   "vendor", "guest"}),
        frozenset({"address", "crm", "people", "person", "contacto", "kontakt", "contato"}),
        (_field("name", T.text, required=True), _field("email", T.email),
         _field("phone", T.phone), _field("company", T.text), _field("birthday", T.date), NOTES),
    ),
    BareApp(
        "books", "book", "Reading List", "Every book you've read, and every one you want to.",
        _triggers(r"\bbooks?\b|\breading\b|bookshelf|\blibros?\b|b[üu]cher|\blivres?\b"
                  r"|\blivros?\b|\blibri\b|読書|读书|藏书|книг"),
        frozenset({"book", "novel", "comic", "manga"}),
        frozenset({"reading", "bookshelf", "libro", "buch", "livre", "livro"}),
        (_field("title", T.text, required=True), _field("author", T.text),
         _field("rating", T.rating, minimum=1, maximum=5), _field("read", T.boolean),
         _field("finished_on", T.date), NOTES),
    ),
    BareApp(
        "recipes", "recipe", "Recipe Box", "Your favourite recipes, ready when you are.",
        _triggers(r"\brecipes?\b|cookbook|\brezept|\brecettes?\b|\brecetas?\b|\breceitas?\b"
                  r"|\bricett|レシピ|食谱|菜谱|рецепт"),
        frozenset({"recipe", "dish", "meal", "cocktail"}),
        frozenset({"cookbook", "receta", "rezept", "recette", "receita", "ricetta", "cooking"}),
        (_field("title", T.text, required=True), _field("ingredients", T.long_text),
         _field("instructions", T.long_text), _field("servings", T.integer),
         _field("prep_minutes", T.integer, "Prep time (minutes)"), NOTES),
    ),
    BareApp(
        "inventory", "item", "Inventory", "Know what you have, and where it is.",
        _triggers(r"\binventory\b|\bstock\b|warehouse|\binventario\b|\binventar\b|inventaire"
                  r"|在庫|склад"),
        frozenset({"item", "part", "product", "tool", "component", "supply", "asset", "gear"}),
        frozenset({"inventory", "stock", "warehouse", "inventario", "inventar", "inventaire"}),
        (_field("name", T.text, required=True), _field("quantity", T.integer),
         _field("location", T.text), _field("price", T.money), NOTES),
    ),
    BareApp(
        "notes", "note", "Notes", "Write it down before it slips away.",
        _triggers(r"\bnotes?\b|notebook|\bmemos?\b|\bnotas?\b|\bnotiz|\bcarnet\b|\bappunti\b"
                  r"|メモ|заметк"),
        frozenset({"note", "memo", "idea", "snippet"}),
        frozenset({"notebook", "nota", "notiz", "carnet", "appunto"}),
        (_field("title", T.text, required=True), _field("body", T.long_text),
         _field("pinned", T.boolean)),
    ),
    BareApp(
        "habits", "habit", "Habit Tracker", "Small daily habits, kept without fuss.",
        _triggers(r"\bhabits?\b|h[áa]bitos?|gewohnheit|habitudes?|abitudin|習慣|привыч"),
        frozenset({"habit", "routine", "goal"}),
        frozenset({"habito", "gewohnheit", "habitude", "abitudine"}),
        (_field("name", T.text, required=True), _field("frequency", T.text),
         _field("streak", T.integer), _field("last_done", T.date), _field("active", T.boolean)),
    ),
    BareApp(
        "workouts", "workout", "Workout Log",
        "Every workout logged, every bit of progress visible.",
        _triggers(r"\bworkouts?\b|\bexercises?\b|\bgym\b|\btraining\b|\bfitness\b"
                  r"|entrenamientos?|ejercicios?|entra[îi]nement|\btreinos?\b|allenamenti?"
                  r"|トレーニング|筋トレ|тренировк"),
        frozenset({"workout", "run", "session", "exercise", "ride", "swim", "lift"}),
        frozenset({"gym", "training", "fitness", "entrenamiento", "treino", "allenamento"}),
        (_field("name", T.text, "Workout", required=True), _field("date", T.date),
         _field("duration_minutes", T.integer, "Duration (minutes)"), _field("sets", T.integer),
         _field("reps", T.integer), _field("weight_kg", T.decimal, "Weight (kg)"), NOTES),
    ),
    BareApp(
        "movies", "movie", "Watchlist", "Everything you've watched, and everything you want to.",
        _triggers(r"\bmovies?\b|\bfilms?\b|watchlist|\bpel[íi]culas?\b|\bfilme\b|映画|电影|фильм"),
        frozenset({"movie", "film", "show", "series", "documentary", "anime"}),
        frozenset({"watchlist", "pelicula", "cinema"}),
        (_field("title", T.text, required=True), _field("year", T.integer),
         _field("rating", T.rating, minimum=1, maximum=5), _field("watched", T.boolean), NOTES),
    ),
    BareApp(
        "plants", "plant", "Plant Care", "Never forget to water a plant again.",
        _triggers(r"\bplants?\b|\bgarden|\bwatering\b|succulents?|houseplants?|\bplantas?\b"
                  r"|\bpflanzen?\b|\bplantes?\b|\bpiante\b|植物|растени"),
        frozenset({"plant", "houseplant", "succulent", "tree", "flower", "herb", "seedling"}),
        frozenset({"garden", "gardening", "watering", "planta", "pflanze", "plante", "pianta"}),
        (_field("name", T.text, required=True), _field("location", T.text),
         _field("days_between_waterings", T.integer, "Days between waterings"),
         _field("last_watered", T.date), NOTES),
    ),
    BareApp(
        "journal", "entry", "Journal", "A quiet place for your days.",
        _triggers(r"\bjournal\b|\bdiary\b|\bdiario\b|tagebuch|日記|日记|дневник"),
        frozenset({"entry", "post", "log"}),
        frozenset({"journal", "diary", "diario", "tagebuch"}),
        (_field("title", T.text, required=True), _field("date", T.date),
         _field("mood", T.rating, minimum=1, maximum=5), _field("body", T.long_text)),
    ),
    BareApp(
        "bookmarks", "bookmark", "Bookmarks", "Links worth keeping, all in one place.",
        _triggers(r"\bbookmarks?\b|read(?:ing)?[\s-]later|\bfavoritos\b|lesezeichen|marque-pages"),
        frozenset({"bookmark", "link", "article", "resource"}),
        frozenset({"favorito", "lesezeichen"}),
        (_field("title", T.text, required=True), _field("url", T.url, "URL"),
         _field("tags", T.text), NOTES),
    ),
    BareApp(
        "measurements", "entry", "Daily Log", "A few numbers a day, and the trend they make.",
        _triggers(r"\b(?:weight|sleep|mood|blood pressure|water intake)\s+(?:tracker|log|diary)"),
        frozenset({"measurement", "weigh-in"}),
        frozenset({"weight", "sleep", "mood", "pressure"}),
        (_field("date", T.date, required=True), _field("value", T.decimal), NOTES),
    ),
)

#: Every noun some bare app stores, preferred when several words could name the record.
KNOWN_NOUNS = frozenset(
    noun for app in BARE_APPS for noun in (app.entity, *app.nouns, *app.aliases) if " " not in noun
)

#: Fields of a record the description names but does not describe ("a tracker of guitars").
GENERIC_FIELDS = (_field("name", T.text, required=True), NOTES)
GENERIC_ENTITY = "item"


def bare_app_for_noun(noun: str) -> tuple[BareApp, str] | None:
    """The bare app storing ``noun`` and the entity name to use: "todo" -> (todo, "task")."""
    for app in BARE_APPS:
        if noun in app.aliases:
            return app, app.entity
        if noun == app.entity or noun in app.nouns:
            return app, noun
    return None


def bare_app_in_text(text: str) -> BareApp | None:
    """The bare app whose trigger words come first in the text, if any."""
    found = [(match.start(), index) for index, app in enumerate(BARE_APPS)
             if (match := app.triggers.search(text))]
    return BARE_APPS[min(found)[1]] if found else None
