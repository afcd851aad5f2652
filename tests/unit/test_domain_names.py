"""Names one may buy, money in cents, and credentials: no network, no Docker."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from appforge.config import Settings
from appforge.domains.credentials import load_credentials
from appforge.domains.errors import (
    NameAttached,
    NotRegistrable,
    RegistrarAuthError,
    ReservedName,
)
from appforge.domains.money import Budget, format_minor, to_minor
from appforge.domains.names import (
    check_purchase,
    parse,
    parse_tlds,
    suggest,
    words_of_plan,
)
from appforge.errors import InvalidDomain, InvalidInput
from appforge.store import Store


def test_a_german_sharp_s_is_kept_as_idna_2008_encodes_it_not_turned_into_ss() -> None:
    name = parse("faß.de")
    assert name.ascii == "xn--fa-hia.de"
    assert name.unicode == "faß.de"
    assert "faß.de".encode("idna") == b"fass.de"  # what the built-in IDNA 2003 codec would buy


def test_upper_case_and_a_trailing_dot_become_the_usual_form() -> None:
    assert parse("Bücher.DE.").ascii == "xn--bcher-kva.de"
    assert parse("Shop.Example-Store.COM").ascii == "shop.example-store.com"


def test_the_public_suffix_list_knows_co_uk() -> None:
    name = parse("foo.co.uk")
    assert (name.suffix, name.registrable, name.is_registrable) == ("co.uk", "foo.co.uk", True)
    with pytest.raises(NotRegistrable, match="public suffix"):
        parse("co.uk")


def test_a_sub_name_is_refused_for_buying_saying_which_name_to_buy() -> None:
    with pytest.raises(NotRegistrable) as caught:
        check_purchase("shop.bikes.co.uk")
    assert "bikes.co.uk" in str(caught.value)
    assert "attach shop.bikes.co.uk" in (caught.value.hint or "")


@pytest.mark.parametrize("name", ["myapp.localhost", "printer.local", "x.test", "a.example",
                                  "foo.invalid", "example.com", "www.example.org", "nas.home.arpa",
                                  "secret.onion", "corp.internal"])
def test_reserved_and_local_names_are_never_for_sale(name: str) -> None:
    with pytest.raises(ReservedName):
        check_purchase(name)


@pytest.mark.parametrize("name, words", [
    ("-shop.com", "hyphen"), ("shop-.com", "hyphen"), ("ab--cd.com", "3rd and 4th"),
    ("a..com", "empty"), ("shop.notarealtld", "Public Suffix List"),
    ("https://shop.com/", "without a scheme"), ("shop .com", "whitespace"),
    ("*.shop.com", "wildcard"), ("x" * 64 + ".com", "63"), ("shop.123", "all digits"),
    ("com", "top-level"), ("", "empty")])
def test_malformed_names_say_what_is_wrong(name: str, words: str) -> None:
    with pytest.raises(InvalidDomain, match=words):
        parse(name)


def test_a_name_under_appforges_base_domain_is_not_bought(tmp_path: Path) -> None:
    with pytest.raises(ReservedName, match="base domain"):
        check_purchase("apps.mycompany.com", base_domain="mycompany.com")


def test_a_name_attached_to_another_app_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.upsert_app("bikes", "Bikes", "Bikes", "crud", "bikes.localhost")
    store.set_domains("bikes", ["bikeshop.com"])
    with pytest.raises(NameAttached, match="'bikes'"):
        check_purchase("bikeshop.com", store=store, slug="other")
    assert check_purchase("bikeshop.com", store=store, slug="bikes").ascii == "bikeshop.com"


def test_suggestions_come_from_words_and_from_a_plan() -> None:
    assert suggest(["bike", "shop"], ["com", "dev"])[:4] == [
        "bikeshop.com", "bikeshop.dev", "bike-shop.com", "bike-shop.dev"]
    words = words_of_plan({"name": "Crème Brûlée", "slug": "creme", "title": "The Crème app",
                           "tagline": "Desserts for you"})
    assert words[:2] == ["creme", "brulee"]
    assert suggest(words, ["com"])[0] == "cremebruleedesserts.com"
    assert parse_tlds("com, .dev,app,com") == ["com", "dev", "app"]
    with pytest.raises(ReservedName):
        parse_tlds("test")


def test_prices_become_whole_cents_rounded_up() -> None:
    assert to_minor("9.73") == 973
    assert to_minor("20.3600") == 2036
    assert to_minor(Decimal("0.001")) == 1
    assert format_minor(123456) == "$1,234.56"
    for bad in ("-1", "abc", "NaN", "Infinity", 9.73):
        with pytest.raises(InvalidInput):
            to_minor(bad)


def test_the_budget_counts_what_is_spent() -> None:
    budget = Budget(total_minor=3000, spent_minor=2100)
    assert budget.left_minor == 900
    assert budget.allows(900) and not budget.allows(901)


def _file(tmp_path: Path, text: str, mode: int) -> Path:
    path = tmp_path / "registrar.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_credentials_come_from_a_file_only_its_owner_reads(tmp_path: Path) -> None:
    path = _file(tmp_path, '[porkbun]\napi_key = "pk1_abc"\nsecret_key = "sk1_def"\n'
                 '[contact]\nfirst_name = "Ada"\n', 0o600)
    creds = load_credentials(Settings(home=tmp_path, registrar_credentials=path))
    assert creds.porkbun_api_key.get_secret_value() == "pk1_abc"
    assert creds.contact == {"first_name": "Ada"}
    assert "pk1_abc" not in repr(creds) and "sk1_def" not in repr(creds)


def test_a_credentials_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, 'porkbun_api_key = "pk1_abc"\n', 0o644)
    with pytest.raises(InvalidInput, match="0644") as caught:
        load_credentials(Settings(home=tmp_path, registrar_credentials=path))
    assert caught.value.hint == f"chmod 600 {path}"
    assert "pk1_abc" not in str(caught.value)


def test_the_environment_wins_over_the_file_and_missing_keys_are_named(tmp_path: Path) -> None:
    path = _file(tmp_path, 'porkbun_api_key = "pk1_file"\n', 0o600)
    settings = Settings(home=tmp_path, registrar_credentials=path, porkbun_api_key="pk1_env")
    creds = load_credentials(settings)
    assert creds.porkbun_api_key.get_secret_value() == "pk1_env"
    with pytest.raises(RegistrarAuthError, match="APPFORGE_PORKBUN_SECRET_KEY"):
        creds.require("porkbun_api_key", "porkbun_secret_key", registrar="Porkbun")
