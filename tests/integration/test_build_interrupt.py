"""Ctrl-C during a build: the real CLI, in a process of its own, planning or coding against a slow
fake OpenAI endpoint, gets a SIGINT. It ends saying it was interrupted, the model's generation
stops with it (the fake server counts what is still being generated), the version is recorded as
failed, and no test container is left behind.

The waits are bounded only as a safety net: a build that ignored the Ctrl-C would otherwise hang
the suite for as long as the model kept writing (minutes).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from appforge.sandbox.engine import LABEL
from tests.fake_openai import FakeOpenAI, dripping, reply, tool_call
from tests.integration.conftest import Installation
from tests.integration.test_build_llm import BOARD
from tests.integration.test_build_llm_coder import llm_env

pytestmark = pytest.mark.docker

#: An answer the fake server takes minutes to stream (0.2 s between pieces of 16 characters).
ENDLESS = dripping(0.2, reply(" ".join(f"thought {i}," for i in range(2000))))
#: Safety nets, not timings: far above what the steps take, far below what ignoring takes.
SAFETY_S = 60
HANG = 'def test_hangs():\n    import time\n    time.sleep(600)\n'


def build(installation: Installation, server: FakeOpenAI, description: str,
          **settings: str) -> subprocess.Popen[str]:
    env = llm_env(installation, server, **settings)
    return subprocess.Popen([sys.executable, "-m", "appforge.cli", "build", description],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(ready: Callable[[], bool], proc: subprocess.Popen[str], what: str,
               limit_s: float = 600) -> None:
    """Poll ``ready`` while the build runs (bounded: a hung build fails the test)."""
    end = time.monotonic() + limit_s
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the build ended before {what}:\n{out}\n{err}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"no {what} within {limit_s} s")
        time.sleep(0.1)


def interrupt(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C; the exit status and what the build printed."""
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=SAFETY_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the build was still running {SAFETY_S} s after Ctrl-C:\n"
                             f"{out}\n{err}") from None
    return proc.returncode, out + err


def test_ctrl_c_while_planning_ends_the_build_and_the_generation(
        installation: Installation) -> None:
    with FakeOpenAI(model="local-model") as server:
        server.script(ENDLESS)
        proc = build(installation, server, "a board for my chores", llm_plan_deadline="0")
        wait_until(lambda: bool(server.requests) and server.generating > 0, proc, "the plan")
        code, printed = interrupt(proc)
        assert server.wait_idle()  # the closed stream stopped the generation
    assert code == 130, printed
    assert "interrupted (Ctrl-C)" in printed and "Traceback" not in printed


def test_ctrl_c_in_the_coder_ends_the_build_and_the_version_is_failed(
        installation: Installation) -> None:
    plan = dict(BOARD, name="Haltboard", slug="haltboard", title="Haltboard")
    with FakeOpenAI(model="local-model") as server:
        server.script(reply(plan), ENDLESS)
        proc = build(installation, server, "a board to halt", coder="llm",
                     llm_coder_deadline="0")
        wait_until(lambda: len(server.requests) == 2 and server.generating > 0, proc,
                   "the coder's first call")
        code, printed = interrupt(proc)
        assert server.wait_idle()
    assert code == 130, printed
    assert "interrupted (Ctrl-C)" in printed and "Traceback" not in printed
    shown: Any = installation.run_json("show", "haltboard")
    assert [(v["status"], v["error"]) for v in shown["versions"]] == [
        ("failed", "interrupted (Ctrl-C)")]
    installation.run_json("destroy", "haltboard", "--yes")


def test_ctrl_c_while_the_coder_runs_the_tests_kills_their_container(
        installation: Installation, docker_client: Any) -> None:
    plan = dict(BOARD, name="Sleepboard", slug="sleepboard", title="Sleepboard")
    with FakeOpenAI(model="local-model") as server:
        server.script(reply(plan),
                      tool_call({"path": "tests/test_hang.py", "content": HANG},
                                name="write_file"),
                      tool_call({}, name="run_tests"))
        proc = build(installation, server, "a board that sleeps", coder="llm",
                     llm_coder_deadline="0", api_check_examples="1")

        def testing() -> bool:
            return bool(docker_client.containers.list(filters={"label": [
                f"{LABEL}.instance={installation.settings.instance}", f"{LABEL}=test"]}))

        wait_until(testing, proc, "the test container")
        code, printed = interrupt(proc)
        assert server.wait_idle()
    assert code == 130, printed
    assert "interrupted (Ctrl-C)" in printed and "Traceback" not in printed
    assert not testing()
    installation.run_json("destroy", "sleepboard", "--yes")
