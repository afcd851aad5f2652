"""The AppSpec contract rejects what later stages could not build, with clear messages."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from appforge.errors import InvalidDomain, InvalidSlug
from appforge.spec import AppSpec, AssetRequest, Entity, EntityField, validate_domain, validate_slug


def _entity(*fields: EntityField) -> Entity:
    return Entity(name="plant", plural="plants", label="Plant", label_plural="Plants",
                  fields=list(fields) or [EntityField(name="name", label="Name")])


def test_slug_must_be_a_dns_label() -> None:
    assert validate_slug("sprout-2") == "sprout-2"
    for bad in ["", "-sprout", "sprout-", "Sprout", "spr_out", "a" * 64, "sprout.app"]:
        with pytest.raises(InvalidSlug):
            validate_slug(bad)


@pytest.mark.parametrize("domain,expected", [
    ("Shop.Example.com", "shop.example.com"),
    ("bücher.example.com.", "xn--bcher-kva.example.com"),
    ("sprout.localhost", "sprout.localhost"),
])
def test_domains_are_normalised(domain: str, expected: str) -> None:
    assert validate_domain(domain) == expected


@pytest.mark.parametrize("bad", ["", "*.example.com", "example.com:80", "a b.com",
                                 "example.com/path", "-x.com", "x..com", "10.0.0.1",
                                 "a.com\n}", "a" * 64 + ".com"])
def test_invalid_domains_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(InvalidDomain, match="domain"):
        validate_domain(bad)


def test_field_names_must_be_safe_identifiers() -> None:
    for bad in ["id", "class", "Name", "1st", "drop table", "a-b"]:
        with pytest.raises(ValidationError):
            EntityField(name=bad, label="x")


def test_rating_gets_default_bounds_and_bounds_must_be_ordered() -> None:
    assert (EntityField(name="stars", label="Stars", type="rating").min,
            EntityField(name="stars", label="Stars", type="rating").max) == (1, 5)
    with pytest.raises(ValidationError, match="above max"):
        EntityField(name="qty", label="Qty", type="integer", min=5, max=1)


def test_crud_app_needs_an_entity_and_unique_assets() -> None:
    with pytest.raises(ValidationError, match="at least one entity"):
        AppSpec(name="X", slug="x", title="X", kind="crud")
    image = AssetRequest(kind="image", role="hero", name="hero", prompt="sun")
    with pytest.raises(ValidationError, match="asset names repeat"):
        AppSpec(name="X", slug="x", title="X", kind="landing", assets=[image, image])


def test_spec_round_trips_through_json() -> None:
    spec = AppSpec(name="Sprout", slug="sprout", title="Sprout", kind="crud",
                   entities=[_entity()], domain="Sprout.Example.com",
                   assets=[AssetRequest(kind="video", role="hero", name="hero-video",
                                        prompt="waves", seconds=4)])
    again = AppSpec.model_validate_json(spec.model_dump_json())
    assert again == spec
    assert again.domain == "sprout.example.com"
    assert again.host("localhost") == "sprout.example.com"
    assert spec.assets[0].filename == "hero-video.mp4"
    assert spec.assets[0].poster_filename == "hero-video-poster.jpg"


def test_custom_apps_carry_a_file_plan_inside_the_app() -> None:
    from appforge.spec import PlannedFile

    spec = AppSpec(name="Snip", slug="snip", title="Snip", kind="custom",
                   file_plan=[{"path": "app/links.py", "purpose": "the link API"}])
    assert AppSpec.model_validate_json(spec.model_dump_json()) == spec
    for bad in ["/etc/passwd", "../x.py", "app/../../x", "a\\b"]:
        with pytest.raises(ValidationError, match="must be relative"):
            PlannedFile(path=bad)


def test_control_characters_and_terminal_escapes_are_stripped_and_counted() -> None:
    from appforge.spec import strip_controls

    text = "A \x1b[31mred\x1b[0m tracker\x07 for\r\nplants\tand\x00 pots\x9b \x1b]0;title\x07!"
    cleaned, removed = strip_controls(text)
    assert cleaned == "A red tracker for\nplants\tand pots !"
    assert removed == 22
    assert strip_controls("two\nlines\tand tab", multiline=False) == ("two lines and tab", 0)
    spec = AppSpec(name="Notes", slug="notes", kind="landing", title="Notes\x1b[2J\x07\n",
                   description="a\x07b\nc")
    assert spec.title == "Notes" and spec.description == "ab\nc"


@pytest.mark.parametrize("domain, why", [
    ("localhost", "localhost is this machine"),
    ("other.localhost", "would be the app 'other'"),
    ("shop.test", ".test is reserved"), ("a.local", ".local is reserved"),
    ("b.internal", ".internal is reserved"), ("c.example", ".example is reserved"),
    ("192.168.1.4", "an IP address"), ("*.example.com", "invalid domain"),
])
def test_reserved_and_local_names_are_refused_as_custom_domains(domain: str, why: str) -> None:
    from appforge.errors import InvalidDomain
    from appforge.spec import validate_custom_domain

    with pytest.raises(InvalidDomain) as info:
        validate_custom_domain(domain, "sprout")
    assert why in str(info.value)


def test_an_apps_own_local_name_and_public_names_are_accepted() -> None:
    from appforge.spec import validate_custom_domain

    assert validate_custom_domain("Sprout.localhost", "sprout") == "sprout.localhost"
    assert validate_custom_domain("plants.example.com", "sprout") == "plants.example.com"
    assert validate_custom_domain("shop.apps.test", "shop", "apps.test") == "shop.apps.test"


def test_image_and_file_fields_make_a_crud_app_take_uploads() -> None:
    def app(*types: str) -> AppSpec:
        fields = [{"name": f"f{i}", "label": t, "type": t} for i, t in enumerate(types)]
        return AppSpec.model_validate({
            "name": "Shoebox", "slug": "shoebox", "title": "Shoebox", "kind": "crud",
            "entities": [{"name": "item", "plural": "items", "label": "Item",
                          "label_plural": "Items", "fields": fields}]})

    assert app("text", "image").takes_uploads
    assert app("file").takes_uploads
    assert not app("text", "url").takes_uploads
