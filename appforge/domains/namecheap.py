"""Namecheap's XML API: domains.check, users.getPricing, domains.create, getList, DNS hosts.

Documented formats (docs/design/domains-research.md §4): every call is a form POST (so the key
never appears in a URL) carrying ``ApiUser``, ``ApiKey``, ``UserName`` and a whitelisted IPv4
``ClientIp``; answers are ``<ApiResponse Status="OK|ERROR">`` with numbered ``<Error>``s.
``domains.check`` prices premium names only, so standard prices come from ``users.getPricing``
(cached for a search, asked again for a single name, which is how a purchase re-quotes).
``create`` reports ``ChargedAmount``; there is no dry run and no idempotency key. ``setHosts``
replaces every host record of a domain, so records are read, merged and written back whole.
"""

from __future__ import annotations

import ipaddress
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from appforge.dns.provider import RemoteRecord, plan_changes
from appforge.dns.records import RECORD_TYPES, DnsRecord
from appforge.domains import errors as e
from appforge.domains.credentials import CONTACT_FIELDS, Credentials
from appforge.domains.http import ApiClient
from appforge.domains.money import to_minor
from appforge.domains.names import parse
from appforge.domains.registrar import DryRun, Offer, Owned, Receipt, Requirements

PRODUCTION = "https://api.namecheap.com/xml.response"
SANDBOX = "https://api.sandbox.namecheap.com/xml.response"
AUTH_ERRORS = {"1011150", "1017150", "1017105", "1017101", "1016103", "1017411", "1011102",
               "1010101", "1010102"}
TAKEN_ERRORS = {"3019166", "4019166"}
NOT_API_ERRORS = {"2030280"}
#: Namecheap's create-error table has no insufficient-funds code; "order creation failed" is
#: the one a failed payment is believed to give (unverified, see the research memo §4).
FUNDS_ERRORS = {"2528166"}
AUTH_HINT = ("check APPFORGE_NAMECHEAP_API_USER, APPFORGE_NAMECHEAP_API_KEY and that "
             "APPFORGE_NAMECHEAP_CLIENT_IP is whitelisted (Profile → Tools → API Access)")
CONTACT_ROLES = ("Registrant", "Tech", "Admin", "AuxBilling")
CONTACT_PARAMS = {"first_name": "FirstName", "last_name": "LastName", "address1": "Address1",
                  "city": "City", "state_province": "StateProvince",
                  "postal_code": "PostalCode", "country": "Country", "phone": "Phone",
                  "email": "EmailAddress", "organization": "OrganizationName"}


class Namecheap:
    """A Namecheap account. ``api_base`` overrides the real URL (a test server)."""

    name = "namecheap"
    resend_safe = False
    check_interval = 0.0

    def __init__(self, creds: Credentials, *, api_base: str = "", sandbox: bool = False,
                 transport: httpx.BaseTransport | None = None) -> None:
        creds.require("namecheap_api_user", "namecheap_api_key", "namecheap_client_ip",
                      registrar="Namecheap")
        try:
            ip = ipaddress.ip_address(creds.namecheap_client_ip)
        except ValueError:
            ip = None
        if ip is None or ip.version != 4:
            raise e.RegistrarAuthError("APPFORGE_NAMECHEAP_CLIENT_IP must be this machine's "
                                       "public IPv4 address, whitelisted at Namecheap",
                                       hint=AUTH_HINT)
        key = creds.namecheap_api_key.get_secret_value()
        self.sandbox = sandbox
        url = (api_base or (SANDBOX if sandbox else PRODUCTION)).rstrip("/")
        base, _, self._path = url.rpartition("/")
        self.api = ApiClient("Namecheap", base, transport=transport, secrets=(key,))
        self._auth = {"ApiUser": creds.namecheap_api_user, "ApiKey": key,
                      "UserName": creds.namecheap_username or creds.namecheap_api_user,
                      "ClientIp": str(ip)}
        self.contact = dict(creds.contact)
        self._pricing: dict[tuple[str, str], int | None] = {}

    def __repr__(self) -> str:
        return f"Namecheap(api_base={self.api.base!r}, sandbox={self.sandbox})"

    def close(self) -> None:
        self.api.close()

    # Registrar -------------------------------------------------------------------------------
    def check(self, names: list[str]) -> list[Offer]:
        fresh = len(names) == 1  # a purchase's quote and re-quote: never from the cache
        results: dict[str, Element] = {}
        for start in range(0, len(names), 50):
            batch = names[start:start + 50]
            answer = self._call("namecheap.domains.check", what=f"check {', '.join(batch)}",
                                DomainList=",".join(batch))
            for item in answer.iter(_tag("DomainCheckResult")):
                results[item.get("Domain", "").lower()] = item
        return [self._offer(n, results.get(n), fresh) for n in names]

    def _offer(self, name: str, item: Element | None, fresh: bool) -> Offer:
        if item is None:
            return Offer(name=name, available=False, reason="no answer for it")
        premium = item.get("IsPremiumName", "").lower() == "true"
        fees = sum(to_minor(item.get(f) or "0") for f in ("IcannFee", "EapFee"))
        tld = parse(name).suffix
        if premium:
            first = to_minor(item.get("PremiumRegistrationPrice") or "0") + fees
            renewal: int | None = to_minor(item.get("PremiumRenewalPrice") or "0")
        else:
            standard = self._price("REGISTER", tld, fresh)
            first = standard + fees if standard is not None else None
            renewal = self._price("RENEW", tld, fresh)
        return Offer(name=name, available=item.get("Available", "").lower() == "true",
                     premium=premium, reason="" if item.get("Available", "").lower() == "true"
                     else "taken", first_year_minor=first, renewal_minor=renewal)

    def _price(self, action: str, tld: str, fresh: bool) -> int | None:
        if fresh or (action, tld) not in self._pricing:
            answer = self._call("namecheap.users.getPricing", what=f"ask the price of .{tld}",
                                ProductType="DOMAIN", ActionName=action,
                                ProductName=tld.upper())
            price = None
            for product in answer.iter(_tag("Product")):
                if product.get("Name", "").lower() != tld:
                    continue
                for item in product.iter(_tag("Price")):
                    if item.get("Duration") == "1" and item.get("DurationType", "YEAR") == "YEAR":
                        value = item.get("YourPrice") or item.get("Price")
                        price = to_minor(value) if value else None
            self._pricing[(action, tld)] = price
        return self._pricing[(action, tld)]

    def requirements(self, name: str) -> Requirements:
        return Requirements(tld=parse(name).suffix, api_registerable=True, contacts_needed=True)

    def dry_run(self, offer: Offer, years: int) -> DryRun | None:
        return None

    def register(self, offer: Offer, years: int, idempotency_key: str) -> Receipt:
        params: dict[str, str] = {"DomainName": offer.name, "Years": str(years),
                                  "AddFreeWhoisguard": "yes", "WGEnabled": "yes",
                                  **self._contacts()}
        if offer.premium:
            params.update(IsPremiumDomain="True",
                          PremiumPrice=f"{(offer.first_year_minor or 0) / 100:.2f}")
        answer = self._call("namecheap.domains.create", what=f"buy {offer.name}",
                            safe_to_repeat=False, **params)
        item = next(answer.iter(_tag("DomainCreateResult")), None)
        if item is None:
            raise e.RegistrarUnavailable(f"Namecheap's answer to the order for {offer.name} "
                                         "has no result")
        charged = item.get("ChargedAmount")
        registered = item.get("Registered", "").lower() == "true"
        pending = item.get("NonRealTimeDomain", "").lower() == "true"
        return Receipt(name=offer.name, state="pending" if pending or not registered
                       else "registered", charged_minor=to_minor(charged) if charged else None,
                       order_ref=item.get("OrderID", ""))

    def _contacts(self) -> dict[str, str]:
        missing = [f for f in CONTACT_FIELDS if not self.contact.get(f)]
        if missing:
            raise e.RegistrarError(
                "Namecheap needs the registrant's contact details with every order; missing: "
                + ", ".join(missing), hint="add a [contact] table (" + ", ".join(CONTACT_FIELDS)
                + ") to the file named by APPFORGE_REGISTRAR_CREDENTIALS")
        params = {}
        for role in CONTACT_ROLES:
            for key, param in CONTACT_PARAMS.items():
                if self.contact.get(key):
                    params[f"{role}{param}"] = self.contact[key]
        return params

    def status(self, name: str, order_ref: str) -> Receipt:
        owned = self.owned(name)
        return Receipt(name, "registered" if owned else "pending", order_ref=order_ref)

    def owned(self, name: str) -> Owned | None:
        return next((o for o in self._list(SearchTerm=name) if o.name == name), None)

    def list(self) -> list[Owned]:
        return self._list()

    def _list(self, **extra: str) -> list[Owned]:
        found: list[Owned] = []
        for page in range(1, 101):
            answer = self._call("namecheap.domains.getList", what="list the account's domains",
                                ListType="ALL", Page=str(page), PageSize="100", **extra)
            items = list(answer.iter(_tag("Domain")))
            found += [Owned(name=d.get("Name", "").lower(), expires_at=d.get("Expires", ""),
                            auto_renew=d.get("AutoRenew", "").lower() == "true",
                            status="expired" if d.get("IsExpired", "").lower() == "true"
                            else "active") for d in items]
            total = next(answer.iter(_tag("TotalItems")), None)
            if len(items) < 100 or total is None or len(found) >= int(total.text or 0):
                break
        return found

    def dns(self, name: str) -> NamecheapDns:
        return NamecheapDns(self, name)

    # Namecheap -------------------------------------------------------------------------------
    def _call(self, command: str, *, what: str, safe_to_repeat: bool = True,
              **params: str) -> Element:
        response = self.api.send("POST", self._path, what=what, safe_to_repeat=safe_to_repeat,
                                 data={**self._auth, "Command": command, **params})
        if response.status_code >= 500:
            raise e.RegistrarUnavailable(f"Namecheap answered HTTP {response.status_code} when "
                                         f"asked to {what}", hint="try again in a few minutes")
        try:
            root = ElementTree.fromstring(response.content)
        except (ElementTree.ParseError, DefusedXmlException):
            raise e.RegistrarUnavailable(f"Namecheap answered with something other than its "
                                         f"XML when asked to {what}") from None
        if root.get("Status") == "OK":
            return root
        errors = [(err.get("Number", ""), self.api.clean(err.text or ""))
                  for err in root.iter(_tag("Error"))]
        said = "; ".join(f"{text} ({number})" for number, text in errors) or "no reason given"
        message = f"Namecheap refused to {what}: {said}"
        numbers = {number for number, _ in errors}
        if numbers & AUTH_ERRORS:
            raise e.RegistrarAuthError(message, hint=AUTH_HINT)
        if numbers & TAKEN_ERRORS:
            raise e.NameTaken(message, hint="pick another name")
        if numbers & NOT_API_ERRORS:
            raise e.NotApiRegisterable(message, hint="register it on namecheap.com")
        if numbers & FUNDS_ERRORS:
            raise e.InsufficientFunds(message, hint="check the account's balance and payment "
                                      "method at namecheap.com")
        raise e.RegistrarError(message)


def _tag(name: str) -> str:
    return "{http://api.namecheap.com/xml.response}" + name


class NamecheapDns:
    """The host records of one Namecheap domain (``zone``), as a :class:`DnsProvider`.

    ``setHosts`` replaces the whole set, so each change reads every host, keeps those appforge
    does not manage (MX, TXT, other names), and writes the merged set back."""

    name = "namecheap"

    def __init__(self, namecheap: Namecheap, zone: str) -> None:
        self._nc = namecheap
        self.zone = zone
        checked = parse(zone)
        self._sld, self._tld = checked.label, checked.suffix

    def __repr__(self) -> str:
        return f"NamecheapDns(zone={self.zone!r})"

    def ensure_records(self, records: list[DnsRecord]) -> list[str]:
        hosts = self._hosts()
        current = [_remote(i, h, self.zone) for i, h in enumerate(hosts)]
        changes = plan_changes(records, [r for r in current if r.type in RECORD_TYPES])
        managed = {r.name for r in records}
        kept = [h for h, r in zip(hosts, current, strict=True)
                if not (r.name in managed and r.type in RECORD_TYPES)]
        wanted = [{"Name": self._host_name(r.name), "Type": r.type, "Address": r.content,
                   "TTL": str(max(60, r.ttl))} for r in records]
        if any(c.action != "unchanged" for c in changes):
            self._write(kept + wanted)
        return [c.describe() for c in changes]

    def delete_records(self, names: list[str]) -> list[str]:
        hosts = self._hosts()
        kept, lines = [], []
        for index, host in enumerate(hosts):
            record = _remote(index, host, self.zone)
            if record.name in names and record.type in RECORD_TYPES:
                lines.append(f"deleted {record}")
            else:
                kept.append(host)
        if lines:
            self._write(kept)
        return lines

    def _host_name(self, name: str) -> str:
        if name == self.zone:
            return "@"
        if not name.endswith("." + self.zone):
            raise e.RegistrarError(f"{name} is not in the Namecheap domain {self.zone}")
        return name[: -len(self.zone) - 1]

    def _hosts(self) -> list[dict[str, str]]:
        answer = self._nc._call("namecheap.domains.dns.getHosts", SLD=self._sld, TLD=self._tld,
                                what=f"read the DNS records of {self.zone}")
        return [{"Name": h.get("Name", ""), "Type": h.get("Type", ""),
                 "Address": h.get("Address", ""), "TTL": h.get("TTL", "1800"),
                 **({"MXPref": h.get("MXPref", "")} if h.get("Type") == "MX" else {})}
                for h in answer.iter(_tag("host"))]

    def _write(self, hosts: list[dict[str, str]]) -> None:
        params: dict[str, str] = {}
        for number, host in enumerate(hosts, start=1):
            params.update({f"HostName{number}": host["Name"], f"RecordType{number}": host["Type"],
                           f"Address{number}": host["Address"], f"TTL{number}": host["TTL"]})
            if host.get("MXPref"):
                params[f"MXPref{number}"] = host["MXPref"]
        self._nc._call("namecheap.domains.dns.setHosts", SLD=self._sld, TLD=self._tld,
                       what=f"write the DNS records of {self.zone}", safe_to_repeat=True,
                       **params)


def _remote(index: int, host: dict[str, str], zone: str) -> RemoteRecord:
    name = zone if host["Name"] in ("@", "") else f"{host['Name']}.{zone}"
    try:
        ttl = int(host["TTL"])
    except ValueError:
        ttl = 1800
    return RemoteRecord(id=str(index), type=host["Type"].upper(), name=name.lower(),
                        content=host["Address"].rstrip(".") if host["Type"] == "CNAME"
                        else host["Address"], ttl=ttl)


__all__ = ["Namecheap", "NamecheapDns"]
