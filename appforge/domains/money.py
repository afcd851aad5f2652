"""Money as integers: prices in minor units (cents), and the budget every purchase counts against.

Registrars speak decimal strings ("9.73", "20.3600") or integer cents; appforge keeps integer
minor units everywhere (store, comparisons, budget) so no float ever decides a purchase. A price
with a fraction of a cent is rounded *up*: appforge never believes a price is lower than it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from appforge.errors import InvalidInput

#: The only currency budgets are kept in (``APPFORGE_DOMAIN_BUDGET`` is in US dollars).
BUDGET_CURRENCY = "USD"
#: Minor units per major unit, for the currencies registrars quote in.
MINOR_DIGITS = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "JPY": 0}
#: No single domain price appforge will even consider (a typo guard: 100 000 dollars).
MAX_AMOUNT = Decimal(100000)


def parse_amount(value: object, *, what: str = "amount") -> Decimal:
    """A non-negative, finite decimal from a string, int or Decimal (never a float)."""
    if isinstance(value, (bool, float)):
        raise InvalidInput(f"{what} {value!r} must be a decimal string, not a float")
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{what} {str(value)[:40]!r} is not a number") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidInput(f"{what} {str(value)[:40]!r} must be zero or more")
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"{what} {amount} is more than appforge will ever spend on one name")
    return amount


def to_minor(value: object, currency: str = BUDGET_CURRENCY, *, what: str = "price") -> int:
    """``value`` in minor units of ``currency``, rounded up to the next whole unit."""
    digits = _digits(currency)
    scaled = parse_amount(value, what=what).scaleb(digits)
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


def from_minor(minor: int, currency: str = BUDGET_CURRENCY) -> Decimal:
    return Decimal(minor).scaleb(-_digits(currency))


def format_minor(minor: int | None, currency: str = BUDGET_CURRENCY) -> str:
    """``$9.73`` for US dollars, ``12.00 EUR`` for others, ``-`` for unknown."""
    if minor is None:
        return "-"
    amount = from_minor(minor, currency)
    text = f"{amount:,.{_digits(currency)}f}"
    return f"${text}" if currency == "USD" else f"{text} {currency}"


def _digits(currency: str) -> int:
    code = (currency or "").upper()
    if code not in MINOR_DIGITS:
        raise InvalidInput(f"unknown currency {currency!r}")
    return MINOR_DIGITS[code]


@dataclass(frozen=True)
class Budget:
    """What all purchases together may spend, and what they already took (minor units)."""

    total_minor: int
    spent_minor: int
    currency: str = BUDGET_CURRENCY

    @property
    def left_minor(self) -> int:
        return max(0, self.total_minor - self.spent_minor)

    def allows(self, price_minor: int) -> bool:
        return self.spent_minor + price_minor <= self.total_minor

    def describe(self) -> str:
        return (f"budget {format_minor(self.total_minor, self.currency)}, spent "
                f"{format_minor(self.spent_minor, self.currency)}, left "
                f"{format_minor(self.left_minor, self.currency)}")
