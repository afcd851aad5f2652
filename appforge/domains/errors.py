"""Errors of buying and managing domains, as part of appforge's one hierarchy.

Each says what happened in the user's terms and carries a hint; none ever carries a credential
(messages are built from names, prices and the registrar's own words, cleaned of anything that
looks like a key)::

    AppforgeError
    ├── InvalidDomain (appforge.errors)
    │   ├── ReservedName        .localhost, .test, example.com ...: never for sale
    │   ├── NotRegistrable      a sub-name or a public suffix: buy the registrable name instead
    │   └── NameAttached        another app answers at this name
    └── RegistrarError          the registrar failed, refused, or could not be reached
        ├── RegistrarAuthError  credentials missing, refused, or the client IP not allowed
        ├── RegistrarUnavailable no usable answer (timeout, connection lost, 5xx): for a
        │                       purchase, the outcome is unknown until the registrar is asked
        ├── RateLimited         the registrar kept answering "too many requests"
        ├── NameTaken           somebody owns the name
        ├── NotApiRegisterable  the registrar sells it only through its website
        ├── PremiumName         premium names are not bought through appforge
        ├── UnsupportedTerm     the registrar cannot register for that many years
        ├── InsufficientFunds   the registrar account has too little credit
        ├── PriceChanged        the price moved between the quote and the purchase
        ├── PurchaseRefused     a money gate or the registrar's dry run said no
        │   ├── NoBudget        APPFORGE_DOMAIN_BUDGET is not set: no purchase at all
        │   └── OverBudget      over --max-price or what is left of the budget
        ├── PurchaseBusy        another appforge process is buying this name right now
        └── PurchaseInDoubt     the create call was sent and no answer came back

Exit codes: 6 for a purchase refused before any money moved (``PurchaseRefused``, ``PriceChanged``,
``NameTaken``, ``PremiumName``, ``NotApiRegisterable``, ``UnsupportedTerm``, ``InsufficientFunds``),
7 for a purchase in doubt, 5 for busy (as ``AppBusy``), 1 for the rest.
"""

from __future__ import annotations

from appforge.errors import AppforgeError, InvalidDomain


class ReservedName(InvalidDomain):
    pass


class NotRegistrable(InvalidDomain):
    pass


class NameAttached(InvalidDomain):
    pass


class RegistrarError(AppforgeError):
    pass


class RegistrarAuthError(RegistrarError):
    pass


class RegistrarUnavailable(RegistrarError):
    pass


class RateLimited(RegistrarError):
    pass


class _Refusal(RegistrarError):
    """A "no" that moved no money."""

    exit_code = 6


class NameTaken(_Refusal):
    pass


class NotApiRegisterable(_Refusal):
    pass


class PremiumName(_Refusal):
    pass


class UnsupportedTerm(_Refusal):
    pass


class InsufficientFunds(_Refusal):
    pass


class PriceChanged(_Refusal):
    pass


class PurchaseRefused(_Refusal):
    pass


class NoBudget(PurchaseRefused):
    pass


class OverBudget(PurchaseRefused):
    pass


class PurchaseBusy(RegistrarError):
    exit_code = 5


class PurchaseInDoubt(RegistrarError):
    exit_code = 7


#: Refusals that happen before any money moves (recorded as ``refused`` purchases).
REFUSALS = (_Refusal,)
