"""The chat's edit rules: changes asked for in words, applied to a plan made by the blueprint
planner, and the lines that tell the user what changed."""

from __future__ import annotations

import pytest

from appforge.agent.planners.blueprint import BlueprintPlanner
from appforge.chat.changes import file_changes, plan_summary, spec_changes
from appforge.chat.edits import EditNotUnderstood, apply_edit
from appforge.errors import InvalidDomain, InvalidInput
from appforge.spec import AppSpec

SPROUT = "a plant-watering tracker called Sprout. Each plant has a name and a location"
SURF = "a landing page for a surf school in Lisbon with a short video of waves"


@pytest.fixture(scope="module")
def sprout() -> AppSpec:
    return BlueprintPlanner().plan(SPROUT)


@pytest.fixture(scope="module")
def surf() -> AppSpec:
    return BlueprintPlanner().plan(SURF)


def fields(spec: AppSpec) -> dict[str, tuple[str, bool]]:
    return {f.name: (f.type.value, f.required) for f in spec.entities[0].fields}


@pytest.mark.parametrize("message, name, ftype", [
    ("add a category field", "category", "text"),
    ("Add a due date field to plants", "due_date", "date"),
    ("please add a price field", "price", "money"),
    ("add a watered flag field", "watered", "boolean"),
])
def test_add_field(sprout: AppSpec, message: str, name: str, ftype: str) -> None:
    new = apply_edit(sprout, message, deployed=True)
    assert fields(new)[name] == (ftype, False)  # optional: rows already stored stay valid
    assert list(fields(new))[:2] == ["name", "location"]
    assert spec_changes(sprout, new) == [f"Plants: + {name} ({ftype}, optional)"]


def test_add_several_fields_and_remove_rename_require(sprout: AppSpec) -> None:
    new = apply_edit(sprout, "add price and notes fields", deployed=True)
    assert {"price", "notes"} <= set(fields(new))
    new = apply_edit(new, "remove the notes field", deployed=True)
    assert "notes" not in fields(new)
    new = apply_edit(new, "rename the location field to spot", deployed=True)
    assert "spot" in fields(new) and "location" not in fields(new)
    new = apply_edit(new, "make the price field required", deployed=True)
    assert fields(new)["price"] == ("money", True)


def test_field_errors_are_specific(sprout: AppSpec, surf: AppSpec) -> None:
    with pytest.raises(InvalidInput, match="no 'colour' field.*"):
        apply_edit(sprout, "remove the colour field", deployed=True)
    with pytest.raises(InvalidInput, match="already have a location field"):
        apply_edit(sprout, "add a location field", deployed=True)
    with pytest.raises(InvalidInput, match="stores no records"):
        apply_edit(surf, "add a category field", deployed=True)


def test_dark_and_colours(sprout: AppSpec) -> None:
    dark = apply_edit(sprout, "make it dark", deployed=True)
    assert dark.theme.mode == "dark" and dark.theme.primary == sprout.theme.primary
    assert dark.theme.background != sprout.theme.background
    assert spec_changes(sprout, dark) == ["theme: light → dark"]
    purple = apply_edit(dark, "make it purple", deployed=True)
    assert purple.theme.mode == "dark" and purple.theme.primary != dark.theme.primary
    # The image prompts named the old colours; they follow the new ones.
    assert all("green" not in a.prompt for a in purple.assets)
    light = apply_edit(purple, "switch to a light theme", deployed=True)
    assert light.theme.mode == "light"
    custom = apply_edit(sprout, "use #0f766e as the main colour", deployed=True)
    assert custom.theme.primary == "#0f766e"


def test_rename_keeps_a_live_address(sprout: AppSpec) -> None:
    live = apply_edit(sprout, 'call it "Leafy"', deployed=True)
    assert (live.name, live.slug) == ("Leafy", "sprout")
    assert "Leafy" in live.title and all("Sprout" not in a.prompt for a in live.assets)
    planned = apply_edit(sprout, "name it leafy and make it dark", deployed=False)
    assert (planned.name, planned.slug, planned.theme.mode) == ("Leafy", "leafy", "dark")


def test_domain(sprout: AppSpec) -> None:
    new = apply_edit(sprout, "use the domain sprout.example.com", deployed=True)
    assert new.domain == "sprout.example.com"
    assert spec_changes(sprout, new) == ["domain: (default) → sprout.example.com"]
    assert apply_edit(new, "remove the custom domain", deployed=True).domain is None
    with pytest.raises(InvalidDomain):
        apply_edit(sprout, "use the domain bad_name!.example.com", deployed=True)


def test_words_and_assets(sprout: AppSpec, surf: AppSpec) -> None:
    new = apply_edit(sprout, 'change the tagline to "Water on time" and make the button say '
                             'Join now', deployed=True)
    assert (new.tagline, new.call_to_action) == ("Water on time", "Join now")
    hero = apply_edit(sprout, "make the hero image a misty forest at dawn", deployed=True)
    assert [a.prompt for a in hero.assets if a.role == "hero"] == ["a misty forest at dawn"]
    assert spec_changes(sprout, hero) == ["image hero.png: a misty forest at dawn"]
    no_video = apply_edit(surf, "remove the video", deployed=True)
    assert [a.kind for a in no_video.assets] == ["image", "image"]
    again = apply_edit(no_video, "add a video of sunset surfers", deployed=True)
    assert [a.prompt for a in again.assets if a.kind == "video"] == ["sunset surfers"]
    with pytest.raises(InvalidInput, match="landing pages"):
        apply_edit(sprout, "add a video", deployed=True)


def test_nothing_understood_changes_nothing(sprout: AppSpec) -> None:
    with pytest.raises(EditNotUnderstood) as caught:
        apply_edit(sprout, "hello there", deployed=True)
    assert "add a category field" in caught.value.hint
    with pytest.raises(InvalidInput, match="empty"):
        apply_edit(sprout, "   ", deployed=True)


def test_plan_summary_names_what_a_user_approves(sprout: AppSpec) -> None:
    lines = plan_summary(sprout, "sprout.localhost")
    text = "\n".join(lines)
    assert "Plants: name (text), location (text, optional)" in text
    assert "/plants (list, add, edit, delete)" in text
    assert "image hero.png" in text and lines[-1] == "domain: sprout.localhost"


def test_file_changes(tmp_path) -> None:
    old, new = tmp_path / "v1", tmp_path / "v2"
    for root in (old, new):
        (root / "app").mkdir(parents=True)
        (root / "app" / "same.py").write_text("x = 1\n")
        (root / ".appforge").mkdir()
        (root / ".appforge" / "spec.json").write_text(root.name)
    (old / "app" / "gone.py").write_text("")
    (old / "style.css").write_text("a {}")
    (new / "style.css").write_text("b {}")
    (new / "app" / "new.py").write_text("")
    assert file_changes(old, new) == {"added": ["app/new.py"], "removed": ["app/gone.py"],
                                      "changed": ["style.css"]}


@pytest.mark.parametrize("message, name, ftype", [
    ("add a field for the date I finished it", "finished_on", "date"),
    ("add a field for how many pages it has", "pages", "integer"),
    ("add a field for how much I paid", "amount_paid", "money"),
    ("Add a field for whether I liked it to plants", "liked", "boolean"),
    ("add a column for who recommended it", "recommended_by", "text"),
    ("add a field for when it was planted", "planted_on", "date"),
    ("add a field for how many times I have repotted it", "times_repotted", "integer"),
    ("please add a field with where I bought it", "bought_where", "text"),
])
def test_add_a_field_described_by_what_it_holds(sprout: AppSpec, message: str, name: str,
                                                 ftype: str) -> None:
    new = apply_edit(sprout, message, deployed=True)
    assert fields(new)[name] == (ftype, False)
    assert spec_changes(sprout, new) == [f"Plants: + {name} ({ftype}, optional)"]


def test_a_described_field_that_says_nothing_is_refused(sprout: AppSpec) -> None:
    with pytest.raises(InvalidInput, match="does not say what the field holds"):
        apply_edit(sprout, "add a field for -- ---", deployed=True)
