"""CloudflareDns against a local server speaking Cloudflare's v4 API: sync, lookups, failures.

The fake is the network edge only: zones and records in memory, the Bearer token checked, and
faults queued on demand (429 with Retry-After, 5xx, ``success: false``, a hang). Everything from
``CloudflareDns`` down to the HTTP requests runs for real.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from appforge.config import Settings
from appforge.dns import (
    DnsAuthError,
    DnsProviderError,
    DnsRecord,
    ZoneNotFound,
    get_dns_provider,
)
from appforge.dns.cloudflare import CloudflareDns
from appforge.errors import InvalidDomain, InvalidInput

TOKEN = "cf-test-token-0123456789abcdef"
PREFIX = "/client/v4/"


@dataclass
class Fault:
    status: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: Only a request with this method meets the fault (None: any request).
    method: str | None = None


class FakeCloudflare:
    """Cloudflare's API, as far as appforge uses it."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.api_base = ""
        self.zones: dict[str, str] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.faults: list[Fault] = []
        self.max_per_page = 100
        self.lock = threading.Lock()

    # Test set-up and inspection -----------------------------------------------------------
    def add_zone(self, name: str) -> str:
        zone_id = uuid.uuid4().hex
        self.zones[zone_id] = name
        return zone_id

    def add_record(self, type_: str, name: str, content: str, ttl: int = 300) -> str:
        zone_id = next(
            z for z, zone in self.zones.items() if name == zone or name.endswith("." + zone)
        )
        record_id = uuid.uuid4().hex
        self.records[record_id] = {
            "id": record_id,
            "zone_id": zone_id,
            "type": type_,
            "name": name,
            "content": content,
            "ttl": ttl,
            "proxied": False,
        }
        return record_id

    def at(self, name: str) -> list[tuple[str, str, int]]:
        return sorted(
            (r["type"], r["content"], r["ttl"]) for r in self.records.values() if r["name"] == name
        )

    def fail(
        self, status: int, code: int = 0, message: str = "", times: int = 1, **kwargs: Any
    ) -> None:
        errors = [{"code": code, "message": message}] if code else []
        self.faults += [Fault(status, errors, **kwargs) for _ in range(times)]

    def methods(self) -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.requests]

    # HTTP ---------------------------------------------------------------------------------
    def handle(
        self, method: str, url: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        path = parts.path.removeprefix(PREFIX)
        with self.lock:
            self.requests.append((method, path, query))
            fault = next((f for f in self.faults if f.method in (None, method)), None)
            if fault:
                self.faults.remove(fault)
        if fault:
            time.sleep(fault.delay)
            return fault.status, envelope(None, fault.errors), fault.headers
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 403, envelope(None, [{"code": 10000, "message": "Authentication error"}]), {}
        segments = path.split("/")
        payload = json.loads(body) if body else {}
        with self.lock:
            if segments == ["zones"] and method == "GET":
                return 200, *self.page(
                    [
                        {"id": z, "name": n, "status": "active"}
                        for z, n in self.zones.items()
                        if n == query.get("name", n)
                    ],
                    query,
                )
            if len(segments) >= 3 and segments[0] == "zones" and segments[2] == "dns_records":
                if segments[1] not in self.zones:
                    return 404, envelope(None, [{"code": 7003, "message": "Could not route"}]), {}
                return self.dns_records(method, segments[1], segments[3:], query, payload)
        return 404, envelope(None, [{"code": 7000, "message": "No route for that URI"}]), {}

    def dns_records(
        self,
        method: str,
        zone_id: str,
        rest: list[str],
        query: dict[str, str],
        payload: dict[str, Any],
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        in_zone = {i: r for i, r in self.records.items() if r["zone_id"] == zone_id}
        if method == "GET" and not rest:
            found = [
                r
                for r in in_zone.values()
                if r["type"] == query.get("type", r["type"])
                and r["name"] == query.get("name", r["name"])
            ]
            return 200, *self.page(found, query)
        if method == "POST" and not rest:
            problem = self.conflict(payload, in_zone.values())
            if problem:
                return 400, envelope(None, [problem]), {}
            record_id = uuid.uuid4().hex
            self.records[record_id] = {**payload, "id": record_id, "zone_id": zone_id}
            return 200, envelope(self.records[record_id]), {}
        if len(rest) != 1 or rest[0] not in in_zone:
            return 404, envelope(None, [{"code": 81044, "message": "Record does not exist."}]), {}
        record_id = rest[0]
        if method == "PUT":
            problem = self.conflict(payload, [r for i, r in in_zone.items() if i != record_id])
            if problem:
                return 400, envelope(None, [problem]), {}
            self.records[record_id] = {**payload, "id": record_id, "zone_id": zone_id}
            return 200, envelope(self.records[record_id]), {}
        if method == "DELETE":
            del self.records[record_id]
            return 200, envelope({"id": record_id}), {}
        return 405, envelope(None, [{"code": 10405, "message": "Method not allowed"}]), {}

    def conflict(self, new: dict[str, Any], others: Any) -> dict[str, Any] | None:
        for other in others:
            if other["name"] != new["name"]:
                continue
            if "CNAME" in (other["type"], new["type"]) and {other["type"], new["type"]} <= {
                "A",
                "AAAA",
                "CNAME",
            }:
                return {
                    "code": 81053,
                    "message": "An A, AAAA, or CNAME record with that host already exists.",
                }
            if (other["type"], other["content"]) == (new["type"], new["content"]):
                return {"code": 81058, "message": "An identical record already exists."}
        return None

    def page(
        self, items: list[dict[str, Any]], query: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        per_page = min(int(query.get("per_page", 20)), self.max_per_page)
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        info = {
            "page": page,
            "per_page": per_page,
            "count": len(chunk),
            "total_count": len(items),
            "total_pages": max(1, -(-len(items) // per_page)),
        }
        return {**envelope(chunk), "result_info": info}, {}


def envelope(result: Any, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"success": not errors, "errors": errors or [], "messages": [], "result": result}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms stalls
    server: Any

    def _dispatch(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload, headers = self.server.fake.handle(
            self.command, self.path, self.headers, body
        )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up on a slow answer, as the timeout test means it to
        super().handle_error(request, client_address)


@pytest.fixture
def cloudflare(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudflare]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    fake = FakeCloudflare(TOKEN)
    server = FakeServer(("127.0.0.1", 0), Handler)
    server.fake = fake  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    fake.api_base = f"http://127.0.0.1:{server.server_address[1]}/client/v4"
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def dns(cloudflare: FakeCloudflare) -> Iterator[CloudflareDns]:
    with CloudflareDns(TOKEN, cloudflare.api_base, timeout=2.0, backoff=0.01) as provider:
        yield provider


def a(name: str, ip: str) -> DnsRecord:
    return DnsRecord(type="A", name=name, content=ip)


# Sync -------------------------------------------------------------------------------------
def test_ensure_records_creates_then_is_idempotent_then_updates_when_the_ip_changes(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.add_zone("example.com")
    assert dns.ensure_records([a("shop.example.com", "203.0.113.7")]) == [
        "created A shop.example.com → 203.0.113.7"
    ]
    assert dns.ensure_records([a("shop.example.com", "203.0.113.7")]) == [
        "unchanged A shop.example.com → 203.0.113.7"
    ]
    assert dns.ensure_records([a("shop.example.com", "203.0.113.8")]) == [
        "updated A shop.example.com → 203.0.113.8 (was 203.0.113.7)"
    ]
    assert cloudflare.at("shop.example.com") == [("A", "203.0.113.8", 300)]
    record = next(iter(cloudflare.records.values()))
    assert record["proxied"] is False and record["comment"] == "managed by appforge"


def test_a_and_aaaa_are_made_together(cloudflare: FakeCloudflare, dns: CloudflareDns) -> None:
    cloudflare.add_zone("example.com")
    lines = dns.ensure_records(
        [
            a("shop.example.com", "203.0.113.7"),
            DnsRecord(type="AAAA", name="shop.example.com", content="2001:db8::7"),
        ]
    )
    assert lines == [
        "created A shop.example.com → 203.0.113.7",
        "created AAAA shop.example.com → 2001:db8::7",
    ]
    assert cloudflare.at("shop.example.com") == [
        ("A", "203.0.113.7", 300),
        ("AAAA", "2001:db8::7", 300),
    ]


def test_moving_from_a_cname_to_an_address_removes_the_cname(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.add_zone("example.com")
    dns.ensure_records(
        [DnsRecord(type="CNAME", name="shop.example.com", content="host.example.net")]
    )
    assert dns.ensure_records([a("shop.example.com", "203.0.113.7")]) == [
        "deleted CNAME shop.example.com → host.example.net (a CNAME cannot share its name)",
        "created A shop.example.com → 203.0.113.7",
    ]
    assert cloudflare.at("shop.example.com") == [("A", "203.0.113.7", 300)]


def test_surplus_records_go_and_other_types_stay(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.add_zone("example.com")
    cloudflare.add_record("A", "shop.example.com", "203.0.113.7")
    cloudflare.add_record("A", "shop.example.com", "198.51.100.1")
    cloudflare.add_record("TXT", "shop.example.com", "v=spf1 -all")
    cloudflare.add_record("A", "www.example.com", "198.51.100.1")
    assert dns.ensure_records([a("shop.example.com", "203.0.113.7")]) == [
        "unchanged A shop.example.com → 203.0.113.7",
        "deleted A shop.example.com → 198.51.100.1 (no longer wanted)",
    ]
    assert cloudflare.at("shop.example.com") == [
        ("A", "203.0.113.7", 300),
        ("TXT", "v=spf1 -all", 300),
    ]
    assert cloudflare.at("www.example.com") == [("A", "198.51.100.1", 300)]


def test_delete_removes_the_address_records_only(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.add_zone("example.com")
    cloudflare.add_record("A", "shop.example.com", "203.0.113.7")
    cloudflare.add_record("MX", "shop.example.com", "mail.example.com")
    assert dns.delete_records(["shop.example.com", "gone.example.com"]) == [
        "deleted A shop.example.com → 203.0.113.7",
        "nothing to delete at gone.example.com",
    ]
    assert cloudflare.at("shop.example.com") == [("MX", "mail.example.com", 300)]


def test_records_beyond_the_first_page_are_seen(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.add_zone("example.com")
    cloudflare.max_per_page = 2
    for last in (1, 2, 3):
        cloudflare.add_record("A", "shop.example.com", f"198.51.100.{last}")
    assert len(dns.delete_records(["shop.example.com"])) == 3
    assert cloudflare.at("shop.example.com") == []


# Zones ------------------------------------------------------------------------------------
def test_zone_lookup_walks_up_the_labels_and_is_remembered(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    zone_id = cloudflare.add_zone("example.com")
    assert dns.zone_id_for("deep.shop.example.com") == zone_id
    assert [q["name"] for m, p, q in cloudflare.requests] == [
        "deep.shop.example.com",
        "shop.example.com",
        "example.com",
    ]
    dns.ensure_records([a("deep.shop.example.com", "203.0.113.7")])
    assert [p for m, p, q in cloudflare.requests].count("zones") == 3


def test_a_missing_zone_is_named(cloudflare: FakeCloudflare, dns: CloudflareDns) -> None:
    cloudflare.add_zone("example.org")
    with pytest.raises(ZoneNotFound, match="no Cloudflare zone for shop.example.com") as caught:
        dns.ensure_records([a("shop.example.com", "203.0.113.7")])
    assert "APPFORGE_CLOUDFLARE_API_TOKEN" in (caught.value.hint or "")
    assert all(p == "zones" for _, p, _ in cloudflare.requests)


# Failures ---------------------------------------------------------------------------------
def test_rate_limit_is_retried_after_retry_after(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.add_zone("example.com")
    cloudflare.fail(
        429,
        971,
        "Please wait and consider throttling your request speed",
        headers={"Retry-After": "0.2"},
    )
    started = time.monotonic()
    assert dns.ensure_records([a("shop.example.com", "203.0.113.7")]) == [
        "created A shop.example.com → 203.0.113.7"
    ]
    assert time.monotonic() - started >= 0.2
    assert cloudflare.methods()[:2] == ["GET zones", "GET zones"]


def test_a_create_is_retried_after_429_too(cloudflare: FakeCloudflare, dns: CloudflareDns) -> None:
    cloudflare.add_zone("example.com")
    cloudflare.fail(429, 971, "Please wait", headers={"Retry-After": "0"}, method="POST")
    assert dns.ensure_records([a("shop.example.com", "203.0.113.7")]) == [
        "created A shop.example.com → 203.0.113.7"
    ]
    assert (
        cloudflare.methods().count("POST zones/" + dns.zone_id_for("example.com") + "/dns_records")
        == 2
    )
    assert cloudflare.at("shop.example.com") == [("A", "203.0.113.7", 300)]


def test_a_lasting_rate_limit_gives_up_clearly(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.fail(
        429,
        971,
        "Please wait and consider throttling your request speed",
        times=10,
        headers={"Retry-After": "0"},
    )
    with pytest.raises(
        DnsProviderError, match=r"rate-limiting .*HTTP 429.* after 4 tries"
    ) as caught:
        dns.zone_id_for("shop.example.com")
    assert "wait" in (caught.value.hint or "")
    assert len(cloudflare.requests) == 4


def test_a_server_error_on_create_is_reported_not_repeated(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    # A create that failed with 500 may still have happened, so it is not sent again.
    cloudflare.add_zone("example.com")
    cloudflare.fail(500, 1500, "Internal error", method="POST")
    with pytest.raises(
        DnsProviderError,
        match=r"could not create A shop.example.com → 203.0.113.7 "
        r"\(HTTP 500, code 1500: Internal error",
    ):
        dns.ensure_records([a("shop.example.com", "203.0.113.7")])
    assert [m for m, _, _ in cloudflare.requests].count("POST") == 1


def test_a_failure_midway_says_what_already_changed(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.add_zone("example.com")
    dns.ensure_records([a("one.example.com", "203.0.113.7")])
    cloudflare.fail(400, 9005, "Content for A record is invalid.", method="POST")
    with pytest.raises(DnsProviderError, match="code 9005") as caught:
        dns.ensure_records(
            [a("one.example.com", "203.0.113.8"), a("two.example.com", "203.0.113.8")]
        )
    assert caught.value.detail == (
        "done before the failure:\nupdated A one.example.com → 203.0.113.8 (was 203.0.113.7)"
    )


def test_a_gateway_error_on_a_read_is_retried(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    zone_id = cloudflare.add_zone("example.com")
    cloudflare.fail(503, times=2)
    assert dns.zone_id_for("example.com") == zone_id


def test_success_false_is_reported(cloudflare: FakeCloudflare, dns: CloudflareDns) -> None:
    cloudflare.fail(200, 1049, "example.com is not a registered domain")
    with pytest.raises(
        DnsProviderError,
        match=r"look up the zone for shop.example.com "
        r"\(HTTP 200, code 1049: example.com is not",
    ):
        dns.zone_id_for("shop.example.com")


def test_a_bad_token_says_which_setting_to_check(
    cloudflare: FakeCloudflare, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-abcdef"
    with CloudflareDns(wrong, cloudflare.api_base, backoff=0.01) as dns:
        with pytest.raises(DnsAuthError) as caught:
            dns.ensure_records([a("shop.example.com", "203.0.113.7")])
        text = " ".join([str(caught.value), caught.value.hint or "", repr(dns), caplog.text])
    assert str(caught.value) == (
        "Cloudflare refused the API token (code 10000: Authentication error); "
        "check APPFORGE_CLOUDFLARE_API_TOKEN"
    )
    assert wrong not in text and TOKEN not in text
    assert len(cloudflare.requests) == 1  # a refusal is not retried


def test_an_unreachable_api_is_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        with CloudflareDns(TOKEN, f"http://127.0.0.1:{port}/client/v4", backoff=0.01) as dns:
            with pytest.raises(
                DnsProviderError, match=f"could not reach Cloudflare at http://127.0.0.1:{port}"
            ):
                dns.zone_id_for("shop.example.com")


def test_a_slow_api_times_out_clearly(cloudflare: FakeCloudflare) -> None:
    cloudflare.fail(200, delay=0.5, times=2)
    with (
        CloudflareDns(TOKEN, cloudflare.api_base, timeout=0.2, max_attempts=2, backoff=0.01) as dns,
        pytest.raises(DnsProviderError, match=r"did not answer within 0.2 s when asked to look up"),
    ):
        dns.zone_id_for("shop.example.com")


# Refused before sending -------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "evil.com\n",
        "*.x.com",
        "a.com\r\nHost: x",
        "shop.example.com/../zones",
        "example.com?type=MX",
        "",
        "sprout.localhost",
    ],
)
def test_bad_names_are_refused_before_any_request(
    cloudflare: FakeCloudflare, dns: CloudflareDns, name: str
) -> None:
    cloudflare.add_zone("example.com")
    with pytest.raises(InvalidInput):
        dns.delete_records(["ok.example.com", name])
    with pytest.raises(InvalidInput):
        dns.zone_id_for(name)
    assert cloudflare.requests == []


def test_a_wildcard_record_is_refused_before_any_request(
    cloudflare: FakeCloudflare, dns: CloudflareDns
) -> None:
    cloudflare.add_zone("x.com")
    with pytest.raises(InvalidDomain, match="wildcard"):
        dns.ensure_records([a("ok.x.com", "203.0.113.7"), a("*.x.com", "203.0.113.7")])
    assert cloudflare.requests == []


@pytest.mark.parametrize("token", ["", "  ", "abc def", "abc\n\ndef"])
def test_a_malformed_token_is_refused_up_front(token: str) -> None:
    with pytest.raises(InvalidInput, match="APPFORGE_CLOUDFLARE_API_TOKEN|API token"):
        CloudflareDns(token)


# Wiring -----------------------------------------------------------------------------------
def test_settings_choose_cloudflare(cloudflare: FakeCloudflare, tmp_path: Path) -> None:
    cloudflare.add_zone("example.com")
    settings = Settings(
        home=tmp_path,
        dns_provider="Cloudflare",
        cloudflare_api_token=f"{TOKEN}\n",
        cloudflare_api_base=cloudflare.api_base + "/",
    )
    provider = get_dns_provider(settings)
    assert provider is not None and provider.name == "cloudflare"
    assert provider.ensure_records([a("shop.example.com", "203.0.113.7")]) == [
        "created A shop.example.com → 203.0.113.7"
    ]
