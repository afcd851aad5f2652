"""Ctrl-C during a build: what is under way stops, and the command ends within seconds.

Python raises ``KeyboardInterrupt`` in the main thread only, but a build's steps run in
LangGraph's worker threads, and the main thread, on its way out, waits for the step under way to
end: an LLM coder session could go on for minutes after the Ctrl-C. So the first Ctrl-C also stops
that step's waits at once: every model call is cancelled (its connection closed, so a streaming
server stops generating; :func:`appforge.agent.llm_guard.cancel_all`), and whatever registered
with :func:`on_interrupt` is stopped (a running test container is killed). Should a step still be
busy :data:`GRACE_S` seconds later (a Docker build, a picture being drawn), the process ends
without waiting for it, and says so; a second Ctrl-C ends it at once. What such a step leaves (a
version still marked as building, a stray container) is what a killed build leaves, and
``appforge up`` (or the next build of the app) repairs it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: Seconds a step may take to stop after a Ctrl-C before the process ends without it.
GRACE_S = 5.0
#: What the command says when it ends this way.
MESSAGE = "interrupted (Ctrl-C)"

_EVENT = threading.Event()
_STOPS: list[Callable[[], None]] = []
_LOCK = threading.Lock()


def interrupted() -> bool:
    """Whether this process was interrupted."""
    return _EVENT.is_set()


@contextmanager
def on_interrupt(stop: Callable[[], None]) -> Iterator[None]:
    """While inside, a Ctrl-C calls ``stop`` (from the main thread; it must not block)."""
    with _LOCK:
        _STOPS.append(stop)
    try:
        if _EVENT.is_set():
            _call(stop)
        yield
    finally:
        with _LOCK:
            _STOPS.remove(stop)


def interrupt(reason: str = MESSAGE) -> None:
    """Stop what is under way: the model calls and whatever registered a stop."""
    _EVENT.set()
    if "appforge.agent.llm_guard" in sys.modules:  # no guard can exist before it is imported
        from appforge.agent.llm_guard import cancel_all

        cancel_all(reason)
    with _LOCK:
        stops = list(_STOPS)
    for stop in stops:  # each in a thread of its own: a signal handler must not block
        threading.Thread(target=_call, args=(stop,), daemon=True).start()


@contextmanager
def handling(grace: float = GRACE_S) -> Iterator[None]:
    """Ctrl-C handled as :func:`install` does while inside (a chat turn), as before outside (a
    Ctrl-C at the chat's prompt ends the chat as it always did)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGINT)
    install(grace)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


def install(grace: float = GRACE_S) -> None:
    """Handle Ctrl-C as the module docstring says (from the main thread, once per command)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(_signum: int, _frame: object) -> None:
        if _EVENT.is_set():  # the second Ctrl-C: no more waiting
            leave("interrupted again (Ctrl-C): stopped without waiting")
        interrupt()
        said = (f"interrupted (Ctrl-C): a step still running after {grace:g} s was not waited "
                "for; `appforge up` repairs what it left")
        watchdog = threading.Timer(grace, leave, args=(said,))
        watchdog.daemon = True
        watchdog.start()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handle)


def leave(message: str = "", code: int = 130) -> None:
    """End the process now, without waiting for worker threads still busy (``sys.exit`` would
    join them), after saying ``message`` and flushing what was printed."""
    try:
        if message:
            print(message, file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _call(stop: Callable[[], None]) -> None:
    try:
        stop()
    except Exception:  # noqa: BLE001, S110 - one stop failing must not keep the others from running
        pass
