"""The domain tools the CLI, dashboard and chat share: attach and detach refusals, the list
without a registrar, search input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appforge.config import Settings
from appforge.domains.errors import NameAttached
from appforge.errors import AppNotFound, InvalidInput
from appforge.store import Store
from appforge.store.domains import DomainStore
from appforge.tools import domains


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # An engine address that cannot answer: these tests never touch a real Docker engine.
    return Settings(home=tmp_path / "home", instance="afunit",
                    docker_host="unix:///nonexistent/docker.sock")


def two_apps(settings: Settings) -> Store:
    store = Store(settings.db_path)
    for slug in ("bikes", "cakes"):
        store.upsert_app(slug, slug.title(), slug.title(), "crud", f"{slug}.localhost")
    store.set_domains("bikes", ["bikes.localhost", "bikeshop.com"])
    return store


def test_attach_refuses_a_name_another_app_has_and_an_unknown_app(settings: Settings) -> None:
    two_apps(settings)
    with pytest.raises(NameAttached, match="'bikes'") as caught:
        domains.attach(settings, "bikeshop.com", "cakes")
    assert caught.value.hint == "detach it first: appforge domain detach bikeshop.com"
    with pytest.raises(AppNotFound):
        domains.attach(settings, "cakeshop.com", "nope")


def test_detach_takes_the_name_off_its_app_and_keeps_the_others(settings: Settings) -> None:
    pytest.importorskip("appforge.domains.connect")
    store = two_apps(settings)
    result = domains.detach(settings, "BikeShop.com")
    assert result == {"name": "bikeshop.com", "app": "bikes",
                      "message": "bikeshop.com no longer serves bikes"}
    assert store.domains("bikes") == ["bikes.localhost"]
    with pytest.raises(InvalidInput, match="not attached to any app"):
        domains.detach(settings, "bikeshop.com")
    with pytest.raises(InvalidInput, match="only name"):
        domains.detach(settings, "bikes.localhost")


def test_list_without_a_registrar_shows_what_appforge_bought(settings: Settings) -> None:
    two_apps(settings)
    purchases = DomainStore(settings.db_path)
    bought = purchases.add(name="bikeshop.com", registrar="porkbun", sandbox=False,
                           slug="bikes", years=1, currency="USD", quoted_minor=973,
                           renewal_minor=1108, max_price_minor=None, state="submitting",
                           idempotency_key="k1")
    purchases.update(bought.id, state="registered", charged_minor=973,
                     charged_source="registrar")
    purchases.add(name="other.com", registrar="porkbun", sandbox=False, slug=None, years=1,
                  currency="USD", quoted_minor=973, renewal_minor=None, max_price_minor=None,
                  state="refused", reason="no budget", idempotency_key="k2")
    rows = domains.list_domains(settings)
    assert [(r["name"], r["purchase"], r["app"], r["attached"], r["charged"]) for r in rows] == [
        ("bikeshop.com", "registered", "bikes", True, "$9.73")]
    assert purchases.spent_minor() == 973


def test_one_live_purchase_per_name_is_enforced_by_the_store(settings: Settings) -> None:
    from appforge.store.domains import LivePurchaseExists

    purchases = DomainStore(settings.db_path)
    values = dict(name="bikeshop.com", registrar="porkbun", sandbox=False, slug=None, years=1,
                  currency="USD", quoted_minor=973, renewal_minor=None, max_price_minor=None)
    first = purchases.add(**values, state="submitting", idempotency_key="k1")
    with pytest.raises(LivePurchaseExists) as caught:
        purchases.add(**values, state="submitting", idempotency_key="k2")
    assert caught.value.purchase.id == first.id
    quoted = purchases.add(**values, state="quoted", idempotency_key="k3")
    with pytest.raises(LivePurchaseExists):
        purchases.update(quoted.id, state="submitting")
    assert [p.state for p in purchases.purchases()] == ["submitting", "quoted"]


def test_search_needs_words_a_name_or_an_app(settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="give words or a name"):
        domains.search(settings.model_copy(update={"registrar": "porkbun"}), [])


def test_list_shows_the_certificate_the_proxy_serves_for_an_attached_name(
        settings: Settings) -> None:
    import socket
    import ssl
    import threading

    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("bikeshop.com").configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:  # a stand-in for the proxy's TLS listener (the network edge)
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        settings = settings.model_copy(update={"tls": "internal", "https_port": port})
        two_apps(settings)
        purchases = DomainStore(settings.db_path)
        purchases.add(name="bikeshop.com", registrar="porkbun", sandbox=False, slug="bikes",
                      years=1, currency="USD", quoted_minor=973, renewal_minor=None,
                      max_price_minor=None, state="registered", idempotency_key="k1")
        [row] = domains.list_domains(settings)
    finally:
        listener.close()
    assert row["certificate"]["issuer"].find("trustme") >= 0
    assert row["certificate"]["internal"] is False
    assert row["certificate"]["expires_at"][:4].isdigit()


def test_the_budget_is_checked_again_as_an_order_is_sent(settings: Settings) -> None:
    from appforge.store.domains import BudgetExceeded

    purchases = DomainStore(settings.db_path)
    rows = [purchases.add(name=name, registrar="porkbun", sandbox=False, slug=None, years=1,
                          currency="USD", quoted_minor=973, renewal_minor=None,
                          max_price_minor=None, state="quoted", idempotency_key=name)
            for name in ("one.com", "two.com")]
    assert purchases.claim(rows[0].id, 1500).state == "submitting"
    with pytest.raises(BudgetExceeded) as caught:
        purchases.claim(rows[1].id, 1500)
    assert caught.value.spent_minor == 973
    assert [p.state for p in purchases.purchases()] == ["submitting", "quoted"]


def test_doctor_says_what_buying_and_serving_a_name_needs(tmp_path: Path) -> None:
    from appforge.doctor import _domains

    def checks(**values: Any) -> dict[str, tuple[str, str]]:
        settings = Settings(home=tmp_path, **values)
        return {c.name: (c.status, c.detail + " | " + c.fix) for c in _domains(settings)}

    assert checks()["registrar"][0] == "ok"
    keys = tmp_path / "keys.toml"
    keys.write_text('porkbun_api_key = "pk1_x"\nporkbun_secret_key = "sk1_y"\n')
    keys.chmod(0o644)
    loose = checks(registrar="porkbun", registrar_credentials=keys)
    assert loose["registrar"][0] == "fail" and "chmod 600" in loose["registrar"][1]
    assert loose["domain budget"][0] == "warn" and "APPFORGE_DOMAIN_BUDGET" in \
        loose["domain budget"][1]
    assert "APPFORGE_PUBLIC_IPV4" in loose["public address"][1]
    keys.chmod(0o600)
    ready = checks(registrar="porkbun", registrar_credentials=keys, domain_budget="20",
                   public_ipv4="203.0.113.7")
    assert ready["registrar"] == ("ok", "porkbun, credentials set | ")
    assert ready["domain budget"][0] == "ok" and "public address" not in ready
    local = checks(tls="acme", http_port=8080, https_port=8443)
    assert local["acme"][0] == "fail"
    assert "not 80/443" in local["acme"][1] and "127.0.0.1" in local["acme"][1]
    public = checks(tls="acme", http_port=80, https_port=443, bind_address="0.0.0.0",
                    acme_email="ops@example.com")
    assert public["acme"][0] == "ok"


def test_a_name_no_registrar_sells_is_refused_before_any_registrar_is_asked(
        tmp_path: Path) -> None:
    from appforge.errors import InvalidDomain

    with pytest.raises(InvalidDomain, match="reserved for local or test use"):
        domains.buy(Settings(home=tmp_path), "shop.localhost")  # no registrar configured
