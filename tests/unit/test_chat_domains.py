"""The chat's "get me a domain for this": prices shown, the same wait for approval as a plan,
then one purchase at the price shown, or none.

The registrar is the local server speaking Porkbun's API (``tests/fake_registrars.py``); the chat
graph, ``tools.domains``, the purchase and the store are the real ones. There is no Docker
engine here, so pointing a bought name at the app stops at its first step, and the chat says so.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from appforge.chat.domains import wants_domain
from appforge.chat.session import ChatSession
from appforge.config import Settings
from appforge.store import Store
from tests.conftest import free_port
from tests.fake_registrars import FakePorkbun
from tests.unit.test_web import SPROUT, _build_version


def _settings(home: Path, fake: FakePorkbun, **more: Any) -> Settings:
    values: dict[str, Any] = dict(
        home=home, instance="afchatdom", http_port=free_port(),
        docker_host="unix:///nonexistent/docker.sock", **fake.settings(),
        domain_budget=Decimal("25"), public_ipv4="203.0.113.7")
    values.update(more)
    settings = Settings(**values)
    _build_version(settings, Store(settings.db_path), SPROUT)
    return settings


@pytest.mark.parametrize(("text", "wanted"), [
    ("get me a domain for this", True), ("can you find a domain name for it?", True),
    ("buy sprout.dev", True), ("I need a domain", True),
    ("use the domain sprout.example.com", False), ("change the domain to sprout.localhost", False),
    ("add a category field", False),
])
def test_which_messages_ask_for_a_domain(text: str, wanted: bool) -> None:
    assert wants_domain(text) is wanted


def test_a_domain_waits_for_approval_and_is_bought_once(tmp_path: Path,
                                                        porkbun: FakePorkbun) -> None:
    porkbun.taken.add("sprout.com")
    # --yes approves plans, never purchases: the offer still waits.
    chat = ChatSession.open(_settings(tmp_path, porkbun), app="sprout", yes=True)
    offer = chat.send("get me a domain for this")
    assert offer.pending is not None and offer.pending["kind"] == "domain"
    assert "sprout.com: taken" not in offer.pending["summary"]  # only names that can be bought
    first = offer.pending["host"]
    assert first.endswith((".com", ".dev", ".app")) and first != "sprout.com"
    assert f"Shall I buy {first}" in offer.text and "budget $25.00, $25.00 left" in offer.text
    assert porkbun.creates() == []

    # Another of the names offered; then something else, which explains the choices.
    other = next(line.split(":")[0] for line in offer.pending["summary"]
                 if not line.startswith(first + ":"))
    picked = chat.send(f"rather {other}")
    assert picked.pending["host"] == other and f"Shall I buy {other}" in picked.text
    unclear = chat.send("hmm, what about the weather")
    assert f"Say yes to buy {other}, no to buy nothing" in unclear.text
    assert unclear.pending["host"] == other

    bought = chat.send("yes")
    assert bought.pending is None
    assert [name for name, _cents in porkbun.charges] == [other]
    assert "the Docker engine is not reachable" in bought.text  # the app's steps stop there
    assert chat.pending() is None


def test_no_means_nothing_is_bought_and_no_budget_means_prices_only(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    chat = ChatSession.open(_settings(tmp_path / "a", porkbun), app="sprout")
    chat.send("buy sprout.dev")
    assert chat.send("no").text == "Nothing was bought."
    assert porkbun.creates() == []

    poor = ChatSession.open(_settings(tmp_path / "b", porkbun, domain_budget=None), app="sprout")
    answer = poor.send("find a domain for the app")
    assert answer.pending is None and "No domain budget is set" in answer.text
    assert "the first year" in answer.text and porkbun.creates() == []


def test_an_app_not_built_yet_gets_no_domain(tmp_path: Path, porkbun: FakePorkbun) -> None:
    settings = _settings(tmp_path, porkbun)
    answer = ChatSession.open(settings).send("get me a domain")
    assert "Build the app first" in answer.text and porkbun.requests == []
