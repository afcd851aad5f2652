"""The HTTP call every registrar client shares: bounded retries, and no secret in any message.

A 429 is retried after the server's ``Retry-After`` (or the registrar's own hint, such as
Porkbun's ``ttlRemaining``); connection failures and gateway errors are retried only for requests
that are safe to repeat. What comes back is the response; what never came back is
:class:`RegistrarUnavailable` (for a purchase: "the outcome is unknown").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from appforge.dns.cloudflare import _clean, _retry_after
from appforge.domains.errors import RateLimited, RegistrarUnavailable

log = logging.getLogger(__name__)

GATEWAY = frozenset({502, 503, 504})


class ApiClient:
    """An ``httpx.Client`` with the retry rules above; ``secrets`` are scrubbed from messages."""

    def __init__(self, registrar: str, base: str, *, headers: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0,
                 max_attempts: int = 4, backoff: float = 0.5, max_wait: float = 30.0,
                 secrets: tuple[str, ...] = ()) -> None:
        self.registrar = registrar
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self._secrets = tuple(s for s in secrets if s)
        self._client = httpx.Client(base_url=self.base + "/", timeout=timeout,
                                    transport=transport,
                                    headers={"User-Agent": "appforge", **(headers or {})})

    def __repr__(self) -> str:
        return f"ApiClient({self.registrar}, {self.base!r})"

    def close(self) -> None:
        self._client.close()

    def clean(self, text: str, limit: int = 300) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return _clean(text, limit)

    def send(self, method: str, path: str, *, what: str, safe_to_repeat: bool,
             wait_hint: Callable[[httpx.Response], float | None] | None = None,
             **kwargs: Any) -> httpx.Response:
        """One request, retried as the rules above allow."""
        for attempt in range(1, self.max_attempts + 1):
            wait: float | None = None
            log.debug("%s %s /%s (attempt %d)", self.registrar, method, path, attempt)
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                error: Exception = RegistrarUnavailable(
                    f"{self.registrar} gave no answer when asked to {what}: "
                    f"{self.clean(str(exc) or type(exc).__name__)}",
                    hint="check the network connection, then run the command again")
                # A connect that failed sent nothing; anything else may have reached the server.
                retry = safe_to_repeat or isinstance(exc, httpx.ConnectError)
            else:
                status = response.status_code
                if status == 429:
                    retry = True
                    wait = _retry_after(response)
                    if wait is None and wait_hint is not None:
                        wait = wait_hint(response)
                    error = RateLimited(
                        f"{self.registrar} kept answering 'too many requests' after {attempt} "
                        f"tries to {what}", hint="wait a minute, then run the command again")
                elif status in GATEWAY and safe_to_repeat:
                    retry = True
                    error = RegistrarUnavailable(
                        f"{self.registrar} answered HTTP {status} when asked to {what}",
                        hint="the registrar has a problem; try again in a few minutes")
                else:
                    return response
            if not retry or attempt == self.max_attempts:
                raise error
            delay = self.backoff * 2 ** (attempt - 1) if wait is None else wait
            time.sleep(min(self.max_wait, delay))
        raise AssertionError("unreachable")
