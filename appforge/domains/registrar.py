"""The Registrar contract, what it returns, and the one place that picks a registrar.

A registrar checks names (availability and price), says what a registration needs, registers,
and lists what the account owns. Every amount is an integer in minor units of ``currency``.
Clients raise the errors of :mod:`appforge.domains.errors`; :class:`RegistrarUnavailable` from
``register`` means "the outcome is unknown", which the purchase records as *in doubt*.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from appforge.config import Settings
from appforge.errors import InvalidInput

if TYPE_CHECKING:
    import httpx

    from appforge.dns.provider import DnsProvider

REGISTRARS = ("porkbun", "cloudflare", "namecheap")


@dataclass(frozen=True)
class Offer:
    """A name as the registrar sells it now (prices per year; None where it gave none)."""

    name: str
    available: bool
    api_registerable: bool = True
    premium: bool = False
    reason: str = ""
    currency: str = "USD"
    first_year_minor: int | None = None
    renewal_minor: int | None = None
    min_years: int = 1
    max_years: int = 10

    def price_for(self, years: int) -> int | None:
        """The total for ``years``: the first year, then renewals."""
        if self.first_year_minor is None:
            return None
        renewal = self.renewal_minor if self.renewal_minor is not None else self.first_year_minor
        return self.first_year_minor + (years - 1) * renewal

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Requirements:
    """What registering under a TLD takes at this registrar."""

    tld: str
    api_registerable: bool
    reason: str = ""
    min_years: int = 1
    max_years: int = 10
    #: The registrar needs contact details sent with the order (not the account's own).
    contacts_needed: bool = False


@dataclass(frozen=True)
class DryRun:
    would_succeed: bool
    cost_minor: int | None
    message: str = ""
    sufficient_funds: bool = True


@dataclass(frozen=True)
class Receipt:
    """The outcome of a registration: ``charged_minor`` None when the registrar does not say."""

    name: str
    state: Literal["registered", "pending", "failed"]
    charged_minor: int | None = None
    order_ref: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Owned:
    """A domain the account holds."""

    name: str
    expires_at: str = ""
    auto_renew: bool = False
    status: str = ""


class Registrar(Protocol):
    """One registrar's API, as appforge uses it."""

    name: str
    sandbox: bool
    #: A create sent again with the same key cannot charge twice (Porkbun's Idempotency-Key).
    resend_safe: bool
    #: Seconds between availability checks the registrar allows (Porkbun: 10), 0 for none.
    check_interval: float

    def check(self, names: list[str]) -> list[Offer]: ...

    def requirements(self, name: str) -> Requirements: ...

    def dry_run(self, offer: Offer, years: int) -> DryRun | None:
        """None: the registrar has no dry run."""
        ...

    def register(self, offer: Offer, years: int, idempotency_key: str) -> Receipt: ...

    def status(self, name: str, order_ref: str) -> Receipt: ...

    def owned(self, name: str) -> Owned | None: ...

    def list(self) -> list[Owned]: ...

    def dns(self, name: str) -> DnsProvider | None: ...

    def close(self) -> None: ...


def get_registrar(settings: Settings, transport: httpx.BaseTransport | None = None) -> Registrar:
    """The registrar ``settings.registrar`` names, with its credentials; refuses ``none``."""
    from appforge.domains.credentials import load_credentials

    choice = settings.registrar
    if choice == "none":
        raise InvalidInput("no registrar is configured",
                           hint="set APPFORGE_REGISTRAR to one of: " + ", ".join(REGISTRARS))
    creds = load_credentials(settings)
    if choice == "porkbun":
        from appforge.domains.porkbun import Porkbun

        return Porkbun(creds, api_base=settings.registrar_api_base,
                       sandbox=settings.registrar_sandbox, transport=transport)
    if choice == "cloudflare":
        from appforge.domains.cloudflare_registrar import CloudflareRegistrar

        return CloudflareRegistrar(creds, api_base=settings.registrar_api_base
                                   or settings.cloudflare_api_base,
                                   sandbox=settings.registrar_sandbox, transport=transport)
    if choice == "namecheap":
        from appforge.domains.namecheap import Namecheap

        return Namecheap(creds, api_base=settings.registrar_api_base,
                         sandbox=settings.registrar_sandbox, transport=transport)
    raise InvalidInput(f"unknown registrar {choice!r}",
                       hint="set APPFORGE_REGISTRAR to one of: " + ", ".join(REGISTRARS))
