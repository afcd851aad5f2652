"""Fixtures of the unit tests: a fresh fake OpenAI server, and no endpoint's way of asking for
JSON remembered from one test to the next; a fresh fake Porkbun, reached directly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai import FakeOpenAI
from tests.fake_registrars import FakePorkbun, clear_proxies


@pytest.fixture(autouse=True)
def _forget_endpoints() -> Iterator[None]:
    from appforge.agent import llm_endpoint

    llm_endpoint.forget_all()
    yield
    llm_endpoint.forget_all()


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def porkbun(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePorkbun]:
    clear_proxies(monkeypatch)
    with FakePorkbun() as fake:
        yield fake
