"""The LLM planner against a local fake of the OpenAI API, with the real openai client."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from appforge.agent.planners.llm import LLMPlanner, LLMUnavailable
from appforge.errors import AppforgeError, InvalidInput
from appforge.spec import AppSpec, Kind
from tests.fake_openai import FakeOpenAI, error, rate_limited, reply, slow, tool_call

SPROUT = "A plant-watering tracker called Sprout. Each plant has a name, a location and days " \
         "between waterings."
LLAMA_CPP_REJECTION = "Input should be 'text' or 'json_object'"


def sprout_plan(**changes: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {
        "name": "Sprout", "slug": "sprout", "title": "Sprout: Plant Watering Tracker",
        "tagline": "Water every plant on time.", "kind": "crud",
        "entities": [{"name": "plant", "plural": "plants", "label": "Plant",
                      "label_plural": "Plants", "fields": [
                          {"name": "name", "label": "Name", "type": "text"},
                          {"name": "location", "label": "Location", "type": "text",
                           "required": False},
                          {"name": "days_between_waterings", "label": "Days between waterings",
                           "type": "integer", "min": 1, "max": 60}]}],
        "features": [],
        "assets": [{"kind": "image", "role": "logo", "name": "logo",
                    "prompt": "a green leaf logo", "alt": "Sprout logo"},
                   {"kind": "image", "role": "hero", "name": "hero",
                    "prompt": "houseplants on a windowsill", "alt": "Plants"}],
        "call_to_action": "Add a plant", "language": "en",
    }
    plan.update(changes)
    return plan


def planner_for(server: FakeOpenAI, **options: Any) -> LLMPlanner:
    return LLMPlanner(server.base_url, server.model, "test-key", timeout=5, **options)


def formats(server: FakeOpenAI) -> list[str]:
    """How each recorded request asked for JSON."""
    return [r["response_format"]["type"] if "response_format" in r
            else "tools" if "tools" in r else "prompt" for r in server.requests]


def test_plan_from_a_json_schema_answer(server: FakeOpenAI) -> None:
    server.script(reply(sprout_plan()))
    planner = planner_for(server)

    spec = planner.plan(SPROUT)

    assert isinstance(spec, AppSpec)
    assert spec.kind == Kind.crud and spec.slug == "sprout"
    assert [e.name for e in spec.entities] == ["plant"]
    assert [f.name for f in spec.entities[0].fields] == ["name", "location",
                                                         "days_between_waterings"]
    assert spec.entities[0].fields[2].max == 60
    assert spec.description == SPROUT
    sent = server.requests[0]
    assert sent["model"] == server.model
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "AppSpec"
    assert "kind" in sent["response_format"]["json_schema"]["schema"]["properties"]
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert sent["messages"][1]["content"] == SPROUT
    assert planner.mode == "json_schema"


def test_json_schema_rejected_with_llama_cpps_500_is_not_supported_and_remembered(
        tmp_path: Any) -> None:
    from appforge.agent import llm_endpoint

    with FakeOpenAI(rejects_json_schema=True) as server:
        server.script(reply(sprout_plan()), reply(sprout_plan()))
        planner = planner_for(server, cache_dir=tmp_path)

        assert planner.plan(SPROUT).slug == "sprout"
        # the probe met the 500 once; the plan was asked the way the endpoint takes
        assert formats(server) == ["json_object"]
        assert server.requests[0]["response_format"]["schema"]["properties"]["kind"]
        caps = planner.capabilities
        assert caps.json_schema is False and caps.json_object is True
        assert "HTTP 500" in caps.notes["json_schema"]
        probes = len(server.probes)

        # A later build, in a new process (nothing in memory), starts from what was kept.
        llm_endpoint.forget_all()
        planner_for(server, cache_dir=tmp_path).plan(SPROUT)
        assert formats(server) == ["json_object", "json_object"]
        assert len(server.probes) == probes


def test_a_500_for_json_schema_on_an_unprobed_endpoint_is_not_supported(
        server: FakeOpenAI) -> None:
    from appforge.agent import llm_endpoint

    llm_endpoint.remember(llm_endpoint.Capabilities(server.base_url, server.model), None)
    server.script(error(500, LLAMA_CPP_REJECTION), reply(sprout_plan()))
    planner = planner_for(server)

    assert planner.plan(SPROUT).slug == "sprout"
    assert formats(server) == ["json_schema", "json_object"]  # the rejection is not retried
    assert any("does not take json_schema" in note for note in planner.last_notes)
    assert planner.capabilities.json_schema is False


def test_tool_call_when_no_response_format_is_taken(server: FakeOpenAI) -> None:
    server.script(error(400, "response_format is not supported"),
                  error(400, "response_format json_object is not supported"),
                  tool_call(sprout_plan()))
    planner = planner_for(server)

    assert planner.plan(SPROUT).entities[0].name == "plant"
    assert formats(server) == ["json_schema", "json_object", "tools"]
    tools = server.requests[2]
    assert tools["tools"][0]["function"]["name"] == "submit_plan"
    assert tools["tool_choice"] == {"type": "function", "function": {"name": "submit_plan"}}
    assert planner.mode == "tools"


def test_plain_prompt_when_nothing_structured_is_taken() -> None:
    with FakeOpenAI(tools=False) as server:
        server.script(error(422, "response_format: unknown field"),
                      error(422, "response_format: unknown field"),
                      reply("```json\n" + json.dumps(sprout_plan()) + "\n```"))

        assert planner_for(server).plan(SPROUT).slug == "sprout"
        # the probe found that tools are ignored; the other two were refused when asked
        assert formats(server) == ["json_schema", "json_object", "prompt"]


def test_an_answer_with_no_json_is_asked_again_with_the_problem(server: FakeOpenAI) -> None:
    server.script(reply("I would build a lovely plant app for you!"), reply(sprout_plan()))
    planner = planner_for(server)

    spec = planner.plan(SPROUT)

    assert spec.name == "Sprout" and spec.entities[0].fields[2].max == 60
    retry = server.requests[1]["messages"]
    assert [m["role"] for m in retry] == ["system", "user", "assistant", "user"]
    assert retry[2]["content"] == "I would build a lovely plant app for you!"
    assert "no JSON object" in retry[3]["content"]
    assert planner.last_notes[0].startswith("from the model: name, kind crud, plant (")


def test_broken_json_keeps_what_came_before_the_break(server: FakeOpenAI) -> None:
    server.script(reply('Here is the plan: {"name": "Sprout", "kind": crud}'))
    planner = planner_for(server)

    spec = planner.plan(SPROUT)

    assert spec.name == "Sprout" and spec.kind == Kind.crud  # the kind from the rules
    assert len(server.requests) == 1
    assert planner.last_notes[0].startswith("from the model: name; from the rules: kind crud")
    assert "plant (" in planner.last_notes[0]  # the rules' entity, said to be the rules'


def test_weak_answers_keep_what_is_valid_and_fill_the_rest_from_the_rules(
        server: FakeOpenAI) -> None:
    weak = {"name": "Sprout", "kind": "crud", "entities": [
        {"name": "plant", "fields": [
            {"name": "name", "type": "text"}, {"name": "name", "type": "string"},
            {"name": "Days between waterings", "type": "integer", "min": 1, "max": 60},
            {"name": "mood", "type": "emotion"}, {"name": "id", "type": "integer"}]},
        {"name": "pot", "fields": []}],
        "features": [{"title": "Reminders", "text": "Never forget."}] * 6,
        "assets": [{"role": "hero", "name": "hero", "prompt": "plants"},
                   {"role": "mascot", "name": "x", "prompt": "a frog"}]}
    server.script(reply(weak))
    planner = planner_for(server)

    spec = planner.plan(SPROUT)

    assert len(server.requests) == 1  # nothing asked again: what was valid was kept
    fields = {f.name: f.type.value for f in spec.entities[0].fields}
    assert fields == {"name": "text", "days_between_waterings": "integer", "mood": "text"}
    assert [e.name for e in spec.entities] == ["plant"]
    assert {a.role for a in spec.assets} == {"hero", "logo"}  # the logo from the rules
    notes = " | ".join(planner.last_notes)
    for said in ("dropped 5 repeated items of features", "made it text",
                 "dropped pot: the model gave it no fields", "dropped the field 'id'"):
        assert said in notes
    origin = planner.last_notes[0]
    assert origin.startswith("from the model: name, kind crud, plant (name, "
                             "days_between_waterings, mood)")
    assert "from the rules: " in origin and "logo image" in origin


def test_an_invented_kind_and_an_empty_plan_come_from_the_rules(server: FakeOpenAI) -> None:
    server.script(reply({"name": "Sprout", "kind": "plant-tracker-pro"}), reply("{}"), "{}",
                  "{}")
    planner = planner_for(server)

    spec = planner.plan(SPROUT)
    assert spec.kind == Kind.crud and spec.entities  # the rules' reading of the description
    assert "'plant-tracker-pro' is not one appforge builds" in " ".join(planner.last_notes)

    blueprint = planner.blueprint.plan(SPROUT)
    assert planner.plan(SPROUT) == blueprint  # three empty answers: the whole plan is the rules'
    assert planner.last_notes[0] == ("from the rules: the whole plan (the model gave none that "
                                     "could be used)")
    assert "attempt 3: the answer held nothing usable" in planner.last_notes[-2]


def test_a_plan_cut_off_at_the_length_limit_keeps_its_complete_items(
        server: FakeOpenAI) -> None:
    text = json.dumps(sprout_plan())
    server.script(reply(text[:text.index('"days_between')], finish_reason="length"))
    planner = planner_for(server)

    spec = planner.plan(SPROUT)

    assert [f.name for f in spec.entities[0].fields] == ["name", "location"]
    assert len(server.requests) == 1 and server.requests[0]["max_tokens"] == 1200
    notes = " | ".join(planner.last_notes)
    assert "reached its limit of 1200 tokens (APPFORGE_LLM_MAX_TOKENS_PLAN)" in notes
    assert "cut off or broken; kept it up to its last complete item" in notes


def test_missing_parts_are_filled_from_the_blueprint_with_notes(server: FakeOpenAI) -> None:
    sparse = {"name": "Sprout", "kind": "crud", "entities": [
        {"name": "plant", "fields": [{"name": "nickname", "type": "string"}]}]}
    server.script(reply(sparse))
    planner = planner_for(server)

    spec = planner.plan(SPROUT)

    entity = spec.entities[0]
    assert (entity.plural, entity.label, entity.label_plural) == ("plants", "Plant", "Plants")
    assert entity.fields[0].label == "Nickname" and entity.fields[0].type == "text"
    assert spec.slug == "sprout" and spec.title == "Sprout"
    assert spec.tagline  # from the blueprint
    assert spec.theme.primary != "#2563eb"  # the blueprint's green, not the default blue
    assert {a.role for a in spec.assets} >= {"logo", "hero"}
    notes = " | ".join(planner.last_notes)
    for part in ("theme", "tagline", "logo asset", "hero asset", "call to action"):
        assert part in notes


def test_endpoint_down_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the planner calls it
    planner = LLMPlanner(f"http://127.0.0.1:{port}/v1", "m", "", timeout=2, max_retries=0)

    with pytest.raises(LLMUnavailable) as down:
        planner.plan(SPROUT)

    assert isinstance(down.value, AppforgeError)
    message = str(down.value)
    assert message.startswith(f"the LLM endpoint at http://127.0.0.1:{port}/v1 is not answering")
    assert "Traceback" not in message and down.value.hint


def test_a_slow_endpoint_times_out_clearly(server: FakeOpenAI) -> None:
    server.script(slow(1.5, reply(sprout_plan())))
    planner = LLMPlanner(server.base_url, server.model, "k", timeout=0.3, max_retries=0)

    with pytest.raises(LLMUnavailable, match="did not answer within 0.3 s"):
        planner.plan(SPROUT)


def test_rate_limit_is_retried(server: FakeOpenAI) -> None:
    server.script(rate_limited(), reply(sprout_plan()))

    assert planner_for(server).plan(SPROUT).slug == "sprout"
    assert len(server.requests) == 2


def test_rate_limit_on_a_known_endpoint_uses_the_client_backoff(server: FakeOpenAI) -> None:
    server.script(reply(sprout_plan()), rate_limited(), rate_limited(), reply(sprout_plan()))
    planner = planner_for(server)
    planner.plan(SPROUT)

    assert planner.plan(SPROUT).slug == "sprout"
    assert formats(server) == ["json_schema"] * 4


def test_wrong_api_key_is_a_clear_error(server: FakeOpenAI) -> None:
    server.script(error(401, "Incorrect API key provided"))

    with pytest.raises(LLMUnavailable, match=r"refused the API key \(401\)"):
        planner_for(server).plan(SPROUT)


def test_empty_description_is_refused_before_any_request(server: FakeOpenAI) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        planner_for(server).plan("   ")
    assert server.requests == []


def test_landing_plan_gets_blueprint_features_and_no_entities(server: FakeOpenAI) -> None:
    description = "A landing page for Bean There, a small coffee shop in Lisbon."
    server.script(reply({"name": "Bean There", "kind": "landing", "title": "Bean There",
                         "entities": [{"name": "coffee", "fields": [{"name": "name"}]}]}))
    planner = planner_for(server)

    spec = planner.plan(description)

    assert spec.kind == Kind.landing and spec.entities == [] and spec.features
    assert any("dropped the entities" in note for note in planner.last_notes)


def test_fake_server_lists_its_model(server: FakeOpenAI) -> None:
    import openai

    client = openai.OpenAI(base_url=server.base_url, api_key="k")
    assert [m.id for m in client.models.list()] == [server.model]


def test_doctor_checks_the_endpoint_and_the_model(server: FakeOpenAI, tmp_path: Any) -> None:
    from appforge.config import Settings
    from appforge.doctor import _llm

    ok = _llm(Settings(home=tmp_path, llm_base_url=server.base_url, llm_model=server.model))
    assert ok.status == "ok" and server.model in ok.detail
    wrong = _llm(Settings(home=tmp_path, llm_base_url=server.base_url, llm_model="nope"))
    assert wrong.status == "fail" and "does not serve nope" in wrong.detail
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    down = _llm(Settings(home=tmp_path, llm_base_url=closed, llm_model="m"))
    assert down.status == "fail" and "does not answer" in down.detail
    assert _llm(Settings(home=tmp_path)).detail.startswith("blueprint planner")


def test_doctor_shows_what_the_endpoint_takes_probed_once(tmp_path: Any) -> None:
    from appforge.agent import llm_endpoint
    from appforge.config import Settings
    from appforge.doctor import _llm

    with FakeOpenAI(rejects_json_schema=True, tools=False, context=8192) as server:
        settings = Settings(home=tmp_path, llm_base_url=server.base_url, llm_model=server.model)
        first = _llm(settings).detail
        probes = len(server.probes)
        llm_endpoint.forget_all()
        again = _llm(settings).detail

    assert "json_schema no (HTTP 500: " in first and "Input should be 'text'" in first
    assert "json_object yes" in first and "tools no (answered without a tool call)" in first
    assert "streaming yes" in first and "context 8192 tokens" in first and "probed now" in first
    assert probes == 4 and len(server.probes) == probes  # the second look read the kept entry
    assert "kept from an earlier probe" in again


def test_a_custom_kind_with_no_file_planned_gives_way_to_the_rules_kind(
        server: FakeOpenAI) -> None:
    server.script(reply({"name": "Sprout", "kind": "custom", "tagline": "Water on time."}))
    planner = planner_for(server)

    spec = planner.plan(SPROUT)

    assert spec.kind == Kind.crud and spec.entities and spec.tagline == "Water on time."
    assert "chose a custom app but planned no file; used the rules' kind 'crud'" in " ".join(
        planner.last_notes)
    assert planner.last_notes[0].startswith("from the model: name, tagline; from the rules: "
                                            "kind crud, plant (")
