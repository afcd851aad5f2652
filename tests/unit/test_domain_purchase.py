"""Buying a name against a local server speaking Porkbun's API: money moves at most once.

Everything from ``purchase.buy`` down to the HTTP requests runs for real; the fake registrar
keeps the account (balance, charges, owned names) and replays the faults a real purchase can
meet: a price that moves, an answer lost after the charge, a request that never arrives.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appforge.config import Settings
from appforge.domains import errors as e
from appforge.domains.purchase import buy
from appforge.domains.registrar import get_registrar
from appforge.errors import AppforgeError, AppNotFound
from appforge.store import Store
from appforge.store.domains import DomainStore
from tests.fake_registrars import FakePorkbun


def settings_for(tmp_path: Path, fake: FakePorkbun, budget: str | None = "30",
                 **extra: Any) -> Settings:
    return Settings(home=tmp_path / "home", instance="afunit", **fake.settings(),
                    domain_budget=Decimal(budget) if budget is not None else None, **extra)


def run_buy(settings: Settings, name: str, **kwargs: Any) -> Any:
    registrar = get_registrar(settings)
    try:
        return buy(settings, registrar, name, **kwargs)
    finally:
        registrar.close()


def purchases(settings: Settings) -> list[tuple[str, str, int, int | None]]:
    return [(p.name, p.state, p.quoted_minor, p.charged_minor)
            for p in DomainStore(settings.db_path).purchases()]


def no_secret_anywhere(fake: FakePorkbun, *texts: str) -> None:
    for secret in fake.secrets():
        assert all(secret not in url for url in fake.urls())
        assert all(secret not in text for text in texts)
        assert all(secret not in r.body.decode() for r in fake.requests)


def test_a_confirmed_purchase_is_charged_once_and_recorded(tmp_path: Path,
                                                           porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun)
    lines: list[str] = []
    result = run_buy(settings, "bikeshop.com", yes=True, log=lines.append)
    assert (result.state, result.charged_minor, result.charged_source) == \
        ("registered", 973, "registrar")
    assert porkbun.charges == [("bikeshop.com", 973)]
    assert [(s["step"], s["status"]) for s in result.steps] == [
        ("quote", "done"), ("dry_run", "done"), ("register", "done")]
    assert "attach it to an app" in result.message
    assert result.budget == {"total_minor": 3000, "spent_minor": 973, "left_minor": 2027}
    assert purchases(settings) == [("bikeshop.com", "registered", 973, 973)]
    create = porkbun.creates()[0]
    assert create.json() == {"cost": 973, "agreeToTerms": "yes"}
    assert create.headers["Idempotency-Key"]
    no_secret_anywhere(porkbun, *lines, str(result.to_dict()))


def test_without_yes_the_quote_is_shown_and_nothing_is_bought(tmp_path: Path,
                                                              porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun)
    result = run_buy(settings, "bikeshop.com")
    assert result.state == "quoted" and result.quoted_minor == 973
    assert "--yes" in result.message
    assert porkbun.creates() == [] and porkbun.charges == []


def test_no_budget_means_no_purchase_and_the_refusal_is_recorded(tmp_path: Path,
                                                                 porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun, budget=None)
    with pytest.raises(e.NoBudget, match=r"\$9.73") as caught:
        run_buy(settings, "bikeshop.com", yes=True)
    assert "APPFORGE_DOMAIN_BUDGET" in (caught.value.hint or "")
    assert caught.value.exit_code == 6
    assert purchases(settings) == [("bikeshop.com", "refused", 973, None)]
    assert porkbun.creates() == []


def test_max_price_and_the_budget_left_both_stop_a_purchase(tmp_path: Path,
                                                            porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun, budget="20")
    with pytest.raises(e.OverBudget, match="--max-price"):
        run_buy(settings, "bikeshop.com", yes=True, max_price="9.72")
    run_buy(settings, "bikeshop.com", yes=True, max_price="9.73")
    with pytest.raises(e.OverBudget, match="left of the domain budget"):
        run_buy(settings, "bikeshop.dev", yes=True)  # 9.73 + 10.64 > 20
    assert porkbun.charges == [("bikeshop.com", 973)]
    assert [p[1] for p in purchases(settings)] == ["refused", "registered", "refused"]


def test_a_price_that_moves_between_quote_and_purchase_stops_it(tmp_path: Path,
                                                                porkbun: FakePorkbun) -> None:
    porkbun.move_price_after_check("com", 1299)
    settings = settings_for(tmp_path, porkbun)
    with pytest.raises(e.PriceChanged):
        run_buy(settings, "bikeshop.com", yes=True)
    assert porkbun.creates() == [] and porkbun.charges == []
    assert purchases(settings) == [("bikeshop.com", "refused", 973, None)]


@pytest.mark.parametrize("name, error, words", [
    ("taken.com", e.NameTaken, "taken"),
    ("cars.com", e.PremiumName, "premium"),
    ("bikeshop.us", e.NotApiRegisterable, "through the website"),
])
def test_names_the_registrar_will_not_sell_through_its_api_are_refused(
        tmp_path: Path, porkbun: FakePorkbun, name: str, error: type, words: str) -> None:
    porkbun.taken.add("taken.com")
    porkbun.premium.add("cars.com")
    settings = settings_for(tmp_path, porkbun)
    with pytest.raises(error, match=words):
        run_buy(settings, name, yes=True)
    assert porkbun.creates() == []
    assert purchases(settings)[0][1] == "refused"


def test_porkbun_registers_one_year_only_so_two_are_refused(tmp_path: Path,
                                                            porkbun: FakePorkbun) -> None:
    with pytest.raises(e.UnsupportedTerm, match="1 year") as caught:
        run_buy(settings_for(tmp_path, porkbun), "bikeshop.com", yes=True, years=2)
    assert caught.value.hint == "use --years 1"
    assert porkbun.creates() == []


def test_insufficient_funds_found_by_the_dry_run_buys_nothing(tmp_path: Path,
                                                              porkbun: FakePorkbun) -> None:
    porkbun.balance = 500
    settings = settings_for(tmp_path, porkbun)
    with pytest.raises(e.InsufficientFunds, match="insufficient account credit"):
        run_buy(settings, "bikeshop.com", yes=True)
    assert porkbun.creates() == []
    assert purchases(settings)[0][1] == "refused"


def test_an_answer_lost_after_the_charge_is_in_doubt_then_resumed_without_paying_again(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    porkbun.fail("domain/create", drop_after=True)  # charged, then the connection closes
    settings = settings_for(tmp_path, porkbun)
    with pytest.raises(e.PurchaseInDoubt) as caught:
        run_buy(settings, "bikeshop.com", yes=True)
    assert caught.value.exit_code == 7
    assert "never pays twice" in (caught.value.hint or "")
    assert purchases(settings) == [("bikeshop.com", "in_doubt", 973, None)]
    result = run_buy(settings, "bikeshop.com", yes=True)
    assert result.state == "registered"
    assert porkbun.charges == [("bikeshop.com", 973)]
    assert len(porkbun.creates()) == 1  # ownership was asked first: no second create
    assert purchases(settings) == [("bikeshop.com", "registered", 973, 973)]


def test_a_create_lost_on_the_way_is_resent_with_its_key_and_charged_once(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun)
    # The dry run passes; the create's connection is closed before the server acts on it.
    porkbun.fail("domain/create")
    with pytest.raises(e.PurchaseInDoubt):
        run_buy(settings, "bikeshop.com", yes=True)
    assert porkbun.charges == []
    result = run_buy(settings, "bikeshop.com", yes=True)
    assert result.state == "registered" and porkbun.charges == [("bikeshop.com", 973)]
    keys = {r.headers["Idempotency-Key"] for r in porkbun.creates()}
    assert len(porkbun.creates()) == 2 and len(keys) == 1


def test_a_dry_run_that_lost_its_answer_is_asked_again_as_it_charges_nothing(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun)
    porkbun.fail("domain/create:dry")
    assert run_buy(settings, "bikeshop.com", yes=True).state == "registered"
    dry_runs = [r for r in porkbun.requests if "/domain/create/" in r.path
                and r.json().get("dryRun")]
    assert len(dry_runs) == 2
    assert porkbun.charges == [("bikeshop.com", 973)]


def test_two_buys_of_one_name_at_once_charge_once(tmp_path: Path, porkbun: FakePorkbun) -> None:
    porkbun.create_delay = 0.5
    settings = settings_for(tmp_path, porkbun)
    outcomes: list[str] = []

    def one() -> None:
        try:
            outcomes.append(run_buy(settings, "bikeshop.com", yes=True).state)
        except e.RegistrarError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert porkbun.charges == [("bikeshop.com", 973)]
    assert "registered" in outcomes
    assert set(outcomes) <= {"registered", "PurchaseBusy"}


def test_a_second_buy_of_a_bought_name_resumes_and_never_pays(tmp_path: Path,
                                                              porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun)
    run_buy(settings, "bikeshop.com", yes=True)
    result = run_buy(settings, "bikeshop.com", yes=True)
    assert result.state == "registered"
    assert porkbun.charges == [("bikeshop.com", 973)] and len(porkbun.creates()) == 1


def test_refused_credentials_say_so_without_the_keys(tmp_path: Path,
                                                     porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun).model_copy(
        update={"porkbun_secret_key": Settings(porkbun_secret_key="sk1_wrong").porkbun_secret_key})
    with pytest.raises(e.RegistrarAuthError) as caught:
        run_buy(settings, "bikeshop.com", yes=True)
    assert "INVALID_API_KEYS_001" in str(caught.value)
    no_secret_anywhere(porkbun, str(caught.value), caught.value.hint or "")
    assert "sk1_wrong" not in str(caught.value)


def test_an_unknown_app_fails_before_any_request(tmp_path: Path, porkbun: FakePorkbun) -> None:
    with pytest.raises(AppNotFound):
        run_buy(settings_for(tmp_path, porkbun), "bikeshop.com", slug="nope", yes=True)
    assert porkbun.requests == []


def test_a_bought_name_whose_app_cannot_be_reached_says_it_is_bought_and_how_to_go_on(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    settings = settings_for(tmp_path, porkbun, docker_host="unix:///nonexistent/docker.sock")
    Store(settings.db_path).upsert_app("bikes", "Bikes", "Bikes", "crud", "bikes.localhost")
    for _ in range(2):
        with pytest.raises(AppforgeError) as caught:
            run_buy(settings, "bikeshop.com", slug="bikes", yes=True)
        assert "bikeshop.com is bought (nothing more will be charged)" in (caught.value.hint or "")
        assert "--app bikes` again" in (caught.value.hint or "")
    assert porkbun.charges == [("bikeshop.com", 973)]
    assert purchases(settings) == [("bikeshop.com", "registered", 973, 973)]


def test_two_buys_of_different_names_at_once_stay_within_the_budget(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    porkbun.create_delay = 0.3
    settings = settings_for(tmp_path, porkbun, budget="15")  # room for one of the two
    outcomes: dict[str, str] = {}
    ready = threading.Barrier(2)

    def one(name: str) -> None:
        ready.wait()
        try:
            outcomes[name] = run_buy(settings, name, yes=True).state
        except e.RegistrarError as exc:
            outcomes[name] = type(exc).__name__

    threads = [threading.Thread(target=one, args=(n,)) for n in ("bikeshop.com", "bikeshop.dev")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["OverBudget", "registered"]
    assert len(porkbun.charges) == 1
    assert DomainStore(settings.db_path).spent_minor() <= 1500


def test_a_name_already_in_the_account_is_not_bought_but_pointed_to_attach(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    porkbun.own("bikeshop.com")
    with pytest.raises(e.NameTaken, match="already in your porkbun account") as caught:
        run_buy(settings_for(tmp_path, porkbun), "bikeshop.com", yes=True)
    assert caught.value.hint == "point it at an app: appforge domain attach bikeshop.com SLUG"
    assert porkbun.creates() == []
