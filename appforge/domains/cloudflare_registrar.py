"""Cloudflare Registrar over the v4 API: domain-check, registrations (a workflow), status, list.

Documented formats (docs/design/domains-research.md §3): prices are decimal strings with an ISO
currency; ``POST .../registrations`` answers ``201`` (done) or ``202`` (poll
``.../registrations/{name}/registration-status``) with a workflow whose ``state`` is pending,
in_progress, action_required, blocked, succeeded or failed. There is no dry run and no
idempotency key (the name itself is the key: it cannot be registered twice), and no charged
amount is reported, so the purchase records the quote (``charged_source = 'quote'``). The
sandbox is a separate path, ``/accounts/{id}/registrar-sandbox/...``. Records of a bought name go
through :class:`appforge.dns.cloudflare.CloudflareDns`, since Cloudflare serves its DNS.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from appforge.dns.cloudflare import AUTH_ERROR_CODES, DEFAULT_API_BASE, CloudflareDns
from appforge.domains import errors as e
from appforge.domains.credentials import Credentials
from appforge.domains.http import ApiClient
from appforge.domains.money import to_minor
from appforge.domains.names import parse
from appforge.domains.registrar import DryRun, Offer, Owned, Receipt, Requirements

CHECK_BATCH = 20
TOKEN_HINT = ("the token needs Registrar permissions (Registrar Sandbox for the sandbox), and "
              "APPFORGE_CLOUDFLARE_ACCOUNT_ID must name the account")
REASONS = {
    "extension_not_supported_via_api": "only in Cloudflare's dashboard",
    "extension_not_supported": "Cloudflare does not sell this ending",
    "extension_disallows_registration": "the registry does not allow registration",
    "domain_premium": "premium",
    "domain_unavailable": "taken",
}
CONTACT_KEYS = {"first_name", "last_name", "address1", "city", "state_province", "postal_code",
                "country", "phone", "email"}


class CloudflareRegistrar:
    """A Cloudflare account's registrar. ``api_base`` overrides the real URL (a test server)."""

    name = "cloudflare"
    resend_safe = False
    check_interval = 0.0

    def __init__(self, creds: Credentials, *, api_base: str = "", sandbox: bool = False,
                 transport: httpx.BaseTransport | None = None, poll_interval: float = 2.0,
                 poll_timeout: float = 60.0) -> None:
        creds.require("cloudflare_api_token", "cloudflare_account_id", registrar="Cloudflare")
        token = creds.cloudflare_api_token.get_secret_value()
        account = creds.cloudflare_account_id
        if not account.isalnum():
            raise e.RegistrarAuthError(f"APPFORGE_CLOUDFLARE_ACCOUNT_ID {account[:40]!r} is not "
                                       "an account id", hint=TOKEN_HINT)
        self.sandbox = sandbox
        self.api = ApiClient("Cloudflare", api_base or DEFAULT_API_BASE, transport=transport,
                             headers={"Authorization": f"Bearer {token}",
                                      "Accept": "application/json"}, secrets=(token,))
        self.prefix = f"accounts/{account}/" + ("registrar-sandbox" if sandbox else "registrar")
        self.contact = dict(creds.contact)
        self._token = creds.cloudflare_api_token
        self._transport = transport
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout

    def __repr__(self) -> str:
        return f"CloudflareRegistrar(api_base={self.api.base!r}, sandbox={self.sandbox})"

    def close(self) -> None:
        self.api.close()

    # Registrar -------------------------------------------------------------------------------
    def check(self, names: list[str]) -> list[Offer]:
        offers: dict[str, Offer] = {}
        for start in range(0, len(names), CHECK_BATCH):
            batch = names[start:start + CHECK_BATCH]
            body = self._call("POST", "domain-check", what=f"check {', '.join(batch)}",
                              json={"domains": batch}, safe_to_repeat=True)
            result = body.get("result") if isinstance(body.get("result"), dict) else {}
            for item in result.get("domains") or []:
                if isinstance(item, dict):
                    offer = self._offer(item)
                    offers[offer.name] = offer
        return [offers.get(n) or Offer(name=n, available=False, reason="no answer for it")
                for n in names]

    def _offer(self, item: dict[str, Any]) -> Offer:
        name = str(item.get("name", "")).lower()
        reason = str(item.get("reason") or "")
        pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
        currency = str(pricing.get("currency") or "USD").upper()
        first = pricing.get("registration_cost")
        renewal = pricing.get("renewal_cost")
        registrable = item.get("registrable") is True
        return Offer(
            name=name, available=registrable or reason in ("extension_not_supported_via_api",
                                                           "domain_premium"),
            api_registerable=registrable, premium=item.get("tier") == "premium"
            or reason == "domain_premium", reason=REASONS.get(reason, self.api.clean(reason)),
            currency=currency,
            first_year_minor=to_minor(first, currency) if first not in (None, "") else None,
            renewal_minor=to_minor(renewal, currency) if renewal not in (None, "") else None)

    def requirements(self, name: str) -> Requirements:
        # The sandbox has no express mode: every order carries the registrant's contact.
        return Requirements(tld=parse(name).suffix, api_registerable=True,
                            contacts_needed=self.sandbox)

    def dry_run(self, offer: Offer, years: int) -> DryRun | None:
        return None

    def register(self, offer: Offer, years: int, idempotency_key: str) -> Receipt:
        order: dict[str, Any] = {"domain_name": offer.name, "years": years,
                                 "auto_renew": False, "privacy_mode": "redaction"}
        if self.contact:
            order["contacts"] = {"registrant": _registrant(self.contact)}
        elif self.sandbox:
            raise e.RegistrarError(
                "Cloudflare's registrar sandbox needs the registrant's contact details",
                hint="add a [contact] table (first_name, last_name, address1, city, "
                "state_province, postal_code, country, phone, email) to the credentials file")
        response = self.api.send("POST", f"{self.prefix}/registrations", json=order,
                                 what=f"buy {offer.name}", safe_to_repeat=False)
        body = self._envelope(response, f"buy {offer.name}", buying=True)
        receipt = self._receipt(offer.name, body.get("result"))
        deadline = time.monotonic() + self.poll_timeout
        while receipt.state == "pending" and not receipt.detail \
                and time.monotonic() < deadline:
            time.sleep(self.poll_interval)
            receipt = self.status(offer.name, receipt.order_ref)
        return receipt

    def status(self, name: str, order_ref: str) -> Receipt:
        body = self._call("GET", f"registrations/{name}/registration-status",
                          what=f"ask how the order for {name} is going", safe_to_repeat=True)
        return self._receipt(name, body.get("result"))

    def _receipt(self, name: str, workflow: Any) -> Receipt:
        if not isinstance(workflow, dict):
            raise e.RegistrarUnavailable(f"Cloudflare's answer about {name} has no workflow")
        state = str(workflow.get("state") or "")
        links = workflow.get("links") if isinstance(workflow.get("links"), dict) else {}
        ref = str(links.get("self") or name)
        if state == "succeeded":
            return Receipt(name, "registered", order_ref=ref)
        if state == "failed":
            error = workflow.get("error") if isinstance(workflow.get("error"), dict) else {}
            return Receipt(name, "failed", order_ref=ref, detail=self.api.clean(
                f"{error.get('message') or 'failed'} ({error.get('code') or 'no code'})"))
        if state == "action_required":
            context = workflow.get("context") if isinstance(workflow.get("context"), dict) \
                else {}
            return Receipt(name, "pending", order_ref=ref, detail=self.api.clean(
                "Cloudflare needs a person to act in its dashboard: "
                + str(context.get("action") or "see the registrar page")))
        return Receipt(name, "pending", order_ref=ref)

    def owned(self, name: str) -> Owned | None:
        response = self.api.send("GET", f"{self.prefix}/registrations/{name}",
                                 what=f"look up {name}", safe_to_repeat=True)
        if response.status_code == 404:
            return None
        body = self._envelope(response, f"look up {name}")
        item = body.get("result")
        return _owned(item) if isinstance(item, dict) else None

    def list(self) -> list[Owned]:
        found: list[Owned] = []
        params: dict[str, Any] = {"per_page": 100}
        for _ in range(100):
            body = self._call("GET", "registrations", what="list the account's domains",
                              params=params, safe_to_repeat=True)
            found += [_owned(i) for i in body.get("result") or [] if isinstance(i, dict)]
            info = body.get("result_info") if isinstance(body.get("result_info"), dict) else {}
            cursor = info.get("cursor") or (info.get("cursors") or {}).get("after")
            if not cursor:
                break
            params["cursor"] = cursor
        return found

    def dns(self, name: str) -> CloudflareDns | None:
        if self.sandbox:
            return None  # the sandbox creates no zone: the records are shown, not made
        return CloudflareDns(self._token.get_secret_value(), self.api.base,
                             transport=self._transport)

    # Cloudflare ------------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, what: str, safe_to_repeat: bool,
              **kwargs: Any) -> dict[str, Any]:
        response = self.api.send(method, f"{self.prefix}/{path}", what=what,
                                 safe_to_repeat=safe_to_repeat, **kwargs)
        return self._envelope(response, what)

    def _envelope(self, response: httpx.Response, what: str,
                  buying: bool = False) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        status = response.status_code
        if isinstance(body, dict) and response.is_success and body.get("success") is True:
            return body
        if not isinstance(body, dict):
            if status >= 500 or response.is_success:
                raise e.RegistrarUnavailable(f"Cloudflare answered HTTP {status} without JSON "
                                             f"when asked to {what}")
            body = {}
        errors = [x for x in body.get("errors") or [] if isinstance(x, dict)]
        said = "; ".join(self.api.clean(f"{x.get('message', '')} (code {x.get('code')})")
                         for x in errors) or f"HTTP {status}"
        message = f"Cloudflare refused to {what}: {said}"
        if status in (401, 403) or any(x.get("code") in AUTH_ERROR_CODES for x in errors):
            return_error: e.RegistrarError = e.RegistrarAuthError(message, hint=TOKEN_HINT)
        elif status >= 500:
            return_error = e.RegistrarUnavailable(message, hint="try again in a few minutes")
        elif buying and status == 409:
            return_error = e.NameTaken(message, hint="pick another name")
        else:
            return_error = e.RegistrarError(message)
        raise return_error


def _owned(item: dict[str, Any]) -> Owned:
    return Owned(name=str(item.get("domain_name", "")).lower(),
                 expires_at=str(item.get("expires_at") or ""),
                 auto_renew=item.get("auto_renew") is True, status=str(item.get("status") or ""))


def _registrant(contact: dict[str, str]) -> dict[str, Any]:
    missing = sorted(k for k in CONTACT_KEYS if not contact.get(k))
    if missing:
        raise e.RegistrarError("the registrant contact is missing " + ", ".join(missing),
                               hint="complete the [contact] table of the credentials file")
    return {"email": contact["email"], "phone": contact["phone"], "postal_info": {
        "name": f"{contact['first_name']} {contact['last_name']}",
        **({"organization": contact["organization"]} if contact.get("organization") else {}),
        "address": {"street": contact["address1"], "city": contact["city"],
                    "state": contact["state_province"], "postal_code": contact["postal_code"],
                    "country_code": contact["country"]}}}
