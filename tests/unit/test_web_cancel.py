"""The dashboard's Cancel button: a chat message whose plan the model is still writing (a slow
fake OpenAI endpoint) is cancelled with ``POST /jobs/{id}/cancel``; the job ends as cancelled and
the model's server stops generating, because the job's call closed its connection.

The same TestClient and installation helpers as ``test_web.py``: the real store, planner and
renderer, no Docker engine.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from appforge.config import Settings
from appforge.store import Store
from tests.conftest import free_port
from tests.fake_openai import FakeOpenAI, dripping, reply
from tests.unit.test_web import SPROUT, _build_version, _client, _csrf

#: A revision the fake server takes minutes to stream (0.2 s between pieces of 16 characters).
ENDLESS = dripping(0.2, reply(" ".join(f"thought {i}," for i in range(2000))))


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(model="local-model") as fake:
        yield fake


@pytest.fixture
def client(tmp_path: Any, server: FakeOpenAI) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path / "home", instance="afwebcancel", http_port=free_port(),
                        docker_host="unix:///nonexistent/docker.sock",
                        llm_base_url=server.base_url, llm_model=server.model,
                        llm_api_key="k", llm_plan_deadline=0)
    _build_version(settings, Store(settings.db_path), SPROUT)
    with _client(settings) as http:
        yield http


def wait_for(ready: Any, what: str, limit_s: float = 60) -> None:
    """Poll (bounded: a job that never gets there fails the test)."""
    end = time.monotonic() + limit_s
    while not ready():
        assert time.monotonic() < end, f"no {what} within {limit_s} s"
        time.sleep(0.05)


def test_cancel_button_stops_a_job_whose_model_call_is_in_flight(
        client: TestClient, server: FakeOpenAI) -> None:
    server.script(ENDLESS)
    token = _csrf(client, "/apps/sprout/chat")
    sent = client.post("/apps/sprout/chat", data={"csrf": token, "text": "add a price field"},
                       follow_redirects=False)
    job_id = re.search(r"job=([0-9a-f]+)", sent.headers["location"]).group(1)
    wait_for(lambda: server.generating > 0, "generation on the model's server")
    assert client.get(f"/jobs/{job_id}").json()["state"] == "running"

    page = client.get(f"/apps/sprout?job={job_id}").text
    assert f'action="/jobs/{job_id}/cancel"' in page  # the button the person presses
    cancelled = client.post(f"/jobs/{job_id}/cancel", data={"csrf": token},
                            follow_redirects=False)
    assert cancelled.status_code == 303
    assert cancelled.headers["location"] == f"/apps/sprout?job={job_id}"

    wait_for(lambda: client.get(f"/jobs/{job_id}").json()["state"] != "running", "job's end")
    job = client.get(f"/jobs/{job_id}").json()
    assert job["state"] == "cancelled", (job["message"], job["lines"])
    assert "cancelled" in job["message"] and "cancelled" in "\n".join(job["lines"])
    assert server.wait_idle()  # the closed stream stopped the generation
    assert server.generated[-1] < 100  # of the ~1000 events of the whole answer
    shown = client.get(f"/apps/sprout?job={job_id}").text
    assert "cancelled after" in shown and f'action="/jobs/{job_id}/cancel"' not in shown
