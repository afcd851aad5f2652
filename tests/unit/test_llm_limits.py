"""Bounded, cancellable LLM calls, against a fake server that behaves as llama.cpp's does: it keeps
generating a whole answer after the client left, stops a streamed one when the connection
closes, answers json_schema with a 500, and can repeat an item until the length limit. The real
openai client talks to it; every test checks what a user (or the server's owner) would see."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import openai
import pytest

from appforge.agent import llm_guard
from appforge.agent.coder import CoderContext, code
from appforge.agent.llm_runaway import repeated_tail
from appforge.agent.planners.llm import LLMPlanner
from appforge.errors import LLMStopped
from appforge.tools.workspace import Workspace
from tests.fake_openai import FakeOpenAI, dripping, repeating, reply, tool_call
from tests.unit.test_llm_planner import SPROUT, sprout_plan

#: The start of a plan, then one field said again and again (what a 270M model did).
LOOP_START = '{"name": "Sprout", "kind": "crud", "entities": [{"name": "plant", "fields": ['
LOOP_ITEM = '{"name": "name", "type": "text"}, '


def planner(server: FakeOpenAI, **options: Any) -> LLMPlanner:
    return LLMPlanner(server.base_url, server.model, "k", **{"timeout": 10, **options})


def slow_plan(seconds_per_event: float = 0.05) -> Any:
    """A valid plan that takes the server a long while to generate."""
    return dripping(seconds_per_event, reply(sprout_plan(tagline="x" * 3000)))


# -- the fake server behaves as llama.cpp's does --------------------------------------------------

def test_fake_server_keeps_generating_a_whole_answer_after_the_client_left(
        server: FakeOpenAI) -> None:
    server.script(slow_plan())
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=0.3)

    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

    assert server.generating == 1  # nobody waits for it, and it is still being generated


def test_fake_server_stops_a_streamed_answer_when_the_connection_closes(
        server: FakeOpenAI) -> None:
    server.script(slow_plan(0.01))
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)

    stream = client.chat.completions.create(model="m", messages=[], stream=True)
    for _, _chunk in zip(range(3), stream, strict=False):
        pass
    stream.close()

    assert server.wait_idle()
    assert server.generated[-1] < 20  # of the ~200 events the whole answer has


def test_fake_server_repeats_an_item_until_max_tokens_and_rejects_json_schema() -> None:
    with FakeOpenAI(rejects_json_schema=True) as server:
        server.script(repeating(LOOP_START, LOOP_ITEM))
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        answer = client.chat.completions.create(model="m", messages=[], max_tokens=100)
        with pytest.raises(openai.InternalServerError, match="Input should be 'text' or "
                                                             "'json_object'"):
            client.chat.completions.create(model="m", messages=[], response_format={
                "type": "json_schema", "json_schema": {"name": "x", "schema": {}}})

    assert answer.choices[0].finish_reason == "length"
    text = answer.choices[0].message.content or ""
    assert text.startswith(LOOP_START) and 350 <= len(text) <= 400  # 100 tokens of 4 characters
    assert repeated_tail(text, 4, 200).strip() == LOOP_ITEM.strip()


# -- runaways ------------------------------------------------------------------------------------

def test_a_looping_plan_is_stopped_early_the_server_stops_and_what_was_valid_is_kept(
        server: FakeOpenAI) -> None:
    server.script(dripping(0.002, repeating(LOOP_START, LOOP_ITEM)))
    looping = planner(server, stream=True)

    spec = looping.plan(SPROUT)

    assert server.wait_idle()  # the closed stream stopped the generation
    assert server.generated[-1] < 100  # of the ~300 events 1200 tokens would take
    assert [f.name for f in spec.entities[0].fields] == ["name"]  # said once, kept once
    notes = " | ".join(looping.last_notes)
    assert "stopped the model's answer early: the answer repeats" in notes
    assert looping.last_notes[0].startswith("from the model: name, kind crud, plant (name)")


def test_plan_requests_are_bounded_and_fitted_to_the_models_context() -> None:
    with FakeOpenAI(context=3000) as server:
        server.script(reply(sprout_plan()))
        bounded = planner(server, max_tokens=900)
        bounded.plan(SPROUT)

        sent = server.requests[0]["max_tokens"]
        prompt = len(json.dumps(server.requests[0]["messages"])) // 3
        assert sent < 900 and sent + prompt <= 3000  # what the prompt leaves of 3000
        assert bounded.capabilities.context == 3000


# -- weak answers ---------------------------------------------------------------------------------

CAFE = "A website for Bean There, a small coffee shop in Lisbon"
FILES = [{"path": "app/main.py", "purpose": "the site"}]


def test_a_custom_plan_for_a_plain_website_gives_way_to_the_rules_kind(
        server: FakeOpenAI) -> None:
    """Gemma 3 270M planned the coffee shop's site as a custom app, and its coder then spent
    minutes on a blank page; the landing blueprint makes that site."""
    server.script(reply({"name": "Bean There", "kind": "custom", "file_plan": FILES}))
    llm = planner(server)

    spec = llm.plan(CAFE)

    assert spec.kind.value == "landing" and not spec.file_plan and spec.name == "Bean There"
    assert "used the rules' kind 'landing'" in " ".join(llm.last_notes)
    assert "from the rules: " in llm.last_notes[0] and "kind landing" in llm.last_notes[0]


def test_a_plan_made_by_the_rules_still_counts_the_models_tokens(server: FakeOpenAI) -> None:
    server.script(*[reply("I cannot help with that.")] * 3)
    llm = planner(server)

    spec = llm.plan(CAFE)

    assert spec.kind.value == "landing" and llm.last_notes[0].startswith("from the rules: the "
                                                                          "whole plan")
    assert llm.last_notes[-1] == "the model's answers: 30 tokens, none used"  # 3 x 10


def test_a_custom_plan_stays_custom_where_no_blueprint_plainly_fits(server: FakeOpenAI) -> None:
    server.script(reply({"name": "Shorty", "kind": "custom", "file_plan": FILES}))

    spec = planner(server).plan("A URL shortener website with click stats")

    assert spec.kind.value == "custom" and spec.file_plan[0].path == "app/main.py"


# -- deadlines and cancellation -------------------------------------------------------------------

def test_the_planning_deadline_closes_the_stream_and_the_plan_is_the_rules(
        server: FakeOpenAI) -> None:
    server.script(slow_plan())
    late = planner(server, stream=True, deadline=0.5)

    spec = late.plan(SPROUT)

    assert spec == late.blueprint.plan(SPROUT)
    assert server.wait_idle()  # the server stopped when the connection closed
    assert late.last_notes[0] == ("from the rules: the whole plan (the model gave none that "
                                  "could be used)")
    assert ("planning passed its deadline of 0.5 s (APPFORGE_LLM_PLAN_DEADLINE) during attempt 1"
            in late.last_notes[1])


def test_the_deadline_wakes_a_whole_answer_still_being_generated(server: FakeOpenAI) -> None:
    server.script(slow_plan())
    late = planner(server, stream=False, deadline=0.5)
    assert late.capabilities.stream  # probed before the clock starts

    late.plan(SPROUT)  # returns while the server is still at it

    assert "passed its deadline" in late.last_notes[1]
    assert not server.wait_idle(1)  # not streamed: the server goes on, as llama.cpp's does


def test_cancel_all_stops_a_plan_in_another_thread_and_its_generation(
        server: FakeOpenAI) -> None:
    server.script(slow_plan())
    outcome: list[BaseException] = []

    def plan() -> None:
        try:
            planner(server, stream=True).plan(SPROUT)
        except LLMStopped as exc:
            outcome.append(exc)

    worker = threading.Thread(target=plan)
    worker.start()
    while not server.generating:
        threading.Event().wait(0.01)
    llm_guard.cancel_all("interrupted (Ctrl-C)")
    worker.join(10)

    assert [str(e) for e in outcome] == ["interrupted (Ctrl-C)"]
    assert server.wait_idle()


def test_a_cancelled_dashboard_job_closes_the_models_connection(server: FakeOpenAI,
                                                                tmp_path: Path) -> None:
    from appforge.web.jobs import Jobs

    server.script(slow_plan())
    jobs = Jobs(tmp_path)
    job = jobs.start("sprout", "build", "Build Sprout",
                     lambda job: planner(server, stream=True).plan(SPROUT).name)
    while not server.generating:
        threading.Event().wait(0.01)

    assert job.cancel()
    assert server.wait_idle()
    while job.state == "running":
        threading.Event().wait(0.01)
    assert job.state == "cancelled" and job.message == "the job was cancelled"
    assert "cancelled: the model's calls were stopped" in job.lines


# -- the coder ------------------------------------------------------------------------------------

def coder(server: FakeOpenAI, root: Path, **options: Any) -> CoderContext:
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=10,
                           http_client=llm_guard.http_client(server.base_url, 10))
    return CoderContext(client=client, model=server.model, workspace=Workspace(root),
                        run_tests=lambda: (True, "1 passed"), max_steps=10, **options)


def test_the_coders_deadline_cancels_the_call_and_says_so(server: FakeOpenAI,
                                                          tmp_path: Path) -> None:
    server.script(tool_call({"path": "app/x.py", "content": "x = 1\n"}, name="write_file"),
                  dripping(0.05, reply("thinking " * 400)))

    result = code("write x", coder(server, tmp_path, stream=True, deadline=0.5))

    assert (tmp_path / "app/x.py").read_text() == "x = 1\n"  # the work before it is kept
    assert result.stop_reason.startswith("the coder passed its deadline of 0.5 s "
                                         "(APPFORGE_LLM_CODER_DEADLINE)")
    assert server.wait_idle()


def test_coder_steps_are_bounded_and_a_looping_answer_is_stopped(server: FakeOpenAI,
                                                                 tmp_path: Path) -> None:
    server.script(dripping(0.001, repeating("I will now write the file.\n",
                                            "x = x + 1  # again\n")))

    result = code("write x", coder(server, tmp_path, stream=True, step_tokens=1500))

    assert server.requests[0]["max_tokens"] == 1500
    assert result.stop_reason.startswith("the model's answer ran away (the answer repeats")
    assert server.wait_idle() and server.generated[-1] < 200
