"""The dashboard's Domains tab against a local server speaking Porkbun's API.

What a person does on the page: sees the app's names and what each needs, searches for a name
(a job, as Porkbun allows one check per 10 seconds), and buys one only by typing it back, within
the budget, once. The registrar is the fake at the network edge (``tests/fake_registrars.py``);
the dashboard, ``tools.domains``, the purchase and the store run for real. There is no Docker
engine here: after the purchase, pointing the name at the app stops at its first step, which
needs the engine, and says so.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from appforge.config import Settings
from appforge.store import Store
from appforge.web.app import create_app
from tests.conftest import free_port
from tests.fake_registrars import FakePorkbun
from tests.unit.test_web import SPROUT, _build_version

SLUG = "sprout"


def _settings(home: Path, fake: FakePorkbun, **more: Any) -> Settings:
    values: dict[str, Any] = dict(
        home=home, instance="afwebdom", http_port=free_port(),
        docker_host="unix:///nonexistent/docker.sock", **fake.settings(),
        domain_budget=Decimal("30"), public_ipv4="203.0.113.7",
        dns_resolvers=f"127.0.0.1:{free_port()}", dns_propagation_timeout=1.0)
    values.update(more)
    return Settings(**values)


@pytest.fixture
def client(tmp_path: Path, porkbun: FakePorkbun) -> Iterator[TestClient]:
    settings = _settings(tmp_path / "home", porkbun)
    _build_version(settings, Store(settings.db_path), SPROUT)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        yield http


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(f"/apps/{SLUG}/domains").text)
    assert found, "the page has no CSRF token"
    return found.group(1)


def _job(client: TestClient, answer: Any) -> dict[str, Any]:
    """Follow the job an action started until it ends (bounded by tries, not by time)."""
    assert answer.status_code == 303, answer.text
    job_id = answer.headers["location"].split("job=")[1]
    for _ in range(600):
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running")


def test_the_tab_shows_the_apps_names_and_the_budget(client: TestClient) -> None:
    page = client.get(f"/apps/{SLUG}/domains").text
    assert 'data-domain="sprout.localhost"' in page and "local" in page
    assert "Budget $30.00: $0.00 spent" in " ".join(page.split())
    assert "Search at porkbun" in page
    assert f'href="/apps/{SLUG}/domains"' in client.get(f"/apps/{SLUG}").text  # the tab


def test_search_then_buy_once_with_the_name_typed_back(client: TestClient,
                                                       porkbun: FakePorkbun) -> None:
    porkbun.taken.add("sprout.com")
    token = _csrf(client)
    job = _job(client, client.post(f"/apps/{SLUG}/domains/search", follow_redirects=False,
                                   data={"csrf": token, "words": "sprout", "tlds": "com,dev"}))
    assert job["state"] == "done", job
    page = client.get(f"/apps/{SLUG}/domains?job={job['id']}").text
    offers = dict(re.findall(r'data-offer="([^"]+)">\s*<td class="mono">[^<]*</td>\s*'
                             r'<td class="num">([^<]+)</td>', page))
    assert offers["sprout.com"] == "-" and offers["sprout.dev"] == "$10.64"
    assert 'name="name" value="sprout.dev"' in page and "Type <strong" in page

    # A wrong confirmation buys nothing and says why.
    refused = client.post(f"/apps/{SLUG}/domains/buy", follow_redirects=True, data={
        "csrf": token, "name": "sprout.dev", "max_price": "10.64", "confirm": "sprout.com"})
    assert "sprout.dev was not bought: type the name" in refused.text
    assert porkbun.creates() == [] and porkbun.charges == []

    # Typed back: bought once, at the quoted price; then pointing it at the app stops where it
    # needs the engine, saying so.
    job = _job(client, client.post(f"/apps/{SLUG}/domains/buy", follow_redirects=False, data={
        "csrf": token, "name": "sprout.dev", "max_price": "10.64", "confirm": "sprout.dev"}))
    assert porkbun.charges == [("sprout.dev", 1064)]
    said = "\n".join(job["lines"]) + job["message"]
    assert "register: done" in said, said
    assert job["state"] == "failed" and "the Docker engine is not reachable" in said, said
    page = client.get(f"/apps/{SLUG}/domains").text
    assert "$10.64 spent" in " ".join(page.split())
    for secret in porkbun.secrets():
        assert secret not in page and secret not in said

    # Buying it again from the page charges nothing more.
    _job(client, client.post(f"/apps/{SLUG}/domains/buy", follow_redirects=False, data={
        "csrf": token, "name": "sprout.dev", "max_price": "10.64", "confirm": "sprout.dev"}))
    assert porkbun.charges == [("sprout.dev", 1064)]


def test_without_a_budget_prices_show_and_nothing_can_be_bought(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    settings = _settings(tmp_path / "home", porkbun, domain_budget=None)
    _build_version(settings, Store(settings.db_path), SPROUT)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        token = _csrf(client)
        job = _job(client, client.post(f"/apps/{SLUG}/domains/search", follow_redirects=False,
                                       data={"csrf": token, "words": "sprout.dev"}))
        page = client.get(f"/apps/{SLUG}/domains?job={job['id']}").text
        assert "No budget is set (APPFORGE_DOMAIN_BUDGET)" in page
        assert 'data-offer="sprout.dev"' in page and "/domains/buy" not in page
        forced = _job(client, client.post(f"/apps/{SLUG}/domains/buy", follow_redirects=False,
                                          data={"csrf": token, "name": "sprout.dev",
                                                "max_price": "10.64", "confirm": "sprout.dev"}))
        assert forced["state"] == "failed" and "no domain budget is set" in forced["message"]
        assert porkbun.creates() == []
