"""The chat's conversation logic without a deploy: plans wait for approval (a LangGraph
interrupt), answers edit or cancel them, the thread is saved and continues in a new session, the
LLM revises plans through the real openai client, and a failed build keeps the plan waiting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from appforge.chat.graph import answer_of
from appforge.chat.session import ChatSession
from appforge.config import Settings
from appforge.errors import AppNotFound, InvalidInput
from tests.fake_openai import FakeOpenAI, reply
from tests.unit.test_llm_planner import sprout_plan

SPROUT = "a plant-watering tracker called Sprout. Each plant has a name and a location"


def test_answers() -> None:
    assert answer_of("Yes!")["action"] == "approve"
    assert answer_of("looks good")["action"] == "approve"
    assert answer_of("cancel")["action"] == "cancel"
    assert answer_of("no")["action"] == "cancel"
    assert answer_of("yes, but make it dark") == {"action": "edit", "said": "yes, but make it dark",
                                                 "text": "yes, but make it dark"}


def test_plan_waits_edits_and_cancels(settings: Settings) -> None:
    chat = ChatSession.open(settings)
    first = chat.send(SPROUT)
    assert first.pending is not None and first.url is None
    assert "Plants: name (text), location (text, optional)" in first.text
    assert first.pending["host"] == "sprout.localhost"
    edited = chat.send("add a category field and make it dark")
    assert edited.pending["spec"]["theme"]["mode"] == "dark"
    assert "Plants: + category (text, optional)" in edited.pending["changes"]
    renamed = chat.send("call it Leafy")  # nothing is live yet: the address follows the name
    assert renamed.pending["spec"]["slug"] == "leafy" and chat.slug == "leafy"
    assert renamed.pending["host"] == "leafy.localhost"

    # Quit and come back: the same thread, the same plan still waiting.
    later = ChatSession.open(settings, app="leafy")
    assert later.thread_id == chat.thread_id
    assert later.pending()["spec"] == renamed.pending["spec"]
    roles = [m["role"] for m in later.history()]
    assert roles == ["user", "assistant"] * 3
    cancelled = later.send("no")
    assert cancelled.pending is None and "not changed" in cancelled.text
    assert later.pending() is None


def test_a_change_nobody_understands_keeps_the_plan(settings: Settings) -> None:
    chat = ChatSession.open(settings)
    chat.send(SPROUT)
    answer = chat.send("sing me a song")
    assert "could not read a change" in answer.text and answer.pending is not None
    assert answer.pending["spec"]["name"] == "Sprout"


def test_bad_input(settings: Settings) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        ChatSession.open(settings).send("  ")
    with pytest.raises(InvalidInput, match="empty"):  # nothing but a bell and an escape
        ChatSession.open(settings).send("\x07\x1b[2J")
    said: list[dict] = []
    pasted = ChatSession.open(settings).send(SPROUT.replace("Sprout", "\x1b[1mSprout\x1b[0m"),
                                             on_event=said.append)
    assert pasted.pending["spec"]["name"] == "Sprout"
    assert any("removed 8 control character(s)" in e.get("message", "") for e in said)
    with pytest.raises(AppNotFound):
        ChatSession.open(settings, app="nothing-here")
    chat = ChatSession.open(settings)
    chat.send(SPROUT)
    bad = chat.send("use the domain -bad-.example.com")
    assert "invalid domain" in bad.text and bad.pending["spec"]["domain"] is None


def test_failed_build_keeps_the_plan_waiting(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", instance="afunit", http_port=1,
                        docker_host="unix:///nonexistent/docker.sock")
    chat = ChatSession.open(settings, yes=True)
    answer = chat.send(SPROUT)
    assert "The build failed: the Docker engine is not reachable" in answer.text
    assert answer.pending is not None  # nothing lost: "yes" tries again
    again = chat.send("yes")
    assert "The build failed" in again.text and again.pending is not None


def test_llm_revises_the_plan(tmp_path: Path) -> None:
    with FakeOpenAI() as server:
        settings = Settings(home=tmp_path / "home", instance="afunit", http_port=1,
                            llm_base_url=server.base_url, llm_model=server.model,
                            llm_api_key="test-key", planner="llm")
        server.script(reply(sprout_plan()))
        chat = ChatSession.open(settings)
        first = chat.send("A plant-watering tracker called Sprout")
        assert first.pending["spec"]["entities"][0]["fields"][2]["name"] == \
            "days_between_waterings"
        revised = sprout_plan()
        revised["entities"][0]["fields"].append(
            {"name": "category", "label": "Category", "type": "text", "required": False})
        server.script(reply(revised))
        second = chat.send("track what kind of plant each one is")
        assert "Plants: + category (text, optional)" in second.pending["changes"]
        sent: list[dict[str, Any]] = server.requests[-1]["messages"]
        asked = sent[-1]["content"]
        assert "track what kind of plant each one is" in asked
        current = json.loads(asked.split("```json\n", 1)[1].split("\n```", 1)[0])
        assert current["name"] == "Sprout"  # the current plan went along, as data
        # The model kept the pictures: same sizes and seeds, so nothing is redrawn.
        assert second.pending["spec"]["assets"] == first.pending["spec"]["assets"]
        assert second.pending["spec"]["slug"] == "sprout"
        server.script(reply(dict(revised, theme_mode="dark")))
        third = chat.send("make it dark and purple")
        assert third.pending["spec"]["theme"]["mode"] == "dark"
        assert third.pending["spec"]["theme"]["primary"] != first.pending["spec"]["theme"]["primary"]
