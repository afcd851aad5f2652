"""Ctrl-C with a step still busy in a worker thread (as LangGraph runs a build's nodes): the step's
registered stop is called at once, and a step that ignores it is not waited for: the process
ends after the grace period, or at once on a second Ctrl-C. Each case runs in a process of its
own, which gets a real SIGINT; the waits are bounded only as a safety net. And ``appforge chat``:
a Ctrl-C while the model plans its turn ends the chat, and the model's generation, at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import appforge_env, free_port
from tests.fake_openai import FakeOpenAI, dripping, reply

SAFETY_S = 60
#: A command whose step ignores its stop (a Docker build, a picture being drawn).
STUCK = '''
import sys, threading, time
from appforge import interrupts
interrupts.install(grace=float(sys.argv[1]))
stopped, done = threading.Event(), threading.Event()
def step():
    with interrupts.on_interrupt(stopped.set):
        print("ready", flush=True)  # only once its stop is registered: a Ctrl-C may follow
        time.sleep(600)
    done.set()
worker = threading.Thread(target=step)  # not a daemon: sys.exit would wait for it
try:  # before the step starts: its "ready" may bring the Ctrl-C at once
    worker.start()
    done.wait()  # as LangGraph waits for the node under way
except KeyboardInterrupt:
    print("stop called:", stopped.wait(SAFETY), flush=True)
    print("waiting", flush=True)
    done.wait()
'''.replace("SAFETY", str(SAFETY_S))


def start(grace: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", STUCK, str(grace)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def ended(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=SAFETY_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"still running {SAFETY_S} s after Ctrl-C") from None
    return proc.returncode, out, err


def test_a_step_that_ignores_ctrl_c_is_not_waited_for_after_the_grace_period() -> None:
    proc = start(grace=0.5)
    proc.send_signal(signal.SIGINT)

    code, out, err = ended(proc)

    assert code == 130
    assert "stop called: True" in out  # the step was asked to stop at once
    assert "a step still running after 0.5 s was not waited for" in err
    assert "appforge up" in err and "Traceback" not in err


def test_a_second_ctrl_c_ends_at_once() -> None:
    proc = start(grace=SAFETY_S * 10)
    proc.send_signal(signal.SIGINT)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("stop called: True")
    assert proc.stdout.readline() == "waiting\n"
    proc.send_signal(signal.SIGINT)

    code, _out, err = ended(proc)

    assert code == 130 and "interrupted again (Ctrl-C)" in err and "Traceback" not in err


def test_ctrl_c_while_a_chat_turn_plans_ends_the_chat_and_the_generation(tmp_path: Path) -> None:
    with FakeOpenAI(model="local-model") as server:
        server.script(dripping(0.2, reply(" ".join(f"thought {i}," for i in range(2000)))))
        env = appforge_env(tmp_path / "home", "afchatintr", free_port()) | {
            "APPFORGE_LLM_BASE_URL": server.base_url, "APPFORGE_LLM_MODEL": server.model,
            "APPFORGE_LLM_PLAN_DEADLINE": "0",
            "APPFORGE_DOCKER_HOST": "unix:///nonexistent/docker.sock"}
        proc = subprocess.Popen([sys.executable, "-m", "appforge.cli", "chat"], env=env,
                                text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write("a board for my chores\n")
        proc.stdin.flush()
        end = time.monotonic() + SAFETY_S
        while not (server.requests and server.generating):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < end, "the model was never asked"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)

        code, _out, err = ended(proc)
        assert server.wait_idle()  # the closed stream stopped the generation

    assert code == 130 and "interrupted (Ctrl-C)" in err and "Traceback" not in err
