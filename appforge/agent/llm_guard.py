"""Deadlines and cancellation for LLM calls, reaching down to the socket.

A :class:`Guard` is one thing that may stop the model's calls: a deadline (the planning step's,
the coder's) or a cancel (Ctrl-C, a cancelled dashboard job). While it is active
(``with guard:``), every HTTP connection the LLM client reads from or writes to registers with
it; when it fires, it shuts those sockets down. A read blocked on a server that is still
thinking (a long prompt on a slow CPU, a non-streamed answer) wakes at once, the call ends with
:class:`Stopped`, and the server sees the connection close: servers that stream stop generating
then (llama.cpp's, vLLM, Ollama), instead of burning the next request's time on an answer nobody
waits for.

The hook is at the network edge: :func:`http_client` gives an ``httpx.Client`` whose connection
pool opens connections through :class:`_Backend`, which wraps each one so that every read and
write first joins the active guards. ``Stopped`` is a ``BaseException``, as a ``KeyboardInterrupt``
is, so the openai client neither retries it nor wraps it; :mod:`appforge.agent.llm_client` turns
it into :class:`~appforge.errors.LLMStopped` for the user.
"""

from __future__ import annotations

import contextvars
import socket
import threading
import time
import urllib.request
from typing import Any, Self
from urllib.parse import urlsplit

import httpcore
import httpx

_ACTIVE: contextvars.ContextVar[tuple[Guard, ...]] = contextvars.ContextVar(
    "appforge_llm_guards", default=())
_LIVE: set[Guard] = set()
_LIVE_LOCK = threading.Lock()


class Stopped(BaseException):
    """An LLM call stopped by a guard; ``reason`` says which and why."""

    def __init__(self, guard: Guard) -> None:
        super().__init__(guard.reason)
        self.guard = guard


def as_error(stop: Stopped) -> Any:
    """The :class:`~appforge.errors.LLMStopped` to tell the user about ``stop``."""
    from appforge.errors import LLMStopped

    return LLMStopped(stop.guard.reason, expired=stop.guard.expired, what=stop.guard.what)


class Guard:
    """A deadline (``seconds``; None: none) and a cancel switch for the calls made inside it."""

    def __init__(self, what: str, seconds: float | None = None) -> None:
        #: What is guarded ("planning", "the coder"), for the messages.
        self.what = what
        self.seconds = seconds
        self.reason = ""
        #: True once the deadline passed (False when cancelled some other way).
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._token: contextvars.Token[tuple[Guard, ...]] | None = None
        self._started = 0.0

    @property
    def stopped(self) -> bool:
        return bool(self.reason)

    def elapsed(self) -> float:
        return time.monotonic() - self._started if self._started else 0.0

    def __enter__(self) -> Self:
        self._started = time.monotonic()
        self._token = _ACTIVE.set((*_ACTIVE.get(), self))
        with _LIVE_LOCK:
            _LIVE.add(self)
        if self.seconds is not None:
            self._timer = threading.Timer(self.seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self._token is not None:
            _ACTIVE.reset(self._token)
            self._token = None

    def cancel(self, reason: str) -> None:
        """Stop every call inside this guard now, and any it would make later."""
        with self._lock:
            if self.reason:
                return
            self.reason = reason
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def check(self) -> None:
        """Raise :class:`Stopped` if this guard fired."""
        if self.reason:
            raise Stopped(self)

    def _expire(self) -> None:
        self.expired = True
        self.cancel(f"{self.what} passed its deadline of {self.seconds:g} s")

    def _watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.reason:
                if sock not in self._sockets:
                    self._sockets.append(sock)
                return
        _shut(sock)


def active() -> tuple[Guard, ...]:
    """The guards the calls made here run under, outermost first."""
    return _ACTIVE.get()


def check_active() -> None:
    """Raise :class:`Stopped` if any active guard fired (checked between streamed chunks)."""
    for guard in _ACTIVE.get():
        guard.check()


def cancel_all(reason: str) -> None:
    """Cancel every live guard of this process (Ctrl-C: no thread keeps a model generating)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for guard in live:
        guard.cancel(reason)


def _shut(sock: socket.socket) -> None:
    # shutdown, not close: it wakes a read blocked in another thread, and the socket's owner
    # still closes it as usual.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Stream(httpcore.NetworkStream):
    """A connection that joins the active guards on every read and write."""

    def __init__(self, inner: httpcore.NetworkStream, sock: socket.socket | None) -> None:
        self._inner = inner
        self._sock = sock

    def _join(self) -> None:
        for guard in _ACTIVE.get():
            guard.check()
            if self._sock is not None:
                guard._watch(self._sock)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._join()
        data = self._inner.read(max_bytes, timeout)
        check_active()  # woken by a shutdown: say why rather than "server disconnected"
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._join()
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._sock)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None,
                    ) -> httpcore.NetworkStream:
        check_active()
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, stream.get_extra_info("socket"))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, timeout, socket_options)
        return _Stream(stream, stream.get_extra_info("socket"))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def http_client(base_url: str, timeout: float) -> httpx.Client:
    """An httpx client for the LLM endpoint whose connections the guards can shut down; the
    environment's proxy for that URL is kept (as the openai client's own would)."""
    proxy = _proxy_for(base_url)
    transport = httpx.HTTPTransport(proxy=proxy)
    pool = transport._pool  # the one place httpx keeps its httpcore pool
    pool._network_backend = _Backend(pool._network_backend)
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=True)


def _proxy_for(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme) or None
