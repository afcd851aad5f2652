"""Each registrar client against a local server speaking its API (Cloudflare Registrar,
Namecheap, Porkbun's DNS), and purchases through the two without a dry run or idempotency key:
they ask the registrar before ever sending an order again."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appforge.config import Settings
from appforge.dns.records import DnsRecord
from appforge.domains import errors as e
from appforge.domains.cloudflare_registrar import CloudflareRegistrar
from appforge.domains.credentials import load_credentials
from appforge.domains.purchase import buy
from appforge.domains.registrar import get_registrar
from appforge.store.domains import DomainStore
from tests.fake_registrars import (
    FakeCloudflareRegistrar,
    FakeNamecheap,
    FakePorkbun,
    clear_proxies,
)

CONTACT = ('[contact]\nfirst_name = "Ada"\nlast_name = "Lovelace"\naddress1 = "1 Main St"\n'
           'city = "London"\nstate_province = "London"\npostal_code = "N1 1AA"\n'
           'country = "GB"\nphone = "+44.2012345678"\nemail = "ada@example.org"\n')


@pytest.fixture(autouse=True)
def _direct(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


def contact_file(tmp_path: Path) -> Path:
    path = tmp_path / "registrar.toml"
    path.write_text(CONTACT)
    os.chmod(path, 0o600)
    return path


def states(settings: Settings) -> list[str]:
    return [p.state for p in DomainStore(settings.db_path).purchases()]


# Cloudflare -----------------------------------------------------------------------------------
@pytest.fixture
def cloudflare() -> Iterator[FakeCloudflareRegistrar]:
    with FakeCloudflareRegistrar() as fake:
        yield fake


def cf_settings(tmp_path: Path, fake: FakeCloudflareRegistrar, **extra: Any) -> Settings:
    values: dict[str, Any] = dict(
        home=tmp_path / "home", instance="afunit", registrar="cloudflare",
        registrar_api_base=fake.api_base, cloudflare_api_token=fake.token,
        cloudflare_account_id=fake.account, domain_budget=Decimal(100))
    return Settings(**{**values, **extra})


def cf(settings: Settings) -> CloudflareRegistrar:
    return CloudflareRegistrar(load_credentials(settings), api_base=settings.registrar_api_base,
                               sandbox=settings.registrar_sandbox, poll_interval=0.02,
                               poll_timeout=1.0)


def test_cloudflare_check_prices_in_cents_and_flags_what_the_api_cannot_buy(
        tmp_path: Path, cloudflare: FakeCloudflareRegistrar) -> None:
    cloudflare.premium.add("cars.com")
    cloudflare.taken.add("taken.com")
    registrar = get_registrar(cf_settings(tmp_path, cloudflare))
    offers = {o.name: o for o in registrar.check(["bikes.com", "cars.com", "bikes.sh",
                                                  "taken.com"])}
    assert (offers["bikes.com"].first_year_minor, offers["bikes.com"].renewal_minor) == \
        (1046, 1046)
    assert offers["cars.com"].premium
    assert not offers["bikes.sh"].api_registerable
    assert offers["bikes.sh"].reason == "only in Cloudflare's dashboard"
    assert not offers["taken.com"].available


def test_cloudflare_purchase_records_the_quote_as_charged(
        tmp_path: Path, cloudflare: FakeCloudflareRegistrar) -> None:
    settings = cf_settings(tmp_path, cloudflare)
    result = buy(settings, cf(settings), "bikes.com", years=2, yes=True)
    assert (result.state, result.charged_minor, result.charged_source) == \
        ("registered", 2092, "quote")
    assert [(s["step"], s["status"]) for s in result.steps][:2] == [
        ("quote", "done"), ("dry_run", "skipped")]
    assert cloudflare.creates()[0].json()["years"] == 2
    assert cloudflare.creates()[0].json()["auto_renew"] is False
    assert cloudflare.charges == [("bikes.com", "10.46")]
    assert all(cloudflare.token not in url for url in cloudflare.urls())


def test_cloudflare_workflow_answered_202_is_polled_to_the_end(
        tmp_path: Path, cloudflare: FakeCloudflareRegistrar) -> None:
    cloudflare.async_states = ["in_progress", "in_progress", "succeeded"]
    settings = cf_settings(tmp_path, cloudflare)
    result = buy(settings, cf(settings), "bikes.com", yes=True)
    assert result.state == "registered"
    assert sum(r.path.endswith("registration-status") for r in cloudflare.requests) >= 2


def test_cloudflare_action_required_waits_for_a_person_then_resumes(
        tmp_path: Path, cloudflare: FakeCloudflareRegistrar) -> None:
    cloudflare.async_states = ["action_required"]
    settings = cf_settings(tmp_path, cloudflare)
    result = buy(settings, cf(settings), "bikes.com", yes=True)
    assert result.state == "pending"
    assert "verify the registrant e-mail address" in result.message
    assert "run the same buy again later" in result.message
    cloudflare.workflows["bikes.com"] = ["succeeded"]
    cloudflare.registrations["bikes.com"]["status"] = "active"
    again = buy(settings, cf(settings), "bikes.com", yes=True)
    assert again.state == "registered" and len(cloudflare.creates()) == 1


def test_cloudflare_answer_lost_after_the_charge_is_found_in_the_account(
        tmp_path: Path, cloudflare: FakeCloudflareRegistrar) -> None:
    cloudflare.fail("registrations:create", drop_after=True)
    settings = cf_settings(tmp_path, cloudflare)
    with pytest.raises(e.PurchaseInDoubt):
        buy(settings, cf(settings), "bikes.com", yes=True)
    assert states(settings) == ["in_doubt"]
    result = buy(settings, cf(settings), "bikes.com", yes=True)
    assert result.state == "registered"
    assert len(cloudflare.creates()) == 1 and len(cloudflare.charges) == 1


def test_cloudflare_order_that_never_arrived_is_sent_again_only_while_the_name_is_free(
        tmp_path: Path, cloudflare: FakeCloudflareRegistrar) -> None:
    settings = cf_settings(tmp_path, cloudflare)
    cloudflare.fail("registrations:create")  # the connection closes before the server acts
    with pytest.raises(e.PurchaseInDoubt):
        buy(settings, cf(settings), "bikes.com", yes=True)
    assert buy(settings, cf(settings), "bikes.com", yes=True).state == "registered"
    assert len(cloudflare.creates()) == 2 and len(cloudflare.charges) == 1

    cloudflare.fail("registrations:create")
    with pytest.raises(e.PurchaseInDoubt):
        buy(settings, cf(settings), "bikes.dev", yes=True)
    cloudflare.taken.add("bikes.dev")  # someone else got it meanwhile
    with pytest.raises(e.NameTaken, match="not by this account"):
        buy(settings, cf(settings), "bikes.dev", yes=True)
    assert len(cloudflare.creates()) == 3 and len(cloudflare.charges) == 1
    assert states(settings) == ["registered", "failed"]


def test_cloudflare_price_that_moved_before_the_order_stops_it(
        tmp_path: Path, cloudflare: FakeCloudflareRegistrar) -> None:
    cloudflare.moves["com"] = "14.00"
    settings = cf_settings(tmp_path, cloudflare)
    with pytest.raises(e.PriceChanged, match=r"\$10.46 to \$14.00"):
        buy(settings, cf(settings), "bikes.com", yes=True)
    assert cloudflare.creates() == []


def test_cloudflare_sandbox_uses_its_own_paths_and_sends_the_contact(
        tmp_path: Path) -> None:
    with FakeCloudflareRegistrar(sandbox=True) as fake:
        settings = cf_settings(tmp_path, fake, registrar_sandbox=True)
        with pytest.raises(e.RegistrarError, match="contact details"):
            buy(settings, cf(settings), "bikes.com", yes=True)
        assert fake.creates() == []
        settings = settings.model_copy(update={"registrar_credentials":
                                               contact_file(tmp_path)})
        result = buy(settings, cf(settings), "bikes.dev", yes=True)
        assert result.state == "registered" and result.sandbox
        assert all("/registrar-sandbox/" in url for url in fake.urls())
        registrant = fake.creates()[-1].json()["contacts"]["registrant"]
        assert registrant["postal_info"]["address"]["country_code"] == "GB"
        assert get_registrar(settings).dns("bikes.dev") is None  # no zone in the sandbox


def test_cloudflare_refused_token_says_which_permission(
        tmp_path: Path, cloudflare: FakeCloudflareRegistrar) -> None:
    settings = cf_settings(tmp_path, cloudflare, cloudflare_api_token="cf-wrong")
    with pytest.raises(e.RegistrarAuthError, match="Authentication error") as caught:
        get_registrar(settings).check(["bikes.com"])
    assert "Registrar permissions" in (caught.value.hint or "")


# Namecheap ------------------------------------------------------------------------------------
@pytest.fixture
def namecheap() -> Iterator[FakeNamecheap]:
    with FakeNamecheap() as fake:
        yield fake


def nc_settings(tmp_path: Path, fake: FakeNamecheap, contact: bool = True,
                **extra: Any) -> Settings:
    values: dict[str, Any] = dict(
        home=tmp_path / "home", instance="afunit", registrar="namecheap",
        registrar_api_base=fake.api_base, namecheap_api_user=fake.api_user,
        namecheap_api_key=fake.api_key, namecheap_client_ip="203.0.113.10",
        registrar_credentials=contact_file(tmp_path) if contact else None,
        domain_budget=Decimal(50))
    return Settings(**{**values, **extra})


def test_namecheap_prices_standard_names_from_get_pricing_and_flags_premium(
        tmp_path: Path, namecheap: FakeNamecheap) -> None:
    namecheap.premium["us.com"] = "130.00"
    namecheap.taken.add("taken.com")
    registrar = get_registrar(nc_settings(tmp_path, namecheap))
    offers = {o.name: o for o in registrar.check(["bikes.com", "us.com", "taken.com"])}
    assert (offers["bikes.com"].first_year_minor, offers["bikes.com"].renewal_minor) == \
        (888, 1398)
    assert offers["us.com"].premium and offers["us.com"].first_year_minor == 13000
    assert not offers["taken.com"].available
    pricing = [r for r in namecheap.requests
               if r.form().get("Command") == "namecheap.users.getPricing"]
    assert len(pricing) == 2  # registration and renewal of .com, once each for the search


def test_namecheap_purchase_records_the_charged_amount_and_sends_years(
        tmp_path: Path, namecheap: FakeNamecheap) -> None:
    settings = nc_settings(tmp_path, namecheap)
    result = buy(settings, get_registrar(settings), "bikes.com", yes=True)
    assert (result.state, result.charged_minor, result.charged_source) == \
        ("registered", 888, "registrar")
    order = namecheap.creates()[0].form()
    assert order["Years"] == "1" and order["AdminCountry"] == "GB"
    for request in namecheap.requests:
        assert request.method == "POST" and namecheap.api_key not in request.path


def test_namecheap_refusals_name_the_cause(tmp_path: Path, namecheap: FakeNamecheap) -> None:
    settings = nc_settings(tmp_path, namecheap)
    with pytest.raises(e.NotApiRegisterable, match="2030280"):
        buy(settings, get_registrar(settings), "bikes.us", yes=True)
    namecheap.balance_cents = 100
    with pytest.raises(e.InsufficientFunds):
        buy(settings, get_registrar(settings), "bikes.com", yes=True)
    assert namecheap.charges == [] and states(settings) == ["failed", "failed"]
    with pytest.raises(e.RegistrarError, match="contact details"):
        nc = nc_settings(tmp_path / "x", namecheap, contact=False)
        buy(nc, get_registrar(nc), "bikes.dev", yes=True)


def test_namecheap_client_ip_not_whitelisted_says_where_to_whitelist(
        tmp_path: Path, namecheap: FakeNamecheap) -> None:
    settings = nc_settings(tmp_path, namecheap, namecheap_client_ip="198.51.100.7")
    with pytest.raises(e.RegistrarAuthError, match="1011150") as caught:
        get_registrar(settings).check(["bikes.com"])
    assert "whitelisted" in (caught.value.hint or "")
    with pytest.raises(e.RegistrarAuthError, match="IPv4"):
        get_registrar(settings.model_copy(update={"namecheap_client_ip": "2001:db8::1"}))


def test_namecheap_answer_lost_after_the_charge_is_found_in_the_account(
        tmp_path: Path, namecheap: FakeNamecheap) -> None:
    namecheap.fail("namecheap.domains.create", drop_after=True)
    settings = nc_settings(tmp_path, namecheap)
    with pytest.raises(e.PurchaseInDoubt):
        buy(settings, get_registrar(settings), "bikes.com", yes=True)
    result = buy(settings, get_registrar(settings), "bikes.com", yes=True)
    assert result.state == "registered" and result.charged_source == "quote"
    assert len(namecheap.creates()) == 1 and len(namecheap.charges) == 1


def test_namecheap_records_are_merged_into_the_hosts_it_replaces_whole(
        tmp_path: Path, namecheap: FakeNamecheap) -> None:
    namecheap.own("bikes.com")
    namecheap.hosts["bikes.com"] = [
        {"Name": "@", "Type": "MX", "Address": "mail.bikes.com.", "TTL": "1800",
         "MXPref": "10"},
        {"Name": "@", "Type": "TXT", "Address": "v=spf1 -all", "TTL": "1800"},
        {"Name": "@", "Type": "A", "Address": "198.51.100.1", "TTL": "1800"}]
    dns = get_registrar(nc_settings(tmp_path, namecheap)).dns("bikes.com")
    lines = dns.ensure_records([DnsRecord("A", "bikes.com", "203.0.113.7"),
                                DnsRecord("A", "shop.bikes.com", "203.0.113.7")])
    assert any(line.startswith("updated A bikes.com") for line in lines)
    kept = {(h["Type"], h["Name"], h["Address"]) for h in namecheap.hosts["bikes.com"]}
    assert kept == {("MX", "@", "mail.bikes.com."), ("TXT", "@", "v=spf1 -all"),
                    ("A", "@", "203.0.113.7"), ("A", "shop", "203.0.113.7")}
    writes = sum(r.form().get("Command") == "namecheap.domains.dns.setHosts"
                 for r in namecheap.requests)
    again = dns.ensure_records([DnsRecord("A", "bikes.com", "203.0.113.7")])
    assert again == ["unchanged A bikes.com → 203.0.113.7"]
    assert writes == sum(r.form().get("Command") == "namecheap.domains.dns.setHosts"
                         for r in namecheap.requests)  # nothing changed: nothing written
    assert dns.delete_records(["shop.bikes.com"]) == ["deleted A shop.bikes.com → 203.0.113.7"]
    assert ("MX", "@", "mail.bikes.com.") in {(h["Type"], h["Name"], h["Address"])
                                              for h in namecheap.hosts["bikes.com"]}


# Porkbun --------------------------------------------------------------------------------------
def pb_settings(tmp_path: Path, fake: FakePorkbun) -> Settings:
    return Settings(home=tmp_path / "home", **fake.settings())


def test_porkbun_is_the_dns_provider_of_its_own_domains(tmp_path: Path) -> None:
    with FakePorkbun() as fake:
        fake.own("bikes.com")
        dns = get_registrar(pb_settings(tmp_path, fake)).dns("bikes.com")
        assert dns.ensure_records([DnsRecord("A", "bikes.com", "203.0.113.7"),
                                   DnsRecord("A", "www.bikes.com", "203.0.113.7")]) == [
            "created A bikes.com → 203.0.113.7", "created A www.bikes.com → 203.0.113.7"]
        lines = dns.ensure_records([DnsRecord("A", "bikes.com", "203.0.113.8")])
        assert lines[0].startswith("updated A bikes.com → 203.0.113.8")
        assert sorted((r["name"], r["content"]) for r in fake.records["bikes.com"]) == [
            ("bikes.com", "203.0.113.8"), ("www.bikes.com", "203.0.113.7")]
        assert dns.delete_records(["www.bikes.com"]) == ["deleted A www.bikes.com → 203.0.113.7"]
        with pytest.raises(e.RegistrarError, match="not in the Porkbun zone"):
            dns.ensure_records([DnsRecord("A", "other.org", "203.0.113.7")])


def test_porkbun_rate_limit_is_waited_out_and_the_account_listed(tmp_path: Path) -> None:
    with FakePorkbun() as fake:
        fake.check_window = 0.3
        fake.own("bikes.com")
        registrar = get_registrar(pb_settings(tmp_path, fake))
        offers = registrar.check(["shop.com", "shop.dev"])
        assert [o.available for o in offers] == [True, True]
        assert any(r.path.endswith("checkDomain/shop.dev") for r in fake.requests)
        owned = registrar.owned("bikes.com")
        assert owned is not None and owned.expires_at == "2027-11-30 04:00:00"
        assert not owned.auto_renew
        assert registrar.owned("nope.com") is None
        assert fake.api_key not in repr(registrar) and fake.secret not in repr(registrar)


def test_porkbun_sandbox_setting_refuses_a_live_key(tmp_path: Path) -> None:
    with FakePorkbun() as fake:
        settings = pb_settings(tmp_path, fake).model_copy(update={"registrar_sandbox": True})
        with pytest.raises(e.RegistrarAuthError, match="not a sandbox key"):
            get_registrar(settings)


def test_the_fake_porkbun_tells_a_local_dns_server_about_record_changes(tmp_path: Path) -> None:
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    with FakePorkbun() as fake:
        fake.on_records_change = lambda zone, records: seen.append(
            (zone, [(r["name"], r["content"]) for r in records]))
        fake.own("bikes.com")
        dns = get_registrar(pb_settings(tmp_path, fake)).dns("bikes.com")
        dns.ensure_records([DnsRecord("A", "bikes.com", "203.0.113.7")])
    assert seen == [("bikes.com", [("bikes.com", "203.0.113.7")])]
