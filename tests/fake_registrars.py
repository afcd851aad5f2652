"""Local HTTP servers that speak three registrars' APIs, for tests at the network edge.

Each follows the documented request and response formats and error codes (see
docs/design/domains-research.md §2-4): Porkbun's JSON API v3, Cloudflare's v4 registrar
endpoints (normal and ``registrar-sandbox`` paths) and Namecheap's XML API. They keep an account
in memory (balance, owned names, DNS records), record every request (so a test can assert that no
secret is in any URL and that no second create was sent), and replay scripted faults: a price
that moves after a check, a response that dies after the charge, 429s, refused credentials,
insufficient funds::

    with FakePorkbun() as porkbun:
        porkbun.price("com", 973, 1108)
        settings = Settings(..., **porkbun.settings())  # or env | porkbun.env()
        ...
        assert porkbun.charges == [("shop.com", 973)]
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

#: A handler result that closes the connection without an answer (the response "dies").
DROP = object()


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Fault:
    """What the server does instead of answering, the next ``times`` requests to ``endpoint``."""

    endpoint: str
    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Do the work (charge, register), then close the connection without a response.
    drop_after: bool = False
    delay: float = 0.0
    times: int = 1


def clear_proxies(monkeypatch: Any) -> None:
    """httpx honours proxy variables; a test server on 127.0.0.1 must be reached directly."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        monkeypatch.delenv(var, raising=False)


class FakeRegistrar:
    """The HTTP plumbing: a threaded server, recorded requests, queued faults."""

    content_type = "application/json"

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, endpoint: str, status: int = 0, body: Any = None, **kwargs: Any) -> None:
        self.faults.append(Fault(endpoint, status, body, **kwargs))

    def secrets(self) -> list[str]:
        return []

    def everything_sent(self) -> str:
        """Every URL, header and body the clients sent, as one text (for secret checks)."""
        return "\n".join(f"{r.method} {r.path} {r.headers} {r.body!r}" for r in self.requests)

    def urls(self) -> list[str]:
        return [r.path for r in self.requests]

    def _fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            fault = next((f for f in self.faults if f.endpoint == endpoint), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return fault

    def handle(self, request: Request) -> Any:
        raise NotImplementedError

    def __enter__(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _dispatch(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                with fake.lock:
                    fake.requests.append(request)
                answer = fake.handle(request)
                if answer is DROP:
                    self.close_connection = True
                    return
                status, payload, headers = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", fake.content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    return
                super().handle_error(request, client_address)

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


# Porkbun ------------------------------------------------------------------------------------
def _cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class FakePorkbun(FakeRegistrar):
    """Porkbun's JSON API v3 under ``/api/json/v3``."""

    def __init__(self, balance: int = 100_000) -> None:
        super().__init__()
        self.api_key = "pk1_" + uuid.uuid4().hex
        self.secret = "sk1_" + uuid.uuid4().hex
        #: tld → (registration cents, renewal cents)
        self.prices: dict[str, tuple[int, int]] = {"com": (973, 1108), "dev": (1064, 1064),
                                                   "app": (1288, 1288), "us": (398, 700)}
        self.taken: set[str] = set()
        self.premium: set[str] = set()
        self.not_api: dict[str, str] = {"us": "This TLD has registry eligibility requirements "
                                        "that the API cannot currently submit; register it "
                                        "through the website at https://porkbun.com."}
        self.balance = balance
        self.owned: dict[str, dict[str, Any]] = {}
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.idempotency: dict[str, tuple[str, tuple[int, Any, dict[str, str]]]] = {}
        #: (name, cents) for every registration that charged the account.
        self.charges: list[tuple[str, int]] = []
        #: Seconds between allowed checkDomain calls (1 per 10 s at Porkbun; 0: no limit).
        self.check_window = 0.0
        self._last_check = -1e9
        #: tld → new (registration, renewal) cents, applied after the next checkDomain answer.
        self.moves: dict[str, tuple[int, int]] = {}
        self.create_delay = 0.0
        #: Called with (zone, records) after each DNS change, e.g. to update a local DNS server.
        self.on_records_change: Callable[[str, list[dict[str, Any]]], None] | None = None

    def secrets(self) -> list[str]:
        return [self.api_key, self.secret]

    def settings(self) -> dict[str, str]:
        """The settings that make appforge's registrar this fake."""
        return {"registrar": "porkbun", "registrar_api_base": self.base_url + "/api/json/v3",
                "porkbun_api_key": self.api_key, "porkbun_secret_key": self.secret}

    def env(self) -> dict[str, str]:
        """The same as ``APPFORGE_*`` environment variables, for a CLI subprocess."""
        return {f"APPFORGE_{key.upper()}": value for key, value in self.settings().items()}

    def price(self, tld: str, registration: int, renewal: int | None = None) -> None:
        self.prices[tld] = (registration, renewal if renewal is not None else registration)

    def move_price_after_check(self, tld: str, registration: int) -> None:
        self.moves[tld] = (registration, self.prices[tld][1])

    def creates(self) -> list[Request]:
        """Create requests that were not dry runs."""
        return [r for r in self.requests if "/domain/create/" in r.path
                and not r.json().get("dryRun")]

    def own(self, name: str) -> None:
        self.owned[name] = {"domain": name, "status": "ACTIVE", "tld": name.rsplit(".", 1)[1],
                            "createDate": "2026-11-30 04:00:00",
                            "expireDate": "2027-11-30 04:00:00", "securityLock": "1",
                            "whoisPrivacy": "1", "autoRenew": 0, "notLocal": 0}
        self.records.setdefault(name, [])

    @staticmethod
    def error(status: int, code: str, message: str, action: str = "fix_request",
              **extra: Any) -> tuple[int, Any, dict[str, str]]:
        return status, {"status": "ERROR", "code": code, "message": message,
                        "next_action": {"type": action, "hint": ""},
                        "requestId": str(uuid.uuid4()), **extra}, {}

    def handle(self, request: Request) -> Any:
        parts = urlsplit(request.path)
        path = parts.path.removeprefix("/api/json/v3/").split("/")
        body = request.json() if request.method == "POST" else {}
        # Faults name an endpoint ("domain/create"); a dry run of create is "domain/create:dry".
        endpoint = path[0] + "/" + (path[1] if len(path) > 1 else "")
        fault = self._fault(endpoint + (":dry" if body.get("dryRun") else ""))
        if fault is not None and not fault.drop_after:
            time.sleep(fault.delay)
            return DROP if not fault.status else (fault.status, fault.body, fault.headers)
        key = request.headers.get("X-API-Key") or body.get("apikey")
        secret = request.headers.get("X-Secret-API-Key") or body.get("secretapikey")
        if key != self.api_key or secret != self.secret:
            return self.error(403, "INVALID_API_KEYS_001", "Invalid API key. (001)",
                              "authenticate")
        with self.lock:
            answer = self._route(request, path, body, dict(parse_qs(parts.query)))
        if fault is not None and fault.drop_after:
            return DROP
        return answer

    def _route(self, request: Request, path: list[str], body: dict[str, Any],
               query: dict[str, Any]) -> Any:
        if path[:2] == ["domain", "checkDomain"] and request.method == "POST":
            return self._check(path[2].lower())
        if path[:2] == ["domain", "getRegistrationRequirements"]:
            tld = path[2]
            return 200, {"status": "SUCCESS", "tld": tld, "apiRegisterable": tld not in
                         self.not_api, "registrationDurationYears": 1, "maxRegistrationYears":
                         10, "notApiRegisterableReason": self.not_api.get(tld, ""),
                         "requestSchema": {"type": "object",
                                           "required": ["cost", "agreeToTerms"]}}, {}
        if path[:2] == ["domain", "create"] and request.method == "POST":
            return self._create(path[2].lower(), body, request.headers.get("Idempotency-Key"))
        if path[:2] == ["domain", "listAll"]:
            start = int((query.get("start") or ["0"])[0])
            return 200, {"status": "SUCCESS",
                         "domains": list(self.owned.values())[start:start + 1000]}, {}
        if path[0] == "dns" and len(path) >= 3:
            return self._dns(path[1], path[2].lower(), path[3:], body)
        return self.error(404, "INVALID_ENDPOINT", "Unknown endpoint")

    def _check(self, name: str) -> Any:
        now = time.monotonic()
        if now - self._last_check < self.check_window:
            ttl = self.check_window - (now - self._last_check)
            return 429, {"status": "ERROR", "code": "RATE_LIMIT_EXCEEDED",
                         "message": "Rate limit exceeded. Please try again later.",
                         "ttlRemaining": round(ttl, 3)}, {}
        self._last_check = now
        tld = name.rsplit(".", 1)[1]
        if tld not in self.prices:
            return self.error(400, "INVALID_DOMAIN", "The domain is not supported.")
        registration, renewal = self.prices[tld]
        premium = name in self.premium
        if premium:
            registration, renewal = registration * 100, renewal * 100
        avail = name not in self.taken and name not in self.owned
        answer = {"status": "SUCCESS", "response": {
            "avail": "yes" if avail else "no", "type": "registration",
            "price": _cents(registration), "firstYearPromo": "no",
            "regularPrice": _cents(registration), "premium": "yes" if premium else "no",
            "minDuration": 1, "additional": {
                "renewal": {"type": "renewal", "price": _cents(renewal),
                            "regularPrice": _cents(renewal)},
                "transfer": {"type": "transfer", "price": _cents(renewal),
                             "regularPrice": _cents(renewal)}}},
            "limits": {"TTL": 10, "limit": 1, "used": 1,
                       "naturalLanguage": "1 out of 1 checks within 10 seconds used."},
            "ttlRemaining": 10, "requestId": str(uuid.uuid4())}
        if tld in self.moves:
            self.prices[tld] = self.moves.pop(tld)
        return 200, answer, {}

    def _create(self, name: str, body: dict[str, Any], key: str | None) -> Any:
        fingerprint = json.dumps(body, sort_keys=True)
        if key and not body.get("dryRun") and key in self.idempotency:
            seen, answer = self.idempotency[key]
            if seen != fingerprint:
                return self.error(409, "IDEMPOTENCY_KEY_MISMATCH", "This Idempotency-Key was "
                                  "used with a different request.")
            return answer
        answer = self._order(name, body)
        if key and not body.get("dryRun") and answer[0] == 200:
            self.idempotency[key] = (fingerprint, answer)
        return answer

    def _order(self, name: str, body: dict[str, Any]) -> Any:
        tld = name.rsplit(".", 1)[1]
        if body.get("agreeToTerms") not in ("yes", True):
            return self.error(400, "TERMS_NOT_AGREED", "You must agree to the terms.")
        if tld in self.not_api:
            return self.error(400, "TLD_NOT_API_REGISTERABLE", self.not_api[tld], "use_website")
        if name in self.taken or name in self.owned:
            return self.error(400, "DOMAIN_NOT_AVAILABLE", "This domain is not available.",
                              "choose_alternative")
        if name in self.premium:
            return self.error(400, "PREMIUM_NOT_SUPPORTED", "Premium domains cannot be "
                              "registered via API.", "use_website")
        price = self.prices[tld][0]
        cost = body.get("cost")
        if cost != price:
            return self.error(400, "INVALID_REQUEST", "The cost provided does not match the "
                              "current price of this domain.")
        funds = self.balance >= price
        if not funds and not body.get("dryRun"):
            return self.error(400, "INSUFFICIENT_FUNDS", "Your account credit is insufficient "
                              "to complete this purchase.", "add_funds")
        if body.get("dryRun"):
            return 200, {"status": "SUCCESS", "dryRun": True, "wouldSucceed": funds,
                         "operation": "registration", "domain": name, "tld": tld,
                         "available": "available", "premium": False, "duration": 1,
                         "cost": price, "costDisplay": "$" + _cents(price),
                         "balance": self.balance, "sufficientFunds": funds,
                         "message": "Dry run: " + ("this registration would succeed." if funds
                                                   else "insufficient account credit.")
                         + " No order was created and no charge was made."}, {}
        time.sleep(self.create_delay)
        self.balance -= price
        self.charges.append((name, price))
        self.own(name)
        return 200, {"status": "SUCCESS", "domain": name, "cost": price,
                     "orderId": str(12345678 + len(self.charges)), "balance": self.balance,
                     "ttlRemaining": 86400}, {}

    def _dns(self, action: str, zone: str, rest: list[str], body: dict[str, Any]) -> Any:
        if zone not in self.owned:
            return self.error(400, "INVALID_DOMAIN", "Invalid domain.")
        records = self.records[zone]
        if action == "retrieve":
            return 200, {"status": "SUCCESS", "records": records}, {}
        full = f"{body.get('name')}.{zone}" if body.get("name") else zone
        if action == "create":
            record = {"id": str(uuid.uuid4().int % 10**9), "name": full, "type": body["type"],
                      "content": body["content"], "ttl": str(body.get("ttl", "600")),
                      "prio": "0", "notes": ""}
            records.append(record)
            self._changed(zone)
            return 200, {"status": "SUCCESS", "id": int(record["id"])}, {}
        match = [r for r in records if rest and r["id"] == rest[0]]
        if not match:
            return self.error(400, "INVALID_RECORD", "Invalid record id.")
        if action == "edit":
            match[0].update(name=full, type=body["type"], content=body["content"],
                            ttl=str(body.get("ttl", "600")))
        elif action == "delete":
            records.remove(match[0])
        self._changed(zone)
        return 200, {"status": "SUCCESS"}, {}

    def _changed(self, zone: str) -> None:
        if self.on_records_change is not None:
            self.on_records_change(zone, [dict(r) for r in self.records[zone]])


# Cloudflare Registrar -----------------------------------------------------------------------
class FakeCloudflareRegistrar(FakeRegistrar):
    """Cloudflare's v4 registrar endpoints under ``/client/v4/accounts/{id}/registrar[-sandbox]``.

    ``async_states``: the states ``registration-status`` reports after a create answered 202
    (empty: the create answers 201, done). The specific error codes for "name taken" and the
    like are not documented (research memo §3); the fake uses the v4 envelope with HTTP 409/400.
    """

    def __init__(self, sandbox: bool = False) -> None:
        super().__init__()
        self.token = "cf-" + uuid.uuid4().hex
        self.account = uuid.uuid4().hex
        self.sandbox = sandbox
        self.prices: dict[str, tuple[str, str]] = {"com": ("10.46", "10.46"),
                                                   "dev": ("12.00", "12.00"),
                                                   "ai": ("80.00", "80.00")}
        self.via_dashboard_only = {"sh"}
        self.premium: set[str] = set()
        self.taken: set[str] = set()
        self.registrations: dict[str, dict[str, Any]] = {}
        self.charges: list[tuple[str, str]] = []
        self.async_states: list[str] = []
        self.workflows: dict[str, list[str]] = {}
        self.moves: dict[str, str] = {}

    def secrets(self) -> list[str]:
        return [self.token]

    @property
    def api_base(self) -> str:
        return self.base_url + "/client/v4"

    def creates(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"
                and r.path.endswith("/registrations")]

    @staticmethod
    def envelope(result: Any, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {"success": not errors, "errors": errors or [], "messages": [], "result": result}

    def handle(self, request: Request) -> Any:
        parts = urlsplit(request.path)
        prefix = f"/client/v4/accounts/{self.account}/" + (
            "registrar-sandbox/" if self.sandbox else "registrar/")
        if not parts.path.startswith(prefix):
            return 404, self.envelope(None, [{"code": 7000, "message": "No route for that URI"}]), {}
        rest = parts.path.removeprefix(prefix).split("/")
        endpoint = rest[0] + (":create" if rest == ["registrations"] and request.method == "POST"
                              else "")
        if len(rest) == 3:
            endpoint = "registration-status"
        fault = self._fault(endpoint)
        if fault is not None and not fault.drop_after:
            time.sleep(fault.delay)
            return DROP if not fault.status else (fault.status, fault.body, fault.headers)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return 403, self.envelope(None, [{"code": 10000, "message": "Authentication error"}]), {}
        with self.lock:
            answer = self._route(request, rest)
        return DROP if fault is not None and fault.drop_after else answer

    def _route(self, request: Request, rest: list[str]) -> Any:
        if rest == ["domain-check"] and request.method == "POST":
            return 200, self.envelope({"domains": [self._check(n.lower())
                                                   for n in request.json()["domains"]]}), {}
        if rest == ["registrations"] and request.method == "POST":
            return self._create(request.json())
        if rest == ["registrations"] and request.method == "GET":
            return 200, {**self.envelope(list(self.registrations.values())),
                         "result_info": {"count": len(self.registrations)}}, {}
        if len(rest) == 2 and rest[0] == "registrations":
            found = self.registrations.get(rest[1])
            if found is None:
                return 404, self.envelope(None, [{"code": 10404, "message": "Not found"}]), {}
            return 200, self.envelope(found), {}
        if len(rest) == 3 and rest[2] == "registration-status":
            states = self.workflows.get(rest[1])
            if states is None:
                return 404, self.envelope(None, [{"code": 10404, "message": "Not found"}]), {}
            state = states.pop(0) if len(states) > 1 else states[0]
            return 200, self.envelope(self._workflow(rest[1], state)), {}
        return 404, self.envelope(None, [{"code": 7000, "message": "No route for that URI"}]), {}

    def _check(self, name: str) -> dict[str, Any]:
        tld = name.rsplit(".", 1)[1]
        item: dict[str, Any] = {"name": name}
        if tld in self.via_dashboard_only:
            return {**item, "registrable": False, "reason": "extension_not_supported_via_api"}
        if tld not in self.prices:
            return {**item, "registrable": False, "reason": "extension_not_supported"}
        if name in self.premium:
            return {**item, "registrable": False, "reason": "domain_premium", "tier": "premium"}
        if name in self.taken or name in self.registrations:
            return {**item, "registrable": False, "reason": "domain_unavailable"}
        registration, renewal = self.prices[tld]
        if tld in self.moves:
            self.prices[tld] = (self.moves.pop(tld), renewal)
        return {**item, "registrable": True, "tier": "standard",
                "pricing": {"currency": "USD", "registration_cost": registration,
                            "renewal_cost": renewal}}

    def _create(self, order: dict[str, Any]) -> Any:
        name = str(order.get("domain_name", "")).lower()
        if self.sandbox and not (order.get("contacts") or {}).get("registrant"):
            return 400, self.envelope(None, [{"code": 1004, "message": "contacts.registrant is "
                                              "required in the sandbox"}]), {}
        check = self._check(name)
        if not check["registrable"]:
            status = 409 if check["reason"] == "domain_unavailable" else 400
            return status, self.envelope(None, [{"code": 1001, "message":
                                                 f"Domain not registrable: {check['reason']}"}]), {}
        years = int(order.get("years") or 1)
        self.charges.append((name, check["pricing"]["registration_cost"]))
        states = list(self.async_states) or ["succeeded"]
        self.workflows[name] = states
        self.registrations[name] = {
            "domain_name": name, "status": "active" if states == ["succeeded"]
            else "registration_pending", "created_at": "2026-11-30T04:00:00Z",
            "expires_at": f"{2026 + years}-11-30T04:00:00Z", "auto_renew":
            bool(order.get("auto_renew")), "locked": True, "privacy_mode": "redaction"}
        if states == ["succeeded"]:
            return 201, self.envelope(self._workflow(name, "succeeded")), {}
        return 202, self.envelope(self._workflow(name, "in_progress")), {}

    def _workflow(self, name: str, state: str) -> dict[str, Any]:
        if state == "succeeded" and name in self.registrations:
            self.registrations[name]["status"] = "active"
        workflow: dict[str, Any] = {
            "completed": state in ("succeeded", "failed"), "state": state,
            "created_at": "2026-11-30T04:00:00Z", "updated_at": "2026-11-30T04:00:01Z",
            "links": {"self": f"/accounts/{self.account}/registrar/registrations/{name}/"
                      "registration-status",
                      "resource": f"/accounts/{self.account}/registrar/registrations/{name}"},
            "context": {}}
        if state == "failed":
            workflow["error"] = {"code": "registry_rejected", "message": "The registry refused "
                                 "the registration."}
            self.registrations.pop(name, None)
        if state == "action_required":
            workflow["context"] = {"action": "verify the registrant e-mail address"}
        return workflow


# Namecheap ----------------------------------------------------------------------------------
NC = "http://api.namecheap.com/xml.response"


def _xml(command: str, body: str, errors: list[tuple[str, str]] | None = None) -> bytes:
    status = "ERROR" if errors else "OK"
    errs = "".join(f'<Error Number="{n}">{t}</Error>' for n, t in errors or [])
    return (f'<?xml version="1.0" encoding="utf-8"?><ApiResponse Status="{status}" '
            f'xmlns="{NC}"><Errors>{errs}</Errors><Warnings />'
            f"<RequestedCommand>{command.lower()}</RequestedCommand>"
            f'<CommandResponse Type="{command}">{body}</CommandResponse>'
            "<Server>FAKE</Server><GMTTimeDifference>--5:00</GMTTimeDifference>"
            "<ExecutionTime>0.01</ExecutionTime></ApiResponse>").encode()


def _attr(value: object) -> str:
    text = str(value)
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


class FakeNamecheap(FakeRegistrar):
    """Namecheap's XML API at ``/xml.response`` (form POSTs, like the client sends)."""

    content_type = "text/xml"

    def __init__(self, balance: str = "100.00") -> None:
        super().__init__()
        self.api_user = "ncuser"
        self.api_key = uuid.uuid4().hex
        self.whitelist = {"203.0.113.10"}
        self.prices: dict[str, tuple[str, str]] = {"com": ("8.88", "13.98"),
                                                   "dev": ("11.98", "14.98"),
                                                   "us": ("3.98", "7.98")}
        self.not_api = {"us"}
        self.premium: dict[str, str] = {}
        self.taken: set[str] = set()
        self.owned: dict[str, dict[str, str]] = {}
        self.hosts: dict[str, list[dict[str, str]]] = {}
        self.balance_cents = int(balance.replace(".", ""))
        self.charges: list[tuple[str, str]] = []
        self.moves: dict[str, str] = {}

    def secrets(self) -> list[str]:
        return [self.api_key]

    @property
    def api_base(self) -> str:
        return self.base_url + "/xml.response"

    def creates(self) -> list[Request]:
        return [r for r in self.requests if r.form().get("Command") == "namecheap.domains.create"]

    def own(self, name: str) -> None:
        self.owned[name] = {"Name": name, "Expires": "11/30/2027", "AutoRenew": "false",
                            "IsExpired": "false"}
        self.hosts.setdefault(name, [])

    def handle(self, request: Request) -> Any:
        form = request.form() if request.method == "POST" else \
            {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        command = form.get("Command", "")
        fault = self._fault(command)
        if fault is not None and not fault.drop_after:
            time.sleep(fault.delay)
            return DROP if not fault.status else (fault.status, fault.body, fault.headers)
        if form.get("ApiUser") != self.api_user or form.get("ApiKey") != self.api_key:
            return 200, _xml(command, "", [("1011102", "Parameter APIKey is invalid")]), {}
        if form.get("ClientIp") not in self.whitelist:
            return 200, _xml(command, "", [("1011150", "Parameter RequestIP is invalid")]), {}
        with self.lock:
            answer = self._route(command, form)
        return DROP if fault is not None and fault.drop_after else answer

    def _route(self, command: str, form: dict[str, str]) -> Any:
        if command == "namecheap.domains.check":
            items = "".join(self._check(n.lower()) for n in form["DomainList"].split(","))
            return 200, _xml(command, items), {}
        if command == "namecheap.users.getPricing":
            return 200, _xml(command, self._pricing(form["ActionName"],
                                                    form["ProductName"].lower())), {}
        if command == "namecheap.domains.create":
            return self._create(command, form)
        if command == "namecheap.domains.getList":
            term = form.get("SearchTerm", "")
            items = [d for n, d in self.owned.items() if term in n]
            body = "".join(f'<Domain ID="{i}" ' + " ".join(f'{k}="{_attr(v)}"'
                                                             for k, v in d.items()) + " />"
                           for i, d in enumerate(items))
            return 200, _xml(command, f"<DomainGetListResult>{body}</DomainGetListResult>"
                             f"<Paging><TotalItems>{len(items)}</TotalItems><CurrentPage>1"
                             "</CurrentPage><PageSize>100</PageSize></Paging>"), {}
        zone = f"{form.get('SLD', '')}.{form.get('TLD', '')}".lower()
        if command.startswith("namecheap.domains.dns.") and zone not in self.owned:
            return 200, _xml(command, "", [("2019166", "Domain not found")]), {}
        if command == "namecheap.domains.dns.getHosts":
            body = "".join(f'<host HostId="{i}" Name="{_attr(h["Name"])}" Type="{h["Type"]}" '
                           f'Address="{_attr(h["Address"])}" MXPref="{h.get("MXPref", "10")}" '
                           f'TTL="{h["TTL"]}" />' for i, h in enumerate(self.hosts[zone]))
            return 200, _xml(command, f'<DomainDNSGetHostsResult Domain="{zone}" '
                             f'IsUsingOurDNS="true">{body}</DomainDNSGetHostsResult>'), {}
        if command == "namecheap.domains.dns.setHosts":
            hosts, number = [], 1
            while f"HostName{number}" in form:
                host = {"Name": form[f"HostName{number}"], "Type": form[f"RecordType{number}"],
                        "Address": form[f"Address{number}"], "TTL": form.get(f"TTL{number}",
                                                                             "1800")}
                if form.get(f"MXPref{number}"):
                    host["MXPref"] = form[f"MXPref{number}"]
                hosts.append(host)
                number += 1
            self.hosts[zone] = hosts
            return 200, _xml(command, f'<DomainDNSSetHostsResult Domain="{zone}" '
                             'IsSuccess="true" />'), {}
        return 200, _xml(command, "", [("1010900", "Invalid Command")]), {}

    def _check(self, name: str) -> str:
        tld = name.rsplit(".", 1)[1]
        available = name not in self.taken and name not in self.owned
        premium = name in self.premium
        if tld in self.moves:
            self.prices[tld] = (self.moves.pop(tld), self.prices[tld][1])
        price = self.premium.get(name, "0")
        return (f'<DomainCheckResult Domain="{name}" Available="{str(available).lower()}" '
                f'ErrorNo="0" Description="" IsPremiumName="{str(premium).lower()}" '
                f'PremiumRegistrationPrice="{price}" PremiumRenewalPrice="{price}" '
                'PremiumRestorePrice="0" PremiumTransferPrice="0" IcannFee="0" EapFee="0" />')

    def _pricing(self, action: str, tld: str) -> str:
        if tld not in self.prices:
            return '<UserGetPricingResult><ProductType Name="DOMAIN" /></UserGetPricingResult>'
        price = self.prices[tld][0 if action == "REGISTER" else 1]
        rows = "".join(f'<Price Duration="{d}" DurationType="YEAR" Price="{price}" '
                       f'RegularPrice="{price}" YourPrice="{price}" CouponPrice="" '
                       'Currency="USD" />' for d in (1, 2))
        return (f'<UserGetPricingResult><ProductType Name="DOMAIN"><ProductCategory '
                f'Name="{action}"><Product Name="{tld}">{rows}</Product></ProductCategory>'
                "</ProductType></UserGetPricingResult>")

    def _create(self, command: str, form: dict[str, str]) -> Any:
        name = form["DomainName"].lower()
        tld = name.rsplit(".", 1)[1]
        for role in ("Registrant", "Tech", "Admin", "AuxBilling"):
            for field_name in ("FirstName", "LastName", "Address1", "City", "StateProvince",
                               "PostalCode", "Country", "Phone", "EmailAddress"):
                if not form.get(role + field_name):
                    missing = f"{role}{field_name} is missing"
                    return 200, _xml(command, "", [("2010323", missing)]), {}
        if tld in self.not_api:
            return 200, _xml(command, "", [("2030280", "TLD is not supported in API")]), {}
        if name in self.taken or name in self.owned:
            return 200, _xml(command, "", [("3019166", "Domain not available")]), {}
        years = int(form.get("Years", "2"))
        cents = int(self.prices[tld][0].replace(".", "")) * years
        if cents > self.balance_cents:
            return 200, _xml(command, "", [("2528166", "Order creation failed")]), {}
        self.balance_cents -= cents
        charged = f"{cents // 100}.{cents % 100:02d}00"
        self.charges.append((name, charged))
        self.own(name)
        return 200, _xml(command, f'<DomainCreateResult Domain="{name}" Registered="true" '
                         f'ChargedAmount="{charged}" DomainID="9007" OrderID="196074" '
                         'TransactionID="380716" WhoisguardEnable="true" '
                         'NonRealTimeDomain="false" />'), {}
