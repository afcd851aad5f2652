"""Fixtures of the LLM tests: a fresh fake OpenAI server, and no endpoint's way of asking for
JSON remembered from one test to the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_openai import FakeOpenAI


@pytest.fixture(autouse=True)
def _forget_endpoints() -> Iterator[None]:
    from appforge.agent.planners import llm

    llm.ENDPOINT_MODES.clear()
    yield
    llm.ENDPOINT_MODES.clear()


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake
