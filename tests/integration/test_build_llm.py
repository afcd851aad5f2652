"""A build planned by an LLM: the CLI talks to a local server speaking the OpenAI API.

The server replays a recorded answer (a plan no blueprint phrase would give: a "kanban" app
with cards that have a column and a position), the real openai client sends the request, and
the app is written, tested, deployed and served like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fake_openai import FakeOpenAI, reply
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

BOARD = {
    "name": "Corkboard", "slug": "corkboard", "title": "Corkboard", "kind": "crud",
    "tagline": "Cards for every task, in columns you move them through.",
    "entities": [{"name": "card", "plural": "cards", "label": "Card", "label_plural": "Cards",
                  "fields": [{"name": "title", "label": "Title", "type": "text"},
                             {"name": "column_name", "label": "Column", "type": "text"},
                             {"name": "position", "label": "Position", "type": "integer",
                              "min": 0, "max": 1000}]}],
    "features": [], "assets": [], "call_to_action": "Add a card", "language": "en",
}


@pytest.fixture
def llm_server() -> Iterator[FakeOpenAI]:
    # as llama.cpp's server: json_schema is answered with a 500
    with FakeOpenAI(model="local-model", rejects_json_schema=True) as fake:
        yield fake


def test_build_planned_by_an_llm_endpoint_that_rejects_json_schema(
        installation: Installation, llm_server: FakeOpenAI) -> None:
    # The capability probe meets llama.cpp's 500 for json_schema; the plan asks json_object.
    llm_server.script(reply(BOARD))
    env = installation.env | {"APPFORGE_LLM_BASE_URL": llm_server.base_url,
                              "APPFORGE_LLM_MODEL": "local-model",
                              "APPFORGE_LLM_API_KEY": "test-key"}
    proc = installation.run_with_env(env, "build", "--json", "a kanban board for my chores")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["slug"] == "corkboard" and result["status"] == "running"
    assert "planned by the llm planner (json_object)" in proc.stderr
    assert "from the model: name, kind crud, card (title, column_name, position)" in proc.stderr
    sent = [r["response_format"]["type"] for r in llm_server.requests]
    assert sent == ["json_object"] and all(r["stream"] for r in llm_server.requests)
    assert llm_server.requests[0]["max_tokens"] == 1200
    api: Any = installation.get("corkboard.localhost", "/openapi.json").json()
    assert "/api/cards" in api["paths"]
    props = api["components"]["schemas"]["CardIn"]["properties"]
    assert {"title", "column_name", "position"} <= set(props)
    installation.run_json("destroy", "corkboard", "--yes")
