"""The live state of an app's container, from what the engine reports.

The ``State`` dicts and events are recorded from Docker 20.10 (API 1.41) on containers with the
restart policy appforge gives apps (``unless-stopped``): one exiting at once on every start, one
killed for memory on every start, one killed for memory once and running again, one stopped.
Times are moved to a fixed clock, so each case says when it is read.
"""

from __future__ import annotations

from typing import Any

import pytest

from appforge.sandbox import live_state
from appforge.sandbox.live_state import classify, describe, needs_attention, tone

NOW = 1_796_001_200.0  # 2026-11-30T01:13:20Z
MiB = 2**20


def _stamp(seconds_ago: float) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(NOW - seconds_ago, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}123Z"


def _attrs(status: str, restarts: int = 0, exit_code: int = 0, oom: bool = False,
           started_ago: float = 600, finished_ago: float | None = None,
           health: str | None = "healthy") -> dict[str, Any]:
    state: dict[str, Any] = {
        "Status": status, "Running": status in ("running", "restarting"),
        "Paused": False, "Restarting": status == "restarting", "OOMKilled": oom, "Dead": False,
        "Pid": 0 if status != "running" else 4242, "ExitCode": exit_code, "Error": "",
        "StartedAt": _stamp(started_ago),
        "FinishedAt": _stamp(finished_ago) if finished_ago is not None
        else "0001-01-01T00:00:00Z"}
    if health:
        state["Health"] = {"Status": health, "FailingStreak": 0, "Log": []}
    return {"Id": "6e756cf7edce", "State": state, "RestartCount": restarts,
            "HostConfig": {"Memory": 64 * MiB, "RestartPolicy": {"Name": "unless-stopped"}}}


def _event(action: str, seconds_ago: float, exit_code: int | None = None) -> dict[str, Any]:
    attributes = {"image": "appforge/python:3.11-bookworm", "name": "aft-contacts-v1"}
    if exit_code is not None:
        attributes["exitCode"] = str(exit_code)
    moment = NOW - seconds_ago
    return {"status": action, "id": "6e756cf7edce", "Type": "container", "Action": action,
            "Actor": {"ID": "6e756cf7edce", "Attributes": attributes}, "scope": "local",
            "time": int(moment), "timeNano": int(moment * 1e9)}


def test_a_crash_loop_the_events_no_longer_hold_is_seen_from_the_restart_count() -> None:
    # Exits with code 3 within 30 ms of each start; the engine waits out its backoff. The engine
    # keeps 256 events, so on a busy machine the exits of a minute ago are gone already.
    attrs = _attrs("restarting", restarts=13, exit_code=3, started_ago=12.030,
                   finished_ago=12.0, health=None)
    live = classify(attrs, [], NOW)
    assert live["live"] == "crash-looping"
    assert live["restarts"] == 13 and live["exit_code"] == 3 and not live["oom_killed"]
    assert live["reason"] == "restarted 13 times, the last run lasted 0 s, last exit code 3"
    assert tone(live, "running") == "bad" and needs_attention(live, "running")


def test_three_exits_in_the_events_are_a_crash_loop_even_while_it_runs_for_a_moment() -> None:
    attrs = _attrs("running", restarts=4, started_ago=1, finished_ago=1.4, health="starting")
    events = [_event("die", 110, 1), _event("die", 50, 1), _event("die", 1.4, 1)]
    live = classify(attrs, events, NOW)
    assert live["live"] == "crash-looping"
    assert live["exit_code"] == 1  # the engine says 0 while it runs: the exit is in the events
    assert live["reason"] == "exited 3 times in 2 min, last exit code 1"
    assert describe(live, "running") == ("running (intended) / crash-looping (live): exited 3 "
                                         "times in 2 min, last exit code 1")


def test_a_crash_loop_is_over_once_the_app_has_run_ten_seconds() -> None:
    events = [_event("die", 110, 1), _event("die", 50, 1), _event("die", 31, 1)]
    attrs = _attrs("running", restarts=4, started_ago=30, finished_ago=31)
    live = classify(attrs, events, NOW)
    assert live["live"] == "running" and live["exit_code"] == 1
    assert live["reason"] == "restarted 4 times; up 30 s after a crash loop (3 exits in 5 min)"


def test_an_app_killed_for_memory_on_every_start_is_a_crash_loop_that_says_so() -> None:
    attrs = _attrs("restarting", restarts=12, exit_code=137, oom=True, started_ago=15.2,
                   finished_ago=13.0, health=None)
    events = [_event("oom", 13.03), _event("die", 13.0, 137)]
    live = classify(attrs, events, NOW)
    assert live["live"] == "crash-looping" and live["oom_killed"]
    assert live["reason"].endswith("last exit code 137 (killed for memory)")


def test_killed_for_memory_once_and_back_is_out_of_memory_for_a_while_then_running() -> None:
    # The engine keeps OOMKilled on the state while the container runs again.
    attrs = _attrs("running", restarts=1, oom=True, started_ago=39, finished_ago=40)
    events = [_event("oom", 40.05), _event("die", 40, 137)]
    live = classify(attrs, events, NOW)
    assert live["live"] == "out-of-memory"
    assert (live["restarts"], live["exit_code"], live["oom_killed"]) == (1, 137, True)
    assert live["reason"] == "killed for memory 40 s ago (limit 64 MiB); running again, 1 restart"
    assert tone(live, "running") == "warn"  # the engine brought it back
    # Ten minutes on, the kill is history: it runs, and the facts still say what happened.
    later = classify(attrs, events, NOW + 600)
    assert later["live"] == "running" and later["oom_killed"] and later["restarts"] == 1
    assert later["reason"] == "restarted 1 time"
    assert not needs_attention(later, "running")


def test_a_start_by_hand_after_a_crash_loop_leaves_the_loop_and_the_kill_behind() -> None:
    # Killed for memory, then crashing on every start; then a restore started it again by hand
    # (`docker restart`: the engine's restart count goes back to 0, OOMKilled stays set).
    attrs = _attrs("running", restarts=0, oom=True, started_ago=3, finished_ago=3.1)
    events = [_event("oom", 90), _event("die", 90, 137)] + [
        _event("die", ago, 1) for ago in (30, 20, 10, 3.1)]
    live = classify(attrs, events, NOW)
    assert live["live"] == "running" and not live["oom_killed"]
    assert live["exits_recent"] == 0 and live["restarts"] == 0
    # The same state with the engine's own restart (count 1) is still the loop it was.
    again = classify(_attrs("running", restarts=1, oom=True, started_ago=3, finished_ago=3.1),
                     events, NOW)
    assert again["live"] == "crash-looping"


def test_an_app_left_down_after_out_of_memory_kills_is_out_of_memory_however_long_ago() -> None:
    # What on-failure:3 left (before apps restarted unless-stopped): exited for good.
    attrs = _attrs("exited", restarts=3, exit_code=137, oom=True, started_ago=3605,
                   finished_ago=3600, health="unhealthy")
    live = classify(attrs, [], NOW)
    assert live["live"] == "out-of-memory"
    assert live["reason"] == "killed for memory 60 min ago (limit 64 MiB); not restarted, " \
        "3 restarts"
    assert tone(live, "running") == "bad"


def test_a_stopped_app_is_stopped_and_only_wrong_when_it_should_run() -> None:
    live = classify(_attrs("exited", exit_code=143, finished_ago=20, health="unhealthy"), [], NOW)
    assert live["live"] == "stopped" and live["exit_code"] == 143
    assert tone(live, "stopped") == "off" and not needs_attention(live, "stopped")
    assert tone(live, "running") == "bad" and needs_attention(live, "running")


def test_no_container_is_missing() -> None:
    live = classify(None, [], NOW)
    assert live["live"] == "missing" and live["restarts"] == 0
    assert needs_attention(live, "running") and tone(live, "stopped") == "off"


@pytest.mark.parametrize(("health", "word", "shade"), [
    ("healthy", "running", "ok"), (None, "running", "ok"), ("starting", "starting", "warn"),
    ("unhealthy", "unhealthy", "bad")])
def test_a_running_container_is_what_its_healthcheck_says(health: str | None, word: str,
                                                          shade: str) -> None:
    live = classify(_attrs("running", health=health), [], NOW)
    assert live["live"] == word and tone(live, "running") == shade
    assert live["exit_code"] is None and live["restarts"] == 0


def test_one_crash_is_restarting_until_it_has_run_ten_seconds() -> None:
    waiting = _attrs("restarting", restarts=1, exit_code=1, started_ago=900, finished_ago=0.05)
    assert classify(waiting, [_event("die", 0.05, 1)], NOW)["live"] == "restarting"
    back = _attrs("running", restarts=1, started_ago=3, finished_ago=3.1, health="starting")
    live = classify(back, [_event("die", 3.1, 1)], NOW)
    assert live["live"] == "restarting"
    assert live["reason"] == "started again 3 s ago after 1 restart, last exit code 1"
    assert classify(back, [_event("die", 3.1, 1)], NOW + 30)["live"] == "starting"


def test_exits_older_than_the_window_do_not_make_a_crash_loop() -> None:
    events = [_event("die", 900, 1), _event("die", 800, 1), _event("die", 700, 1)]
    live = classify(_attrs("running", restarts=3, started_ago=690, finished_ago=700), events, NOW)
    assert live["live"] == "running" and live["exits_recent"] == 0


def test_without_an_engine_the_state_is_unknown_and_nothing_raises() -> None:
    import docker

    assert live_state.read(None, "aft-contacts-v1")["live"] == "unknown"
    client = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41",
                                 timeout=2)
    live = live_state.read(client, "aft-contacts-v1")
    assert live["live"] == "unknown" and "did not answer" in live["reason"]
    assert tone(live, "running") == "off" and not needs_attention(live, "running")


def test_beside_the_intended_status_the_live_state_carries_its_tone_and_summary() -> None:
    live = classify(_attrs("exited", exit_code=0, finished_ago=20), [], NOW)
    shown = live_state.beside(live, "running")
    assert shown["intended"] == "running" and shown["tone"] == "bad" and shown["attention"]
    assert shown["summary"] == "running (intended) / stopped (live): exited, exit code 0"
