"""Cloudflare as a DNS provider, over its v4 REST API with a sync httpx client.

Finds the zone holding a name by asking for each parent name in turn (``shop.example.com``, then
``example.com``), lists the records at the name, and applies :func:`plan_changes`. Every Cloudflare
failure (refused token, unknown zone, ``success: false``, HTTP errors, rate limits, timeouts)
becomes a :class:`DnsProviderError` that says what failed. Names are checked before any request
is sent, and the token never appears in logs, messages or ``repr``.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from datetime import UTC, datetime
from typing import Any, Self

import httpx

from appforge.dns.errors import DnsAuthError, DnsProviderError, ZoneNotFound
from appforge.dns.provider import Change, RemoteRecord, plan_changes
from appforge.dns.records import RECORD_TYPES, DnsRecord, check_name, needs_dns
from appforge.errors import InvalidDomain, InvalidInput

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4"
#: Error codes Cloudflare uses for a missing, malformed, invalid or under-privileged token.
AUTH_ERROR_CODES = frozenset({1000, 6003, 6111, 9103, 9106, 9109, 10000})
#: Gateway errors worth another try, for requests that are safe to repeat.
RETRY_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})
#: Zone and record ids are 32 hex digits; anything outside this never goes into a URL path.
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_PAGES = 50
COMMENT = "managed by appforge"
TOKEN_HINT = "the token needs Zone:Read and DNS:Edit permissions for the zone"


class CloudflareDns:
    """Creates, updates and deletes address records through Cloudflare's API.

    ``transport`` swaps the network edge (tests, proxies); ``max_attempts`` and ``backoff`` bound
    the retries after HTTP 429 (which honour ``Retry-After``), gateway errors and failed connects.
    """

    name = "cloudflare"

    def __init__(
        self,
        token: str,
        api_base: str = DEFAULT_API_BASE,
        transport: httpx.BaseTransport | None = None,
        *,
        timeout: float = 15.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
    ) -> None:
        token = (token or "").strip()
        if not token:
            raise InvalidInput(
                "the Cloudflare DNS provider needs an API token",
                hint="set APPFORGE_CLOUDFLARE_API_TOKEN; " + TOKEN_HINT,
            )
        if any(ch.isspace() or not ch.isprintable() or not ch.isascii() for ch in token):
            raise InvalidInput(
                "APPFORGE_CLOUDFLARE_API_TOKEN contains spaces or control characters",
                hint="copy the token again, without quotes or line breaks",
            )
        base = (api_base or "").strip().rstrip("/")
        if not base.startswith(("https://", "http://")):
            raise InvalidInput(f"APPFORGE_CLOUDFLARE_API_BASE={api_base!r} is not an http(s) URL")
        self.api_base = base
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff
        self._max_wait = max_wait
        self._zones: dict[str, str] = {}
        self._client = httpx.Client(
            base_url=base + "/",
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": "appforge",
            },
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"CloudflareDns(api_base={self.api_base!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # DnsProvider ------------------------------------------------------------------------------
    def ensure_records(self, records: list[DnsRecord]) -> list[str]:
        """Make exactly ``records`` exist for each (type, name) they cover; one line per record."""
        names = [_public_name(record.name) for record in records]  # all checked before sending
        lines: list[str] = []
        try:
            for name in dict.fromkeys(names):
                zone_id = self.zone_id_for(name)
                wanted = [record for record in records if record.name == name]
                for change in plan_changes(wanted, self._list_records(zone_id, name)):
                    self._apply(zone_id, change)
                    lines.append(change.describe())
        except DnsProviderError as exc:
            if lines:  # say what did change before the failure
                exc.detail = "\n".join(["done before the failure:", *lines])
            raise
        return lines

    def delete_records(self, names: list[str]) -> list[str]:
        """Delete the A, AAAA and CNAME records at each name (other types are left alone)."""
        checked = [_public_name(name) for name in names]
        lines = []
        for name in dict.fromkeys(checked):
            zone_id = self.zone_id_for(name)
            existing = self._list_records(zone_id, name)
            if not existing:
                lines.append(f"nothing to delete at {name}")
            for record in existing:
                self._apply(zone_id, Change("delete", current=record))
                lines.append(f"deleted {record}")
        return lines

    # Cloudflare -------------------------------------------------------------------------------
    def zone_id_for(self, name: str) -> str:
        """The id of the zone holding ``name``, trying each parent name up to two labels."""
        name = _public_name(name)
        if name in self._zones:
            return self._zones[name]
        labels = name.split(".")
        for i in range(len(labels) - 1):
            candidate = ".".join(labels[i:])
            if candidate not in self._zones:
                body = self._call(
                    "GET", "zones", what=f"look up the zone for {name}", params={"name": candidate}
                )
                for zone in body.get("result") or []:
                    if isinstance(zone, dict) and str(zone.get("name", "")).lower() == candidate:
                        self._zones[candidate] = _checked_id(zone.get("id"), "zone")
                        break
            if candidate in self._zones:
                self._zones[name] = self._zones[candidate]
                return self._zones[name]
        raise ZoneNotFound(
            f"no Cloudflare zone for {name}",
            hint="add the domain to Cloudflare, or give APPFORGE_CLOUDFLARE_API_TOKEN access to "
            "its zone (" + TOKEN_HINT + ")",
        )

    def _list_records(self, zone_id: str, name: str) -> list[RemoteRecord]:
        found: list[RemoteRecord] = []
        for page in range(1, MAX_PAGES + 1):
            body = self._call(
                "GET",
                f"zones/{zone_id}/dns_records",
                what=f"list the records of {name}",
                params={"name": name, "per_page": 100, "page": page},
            )
            for item in body.get("result") or []:
                record = _remote_record(item)
                if record is not None and record.name == name and record.type in RECORD_TYPES:
                    found.append(record)
            if not body.get("result") or page >= _total_pages(body):
                break
        return found

    def _apply(self, zone_id: str, change: Change) -> None:
        records = f"zones/{zone_id}/dns_records"
        if change.action == "create" and change.record is not None:
            self._call(
                "POST", records, what=f"create {change.record}", json=_payload(change.record)
            )
        elif change.action == "update" and change.record is not None and change.current is not None:
            self._call(
                "PUT",
                f"{records}/{change.current.id}",
                what=f"update {change.current}",
                json=_payload(change.record),
            )
        elif change.action == "delete" and change.current is not None:
            self._call("DELETE", f"{records}/{change.current.id}", what=f"delete {change.current}")

    def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call with bounded retries; returns Cloudflare's envelope when it succeeded."""
        for attempt in range(1, self._max_attempts + 1):
            wait: float | None = None
            log.debug("cloudflare %s /%s %s (attempt %d)", method, path, params or "", attempt)
            try:
                response = self._client.request(method, path, params=params, json=json)
            except httpx.TimeoutException as exc:
                error: DnsProviderError = DnsProviderError(
                    f"Cloudflare did not answer within {self._timeout:g} s when asked to {what}",
                    hint="check the network connection, then run the command again",
                )
                retry = method in IDEMPOTENT or isinstance(exc, httpx.ConnectTimeout)
                error.__cause__ = exc
            except httpx.TransportError as exc:
                error = DnsProviderError(
                    f"could not reach Cloudflare at {self.api_base} to {what}: {_clean(str(exc))}",
                    hint="check the network connection and APPFORGE_CLOUDFLARE_API_BASE",
                )
                retry = method in IDEMPOTENT or isinstance(exc, httpx.ConnectError)
                error.__cause__ = exc
            else:
                status = response.status_code
                retry = status == 429 or (status in RETRY_STATUSES and method in IDEMPOTENT)
                if not retry:
                    return _envelope(response, what)
                error = _error_for(response, what, attempts=attempt)
                wait = _retry_after(response)
            if not retry or attempt == self._max_attempts:
                raise error
            delay = self._backoff * 2 ** (attempt - 1) if wait is None else wait
            time.sleep(min(self._max_wait, delay))
        raise AssertionError("unreachable")


def _public_name(name: str) -> str:
    """``name`` checked strictly (no wildcards, whitespace or control characters) and public."""
    if isinstance(name, str) and name.startswith("*."):
        raise InvalidDomain(
            f"refusing wildcard name {name!r}: appforge manages records for app "
            "domains only; add a wildcard record by hand"
        )
    checked = check_name(name)
    need = needs_dns(checked)
    if not need:
        raise InvalidInput(f"{need.reason}; it has no DNS records at Cloudflare")
    return checked


def _payload(record: DnsRecord) -> dict[str, Any]:
    return {
        "type": record.type,
        "name": record.name,
        "content": record.content,
        "ttl": record.ttl,
        "proxied": record.proxied,
        "comment": COMMENT,
    }


def _remote_record(item: Any) -> RemoteRecord | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    try:
        return RemoteRecord(
            id=_checked_id(item["id"], "record"),
            type=str(item.get("type", "")).upper(),
            name=str(item.get("name", "")).lower().rstrip("."),
            content=str(item.get("content", "")),
            ttl=int(item.get("ttl") or 1),
            proxied=bool(item.get("proxied", False)),
        )
    except (TypeError, ValueError):
        return None


def _total_pages(body: dict[str, Any]) -> int:
    info = body.get("result_info")
    try:
        return int(info.get("total_pages") or 1) if isinstance(info, dict) else 1
    except (TypeError, ValueError):
        return 1


def _checked_id(value: Any, kind: str) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise DnsProviderError(
            f"Cloudflare answered with a malformed {kind} id {_clean(repr(value))}"
        )
    return value


def _envelope(response: httpx.Response, what: str) -> dict[str, Any]:
    body = _json(response)
    if response.is_success and body is not None and body.get("success") is True:
        return body
    if response.is_success and body is None:
        raise DnsProviderError(
            f"Cloudflare answered with something other than JSON when asked to {what}"
        )
    raise _error_for(response, what)


def _error_for(response: httpx.Response, what: str, *, attempts: int = 1) -> DnsProviderError:
    status = response.status_code
    body = _json(response) or {}
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    codes = "; ".join(f"code {e.get('code')}: {_clean(str(e.get('message', '')))}" for e in errors)
    if status in (401, 403) or any(e.get("code") in AUTH_ERROR_CODES for e in errors):
        return DnsAuthError(
            f"Cloudflare refused the API token ({codes or f'HTTP {status}'}); "
            "check APPFORGE_CLOUDFLARE_API_TOKEN",
            hint=TOKEN_HINT,
        )
    detail = f"HTTP {status}" + (f", {codes}" if codes else "")
    if status == 429:
        return DnsProviderError(
            f"Cloudflare kept rate-limiting requests ({detail}) after {attempts} tries to {what}",
            hint="wait a few minutes, then run the command again",
        )
    return DnsProviderError(f"Cloudflare could not {what} ({detail})")


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), if there is one."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _clean(text: str, limit: int = 200) -> str:
    """Server-supplied text made safe to print: one line, printable, bounded."""
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
