"""Porkbun's JSON API v3: check, requirements, create (with dry run and Idempotency-Key), listAll,
and DNS records, so a name bought here gets its records here too.

Documented formats (docs/design/domains-research.md §2): prices are USD decimal strings per year,
``create`` takes ``cost`` in integer cents that must equal the live price, errors carry a machine
``code`` and a ``next_action.type``. Keys travel in the ``X-API-Key`` / ``X-Secret-API-Key``
headers, never in a URL or a message. The API registers only the registry's minimum term.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from appforge.dns.provider import Change, RemoteRecord, plan_changes
from appforge.dns.records import DnsRecord
from appforge.domains import errors as e
from appforge.domains.credentials import Credentials
from appforge.domains.http import ApiClient
from appforge.domains.money import to_minor
from appforge.domains.names import parse
from appforge.domains.registrar import DryRun, Offer, Owned, Receipt, Requirements

DEFAULT_API_BASE = "https://api.porkbun.com/api/json/v3"
AUTH_CODES = frozenset({"API_KEY_REQUIRED", "INVALID_API_KEYS_001", "INVALID_API_KEYS_002",
                        "MISSING_SECRETAPIKEY", "INVALID_TOKEN", "INVALID_USER", "IP_NOT_ALLOWED",
                        "DOMAIN_NOT_ALLOWED"})
PRICE_CODES = frozenset({"PRICE_MISMATCH", "PriceMismatch", "INVALID_COST", "COST_MISMATCH"})
KEY_HINT = ("check APPFORGE_PORKBUN_API_KEY and APPFORGE_PORKBUN_SECRET_KEY, and that API access "
            "is on for the account (porkbun.com → Account → API Access)")


class Porkbun:
    """A Porkbun account. ``api_base`` overrides the real URL (a test server)."""

    name = "porkbun"
    resend_safe = True
    check_interval = 10.0

    def __init__(self, creds: Credentials, *, api_base: str = "", sandbox: bool = False,
                 transport: httpx.BaseTransport | None = None, max_wait: float = 12.0) -> None:
        creds.require("porkbun_api_key", "porkbun_secret_key", registrar="Porkbun")
        key = creds.porkbun_api_key.get_secret_value()
        secret = creds.porkbun_secret_key.get_secret_value()
        if sandbox and not key.startswith("pk1_sb_"):
            raise e.RegistrarAuthError(
                "APPFORGE_REGISTRAR_SANDBOX is on, but the Porkbun key is not a sandbox key "
                "(pk1_sb_…)", hint="use sandbox keys, or turn the sandbox off to spend money")
        self.sandbox = sandbox or key.startswith("pk1_sb_")
        self.api = ApiClient("Porkbun", api_base or DEFAULT_API_BASE, transport=transport,
                             headers={"X-API-Key": key, "X-Secret-API-Key": secret,
                                      "Accept": "application/json"},
                             secrets=(key, secret), max_wait=max_wait)
        self._requirements: dict[str, Requirements] = {}

    def __repr__(self) -> str:
        return f"Porkbun(api_base={self.api.base!r}, sandbox={self.sandbox})"

    def close(self) -> None:
        self.api.close()

    # Registrar -------------------------------------------------------------------------------
    def check(self, names: list[str]) -> list[Offer]:
        return [self._check_one(name) for name in names]

    def _check_one(self, name: str) -> Offer:
        body = self._call("POST", f"domain/checkDomain/{name}", what=f"check {name}", json={},
                          safe_to_repeat=True)
        info = body.get("response") if isinstance(body.get("response"), dict) else {}
        need = self.requirements(name)
        renewal = (info.get("additional") or {}).get("renewal") or {}
        available = info.get("avail") == "yes"
        premium = info.get("premium") == "yes"
        price = info.get("price")
        min_years = int(info.get("minDuration") or need.min_years or 1)
        return Offer(
            name=name, available=available, api_registerable=need.api_registerable,
            premium=premium, reason=need.reason if not need.api_registerable else
            ("taken" if not available else ""), currency="USD",
            first_year_minor=to_minor(price) if price not in (None, "") else None,
            renewal_minor=to_minor(renewal["price"]) if renewal.get("price") else None,
            # Porkbun's API registers the registry minimum only: that is the only term.
            min_years=min_years, max_years=min_years)

    def requirements(self, name: str) -> Requirements:
        tld = parse(name).suffix
        if tld not in self._requirements:
            body = self._call("GET", f"domain/getRegistrationRequirements/{tld}",
                              what=f"ask what .{tld} needs", safe_to_repeat=True)
            years = int(body.get("registrationDurationYears") or 1)
            self._requirements[tld] = Requirements(
                tld=tld, api_registerable=bool(body.get("apiRegisterable", True)),
                reason=self.api.clean(str(body.get("notApiRegisterableReason") or "")),
                min_years=years, max_years=years)
        return self._requirements[tld]

    def dry_run(self, offer: Offer, years: int) -> DryRun:
        body = self._call("POST", f"domain/create/{offer.name}", what=f"try buying {offer.name}",
                          json=self._order(offer, years) | {"dryRun": True},
                          safe_to_repeat=True, buying=True)
        cost = body.get("cost")
        return DryRun(would_succeed=bool(body.get("wouldSucceed")),
                      cost_minor=int(cost) if isinstance(cost, int) else None,
                      message=self.api.clean(str(body.get("message") or "")),
                      sufficient_funds=body.get("sufficientFunds") is not False)

    def register(self, offer: Offer, years: int, idempotency_key: str) -> Receipt:
        body = self._call("POST", f"domain/create/{offer.name}", what=f"buy {offer.name}",
                          json=self._order(offer, years),
                          headers={"Idempotency-Key": idempotency_key},
                          safe_to_repeat=False, buying=True)
        cost = body.get("cost")
        return Receipt(name=offer.name, state="registered",
                       charged_minor=int(cost) if isinstance(cost, int) else None,
                       order_ref=str(body.get("orderId") or ""))

    def status(self, name: str, order_ref: str) -> Receipt:
        owned = self.owned(name)
        return Receipt(name=name, state="registered" if owned else "pending", order_ref=order_ref)

    def owned(self, name: str) -> Owned | None:
        return next((d for d in self.list() if d.name == name), None)

    def list(self) -> list[Owned]:
        found: list[Owned] = []
        for page in range(100):
            body = self._call("GET", "domain/listAll", what="list the account's domains",
                              params={"start": page * 1000}, safe_to_repeat=True)
            domains = [d for d in body.get("domains") or [] if isinstance(d, dict)]
            found += [Owned(name=str(d.get("domain", "")).lower(),
                            expires_at=str(d.get("expireDate") or ""),
                            auto_renew=str(d.get("autoRenew")) in ("1", "True", "true", "on"),
                            status=str(d.get("status") or "").lower()) for d in domains]
            if len(domains) < 1000:
                break
        return found

    def dns(self, name: str) -> PorkbunDns:
        return PorkbunDns(self, name)

    # Porkbun ---------------------------------------------------------------------------------
    def _order(self, offer: Offer, years: int) -> dict[str, Any]:
        if not offer.min_years <= years <= offer.max_years:
            raise e.UnsupportedTerm(
                f"Porkbun's API registers {offer.name} for {offer.min_years} year(s) only, not "
                f"{years}", hint=f"buy it with --years {offer.min_years}, then renew later")
        price = offer.price_for(years)
        if price is None:
            raise e.RegistrarError(f"Porkbun gave no price for {offer.name}")
        return {"cost": price, "agreeToTerms": "yes"}

    def _call(self, method: str, path: str, *, what: str, safe_to_repeat: bool,
              buying: bool = False, **kwargs: Any) -> dict[str, Any]:
        response = self.api.send(method, path, what=what, safe_to_repeat=safe_to_repeat,
                                 wait_hint=_ttl_remaining, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if response.status_code >= 500 or response.is_success:
                raise e.RegistrarUnavailable(
                    f"Porkbun answered HTTP {response.status_code} without JSON when asked to "
                    f"{what}", hint="try again in a few minutes")
            raise e.RegistrarError(f"Porkbun refused to {what} (HTTP {response.status_code})")
        if response.is_success and body.get("status") == "SUCCESS":
            return body
        raise self._error(response.status_code, body, what, buying)

    def _error(self, status: int, body: dict[str, Any], what: str, buying: bool) -> Exception:
        code = str(body.get("code") or "")
        message = self.api.clean(str(body.get("message") or f"HTTP {status}"))
        action = body.get("next_action") if isinstance(body.get("next_action"), dict) else {}
        kind = str(action.get("type") or "")
        hint = self.api.clean(str(action.get("hint") or "")) or None
        said = f"Porkbun refused to {what}: {message}" + (f" ({code})" if code else "")
        if code in AUTH_CODES or kind == "authenticate" or status in (401, 403):
            return e.RegistrarAuthError(said, hint=KEY_HINT)
        if code == "INSUFFICIENT_FUNDS" or kind == "add_funds":
            return e.InsufficientFunds(said, hint=hint or "add credit to the Porkbun account")
        if code == "DOMAIN_NOT_AVAILABLE":
            return e.NameTaken(said, hint="search for another name: appforge domain search")
        if kind == "use_website":
            return e.NotApiRegisterable(said, hint=hint or "register it on porkbun.com")
        if code in PRICE_CODES or (buying and kind == "fix_request" and "cost" in message.lower()):
            return e.PriceChanged(said, hint="run the buy again to see the new price")
        if code == "IDEMPOTENCY_KEY_IN_USE":
            return e.RegistrarUnavailable(said, hint="the first attempt is still running at "
                                          "Porkbun; run the same buy again in a minute")
        if code == "RATE_LIMIT_EXCEEDED":
            return e.RateLimited(said, hint="wait a minute, then run the command again")
        if status >= 500:
            return e.RegistrarUnavailable(said, hint="try again in a few minutes")
        return e.RegistrarError(said, hint=hint)


def _ttl_remaining(response: httpx.Response) -> float | None:
    try:
        ttl = response.json().get("ttlRemaining")
    except (ValueError, AttributeError):
        return None
    return float(math.ceil(ttl)) if isinstance(ttl, (int, float)) and ttl >= 0 else None


class PorkbunDns:
    """The DNS records of one Porkbun domain (``zone``), as a :class:`DnsProvider`."""

    name = "porkbun"

    def __init__(self, porkbun: Porkbun, zone: str) -> None:
        self._porkbun = porkbun
        self.zone = zone

    def __repr__(self) -> str:
        return f"PorkbunDns(zone={self.zone!r})"

    def ensure_records(self, records: list[DnsRecord]) -> list[str]:
        self._check_names([r.name for r in records])
        changes = plan_changes(records, self._records())
        lines = []
        for change in changes:
            self._apply(change)
            lines.append(change.describe())
        return lines

    def delete_records(self, names: list[str]) -> list[str]:
        self._check_names(names)
        lines = []
        for record in self._records():
            if record.name in names and record.type in ("A", "AAAA", "CNAME"):
                self._apply(Change("delete", current=record))
                lines.append(f"deleted {record}")
        return lines

    def _check_names(self, names: list[str]) -> None:
        for name in names:
            if name != self.zone and not name.endswith("." + self.zone):
                raise e.RegistrarError(f"{name} is not in the Porkbun zone {self.zone}")

    def _records(self) -> list[RemoteRecord]:
        body = self._porkbun._call("GET", f"dns/retrieve/{self.zone}", safe_to_repeat=True,
                                   what=f"list the DNS records of {self.zone}")
        found = []
        for item in body.get("records") or []:
            if not isinstance(item, dict):
                continue
            try:
                found.append(RemoteRecord(
                    id=str(item["id"]), type=str(item.get("type", "")).upper(),
                    name=str(item.get("name", "")).lower().rstrip("."),
                    content=str(item.get("content", "")), ttl=int(item.get("ttl") or 600)))
            except (KeyError, TypeError, ValueError):
                continue
        return found

    def _apply(self, change: Change) -> None:
        if change.action == "unchanged":
            return
        if change.action == "delete":
            assert change.current is not None
            self._porkbun._call("POST", f"dns/delete/{self.zone}/{change.current.id}", json={},
                                what=f"delete {change.current}", safe_to_repeat=True)
            return
        record = change.record
        assert record is not None
        sub = record.name[: -len(self.zone)].rstrip(".")
        payload = {"type": record.type, "name": sub, "content": record.content,
                   "ttl": str(max(60, record.ttl))}
        if change.action == "update" and change.current is not None:
            self._porkbun._call("POST", f"dns/edit/{self.zone}/{change.current.id}",
                                json=payload, what=f"update {record}", safe_to_repeat=True)
        else:
            self._porkbun._call("POST", f"dns/create/{self.zone}", json=payload,
                                what=f"create {record}", safe_to_repeat=False)
