"""The resumable purchase of one name: money is never spent twice, and every step is recorded.

validate → quote → money gates (no budget; over ``--max-price``; over what is left of the
budget; no ``--yes``: show the quote and stop) → dry run where the registrar has one, else a fresh
quote (a changed price stops the purchase) → the ``submitting`` row, with its idempotency key,
committed *before* the create call → register → ``registered`` / ``pending`` / ``in_doubt``.
A second ``buy`` of a name with a live purchase resumes it: it asks the registrar whether the
account owns the name before anything else, and sends a create again only where that cannot
charge twice (Porkbun's Idempotency-Key, or the registrar shows the name still free). A file lock
per name keeps two appforge processes from buying the same name at once.

Once the name is owned and an app is named, the steps that point it at the app run
(``appforge.domains.connect``: records → propagation → attach → certificate → check), each
recorded in ``domain_steps``.
"""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from appforge.config import Settings
from appforge.domains import errors as e
from appforge.domains.money import BUDGET_CURRENCY, Budget, format_minor, to_minor
from appforge.domains.names import Name, check_purchase
from appforge.domains.registrar import Offer, Receipt, Registrar
from appforge.errors import AppforgeError, InvalidInput
from appforge.store import Store
from appforge.store.domains import BudgetExceeded, DomainStore, LivePurchaseExists, Purchase

Log = Callable[[str], None]
#: Called with (step, status, detail) as each step ends: "done", "skipped" or "failed".
OnStep = Callable[[str, str, str], None]


@dataclass
class BuyResult:
    """What a ``buy`` did, for the CLI, the dashboard and the chat."""

    name: str
    unicode: str
    registrar: str
    sandbox: bool
    state: str
    years: int
    currency: str
    quoted_minor: int | None
    renewal_minor: int | None
    charged_minor: int | None = None
    charged_source: str = ""
    purchase_id: int | None = None
    app: str | None = None
    budget: dict[str, int] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["quoted"] = format_minor(self.quoted_minor, self.currency)
        data["charged"] = format_minor(self.charged_minor, self.currency)
        return data


def buy(settings: Settings, registrar: Registrar, name: str, *, slug: str | None = None,
        years: int = 1, max_price: Decimal | str | None = None, yes: bool = False,
        log: Log = lambda _m: None, on_step: OnStep | None = None) -> BuyResult:
    """Buy ``name`` (or resume its live purchase); see the module docstring."""
    apps = Store(settings.db_path)
    checked = check_purchase(name, base_domain=settings.base_domain, store=apps, slug=slug)
    if slug is not None:
        apps.get_app(slug)  # an unknown app fails here, before any money
    if not 1 <= years <= 10:
        raise InvalidInput(f"--years {years}: a domain is registered for 1 to 10 years")
    max_minor = to_minor(max_price, what="--max-price") if max_price is not None else None
    run = _Run(settings, registrar, DomainStore(settings.db_path), apps, checked, slug, years,
               max_minor, log, on_step)
    with name_lock(settings.home, checked.ascii):
        live = run.purchases.live(checked.ascii)
        if live is not None:
            return run.resume(live)
        return run.new(yes)


@contextmanager
def name_lock(home: Path, name: str) -> Iterator[None]:
    """Hold the purchase lock of ``name``, or fail at once saying another process holds it."""
    path = home / "locks" / f"domain-{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another appforge process"
            raise e.PurchaseBusy(f"{name} is being bought right now by {holder}",
                                 hint="wait for it to finish, then `appforge domain list`") \
                from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class _Run:
    """One ``buy`` call: the name, the money limits, and where each step is written."""

    def __init__(self, settings: Settings, registrar: Registrar, purchases: DomainStore,
                 apps: Store, checked: Name, slug: str | None, years: int,
                 max_minor: int | None, log: Log, on_step: OnStep | None) -> None:
        self.settings = settings
        self.registrar = registrar
        self.purchases = purchases
        self.apps = apps
        self.name = checked
        self.slug = slug
        self.years = years
        self.max_minor = max_minor
        self.log = log
        self.on_step = on_step
        self.offer: Offer | None = None
        self.purchase: Purchase | None = None

    # A new purchase ---------------------------------------------------------------------------
    def new(self, yes: bool) -> BuyResult:
        name = self.name.ascii
        self.log(f"asking {self.registrar.name} about {self.name.shown()}")
        offer = self.registrar.check([name])[0]
        self.offer = offer
        quote = offer.price_for(self.years)
        try:
            if not offer.available and self.registrar.owned(name) is not None:
                raise e.NameTaken(
                    f"{self.name.shown()} is already in your {self.registrar.name} account; "
                    "nothing was bought", hint=f"point it at an app: appforge domain attach "
                    f"{name} {self.slug or 'SLUG'}")
            self._offer_gates(offer, quote)
            assert quote is not None
            budget = self._money_gates(quote)
        except e.REFUSALS as exc:
            self._refused(quote, str(exc))
            raise
        self.log(f"{self.name.shown()}: {format_minor(quote, offer.currency)} for {self.years} "
                 f"year(s), renewal {format_minor(offer.renewal_minor, offer.currency)}/year "
                 f"({budget.describe()})")
        self.purchase = self._record("quoted", quote, "" if yes else "not confirmed (no --yes)")
        self._step("quote", "done", f"{format_minor(quote, offer.currency)} for {self.years} "
                   "year(s)")
        if not yes:
            return self._result(message=f"not bought: {self.name.ascii} costs "
                                f"{format_minor(quote, offer.currency)}; buy it with --yes")
        _pause(self.settings, "domain:quoted")
        try:
            self._check_again(offer, quote)
        except e.REFUSALS as exc:
            self._fail("refused", str(exc))
            raise
        return self._register(offer)

    def _offer_gates(self, offer: Offer, quote: int | None) -> None:
        shown = self.name.shown()
        if not offer.available:
            raise e.NameTaken(f"{shown} is taken", hint="search for another name: appforge "
                              "domain search WORDS")
        if not offer.api_registerable:
            raise e.NotApiRegisterable(
                f"{self.registrar.name} does not register {shown} through its API"
                + (f": {offer.reason}" if offer.reason else ""),
                hint=f"register it on {self.registrar.name}'s website, or pick another ending")
        if offer.premium:
            raise e.PremiumName(f"{shown} is a premium name; appforge does not buy premium "
                                "names", hint="pick another name: appforge domain search WORDS")
        if not offer.min_years <= self.years <= offer.max_years:
            span = str(offer.min_years) if offer.min_years == offer.max_years else \
                f"{offer.min_years} to {offer.max_years}"
            raise e.UnsupportedTerm(f"{self.registrar.name} registers {shown} for {span} "
                                    f"year(s) through its API, not {self.years}",
                                    hint=f"use --years {offer.min_years}")
        if quote is None:
            raise e.PurchaseRefused(f"{self.registrar.name} gave no price for {shown}")
        if offer.currency != BUDGET_CURRENCY:
            raise e.PurchaseRefused(f"{self.registrar.name} prices {shown} in {offer.currency}; "
                                    f"the budget is in {BUDGET_CURRENCY}")

    def _money_gates(self, quote: int) -> Budget:
        shown = self.name.shown()
        price = format_minor(quote)
        if self.settings.domain_budget is None:
            raise e.NoBudget(f"no domain budget is set, so appforge buys no domain ({shown} "
                             f"costs {price})", hint="set APPFORGE_DOMAIN_BUDGET to the US "
                             "dollars all purchases together may spend, e.g. 30")
        if self.max_minor is not None and quote > self.max_minor:
            raise e.OverBudget(f"{shown} costs {price}, more than --max-price "
                               f"{format_minor(self.max_minor)}")
        budget = Budget(to_minor(self.settings.domain_budget, what="APPFORGE_DOMAIN_BUDGET"),
                        self.purchases.spent_minor(BUDGET_CURRENCY))
        if not budget.allows(quote):
            raise e.OverBudget(f"{shown} costs {price}, more than is left of the domain budget "
                               f"({budget.describe()})",
                               hint="raise APPFORGE_DOMAIN_BUDGET, or pick a cheaper name")
        return budget

    def _check_again(self, offer: Offer, quote: int) -> None:
        """The registrar's dry run, else a fresh quote: a price that moved stops here."""
        dry = self.registrar.dry_run(offer, self.years)
        moved = "the price of {} changed from {} to {} since the quote; nothing was bought"
        if dry is not None:
            if dry.cost_minor is not None and dry.cost_minor != quote:
                raise e.PriceChanged(moved.format(self.name.ascii, format_minor(quote),
                                                  format_minor(dry.cost_minor)),
                                     hint="run the buy again to see the new price")
            if not dry.would_succeed:
                cls = e.PurchaseRefused if dry.sufficient_funds else e.InsufficientFunds
                raise cls(f"{self.registrar.name}'s dry run says the purchase of "
                          f"{self.name.ascii} would fail: {dry.message or 'no reason given'}")
            self._step("dry_run", "done", dry.message or "the registrar would accept the order")
            self._update(state="dry_run_ok")
            return
        self._step("dry_run", "skipped", f"{self.registrar.name} has no dry run; asked again")
        again = self.registrar.check([self.name.ascii])[0]
        if not again.available:
            raise e.NameTaken(f"{self.name.ascii} was taken since the quote")
        if again.price_for(self.years) != quote:
            raise e.PriceChanged(moved.format(self.name.ascii, format_minor(quote),
                                              format_minor(again.price_for(self.years))),
                                 hint="run the buy again to see the new price")

    def _register(self, offer: Offer) -> BuyResult:
        assert self.purchase is not None
        assert self.settings.domain_budget is not None  # the money gates refused otherwise
        total = to_minor(self.settings.domain_budget, what="APPFORGE_DOMAIN_BUDGET")
        try:  # committed before the create call, with the budget checked in the same breath
            self.purchase = self.purchases.claim(self.purchase.id, total)
        except LivePurchaseExists as exc:  # cannot happen under the lock; never pay twice
            return self.resume(exc.purchase)
        except BudgetExceeded as exc:
            refused = e.OverBudget(
                f"{self.name.shown()} costs {format_minor(self.purchase.quoted_minor)}, more than "
                f"is left of the domain budget now that other purchases went ahead "
                f"({Budget(total, exc.spent_minor).describe()}); nothing was bought",
                hint="raise APPFORGE_DOMAIN_BUDGET, or pick a cheaper name")
            self._fail("refused", str(refused), step="register")
            raise refused from None
        self.log(f"registering {self.name.ascii} at {self.registrar.name}"
                 + (" (sandbox)" if self.registrar.sandbox else ""))
        _pause(self.settings, "domain:submitting")
        return self._send(offer)

    def _send(self, offer: Offer) -> BuyResult:
        assert self.purchase is not None
        try:
            receipt = self.registrar.register(offer, self.years, self.purchase.idempotency_key)
        except e.RegistrarUnavailable as exc:
            self._update(state="in_doubt", reason=str(exc))
            self._step("register", "failed", f"no answer: {exc}")
            raise e.PurchaseInDoubt(
                f"the order for {self.name.ascii} was sent, but {self.registrar.name} gave no "
                f"answer; it may or may not be bought ({exc})",
                hint=f"run the same `appforge domain buy {self.name.ascii}` again: it asks the "
                "registrar first and never pays twice") from None
        except AppforgeError as exc:
            self._fail("failed", str(exc))
            raise
        _pause(self.settings, "domain:registered")
        return self._settle(receipt)

    def _settle(self, receipt: Receipt) -> BuyResult:
        assert self.purchase is not None
        quote = self.purchase.quoted_minor
        if receipt.state == "failed":
            self._fail("failed", receipt.detail or "the registrar says the order failed")
            raise e.RegistrarError(f"{self.registrar.name} says the order for "
                                   f"{self.name.ascii} failed: {receipt.detail or 'no reason'}",
                                   hint="nothing was registered; see `appforge domain list`")
        values: dict[str, Any] = {"state": receipt.state, "reason": receipt.detail}
        if receipt.order_ref:
            values["order_ref"] = receipt.order_ref
        if receipt.charged_minor is not None:
            values.update(charged_minor=receipt.charged_minor, charged_source="registrar")
        elif receipt.state == "registered" and self.purchase.charged_minor is None:
            values.update(charged_minor=quote, charged_source="quote")
        self._update(**values)
        if receipt.state == "pending":
            waiting = receipt.detail or "the registry has not confirmed it yet"
            self._step("register", "done", f"ordered; {waiting}")
            return self._result(message=f"{self.name.ascii} is ordered and not yet registered "
                                f"({waiting}); run the same buy again later to finish")
        charged = self.purchase.charged_minor
        self._step("register", "done", f"registered; charged {format_minor(charged)}"
                   + (" (as quoted; the registrar reports no amount)"
                      if self.purchase.charged_source == "quote" else ""))
        if charged is not None and charged > quote:
            self.log(f"warning: charged {format_minor(charged)}, more than the quote "
                     f"{format_minor(quote)}")
        return self._connect()

    # Resuming ---------------------------------------------------------------------------------
    def resume(self, live: Purchase) -> BuyResult:
        self.purchase = live
        if self.slug is not None and live.slug != self.slug:
            self._update(slug=self.slug)
        if live.state == "registered":
            self.log(f"{live.name} is already bought (purchase {live.id}); going on from there")
            return self._connect()
        self.log(f"resuming purchase {live.id} of {live.name} ({live.state}): asking "
                 f"{self.registrar.name} whether the account owns it")
        if self.registrar.owned(live.name) is not None:
            return self._settle(Receipt(live.name, "registered", order_ref=live.order_ref,
                                        detail="found in the account on resume"))
        if live.state == "pending" and live.order_ref:
            receipt = self.registrar.status(live.name, live.order_ref)
            if receipt.state != "pending" or not self.registrar.resend_safe:
                return self._settle(receipt)
        offer = self._offer_of(live)
        if not self.registrar.resend_safe:
            again = self.registrar.check([live.name])[0]
            if not again.available:
                self._fail("failed", "someone else registered it; it is not in this account")
                raise e.NameTaken(f"{live.name} was registered, but not by this account; "
                                  "nothing was bought", hint="pick another name")
            if again.price_for(self.years) != live.quoted_minor:
                self._fail("failed", "the price changed before the order went through")
                raise e.PriceChanged(f"{live.name} now costs "
                                     f"{format_minor(again.price_for(self.years))}, not the "
                                     f"{format_minor(live.quoted_minor)} quoted; nothing was "
                                     "bought", hint="run the buy again to see the new price")
            offer = again
        self.log(f"the order never went through; sending it again (same key "
                 f"{live.idempotency_key[:8]}…)")
        self._update(state="submitting")
        return self._send(offer)

    def _offer_of(self, live: Purchase) -> Offer:
        renewal = live.renewal_minor or 0
        first = live.quoted_minor - (live.years - 1) * renewal
        return Offer(name=live.name, available=True, currency=live.currency,
                     first_year_minor=first, renewal_minor=live.renewal_minor,
                     min_years=live.years, max_years=live.years)

    # Pointing the name at the app -------------------------------------------------------------
    def _connect(self) -> BuyResult:
        assert self.purchase is not None
        slug = self.slug or self.purchase.slug
        if slug is None:
            return self._result(message=f"{self.name.ascii} is yours; attach it to an app with "
                                f"`appforge domain attach {self.name.ascii} SLUG`")
        try:
            message = connect_to_app(self.settings, self.apps, self.registrar, self.name.ascii,
                                     slug, self.log, self._step)
        except AppforgeError as exc:
            # The money part is done: say so, and how to go on, whatever step failed.
            again = (f"{self.name.ascii} is bought (nothing more will be charged); run the same "
                     f"`appforge domain buy {self.name.ascii} --app {slug}` again to go on")
            exc.hint = again + (f"; {exc.hint}" if exc.hint else "")
            raise
        return self._result(message=message)

    # Records ----------------------------------------------------------------------------------
    def _record(self, state: str, quote: int | None, reason: str) -> Purchase:
        offer = self.offer
        return self.purchases.add(
            name=self.name.ascii, registrar=self.registrar.name, sandbox=self.registrar.sandbox,
            slug=self.slug, years=self.years, currency=offer.currency if offer else "USD",
            quoted_minor=quote or 0, renewal_minor=offer.renewal_minor if offer else None,
            max_price_minor=self.max_minor, state=state, reason=reason,
            idempotency_key=str(uuid.uuid4()))

    def _refused(self, quote: int | None, reason: str) -> None:
        self.purchase = self._record("refused", quote, reason)
        self._step("quote", "failed", reason)

    def _fail(self, state: str, reason: str, step: str | None = None) -> None:
        self._update(state=state, reason=reason)
        self._step(step or ("register" if state == "failed" else "dry_run"), "failed", reason)

    def _update(self, **values: Any) -> None:
        assert self.purchase is not None
        self.purchase = self.purchases.update(self.purchase.id, **values)

    def _step(self, step: str, status: str, detail: str) -> None:
        if self.purchase is not None:
            self.purchases.record_step(self.purchase.id, step, status, detail)
        if self.on_step is not None:
            self.on_step(step, status, detail)

    def _result(self, message: str) -> BuyResult:
        p = self.purchase
        assert p is not None
        budget = {}
        if self.settings.domain_budget is not None:
            total = to_minor(self.settings.domain_budget)
            spent = self.purchases.spent_minor(p.currency)
            budget = {"total_minor": total, "spent_minor": spent,
                      "left_minor": max(0, total - spent)}
        return BuyResult(
            name=p.name, unicode=self.name.unicode, registrar=p.registrar, sandbox=p.sandbox,
            state=p.state, years=p.years, currency=p.currency, quoted_minor=p.quoted_minor,
            renewal_minor=p.renewal_minor, charged_minor=p.charged_minor,
            charged_source=p.charged_source, purchase_id=p.id, app=self.slug or p.slug,
            budget=budget, steps=self.purchases.steps(p.id), message=message)


def _pause(settings: Settings, point: str) -> None:
    """Crash tests only (``APPFORGE_TEST_PAUSE_AT=domain:quoted|domain:submitting|
    domain:registered``): wait there to be killed."""
    if settings.test_pause_at == point:
        from appforge.sandbox.deploy import pause_for_crash_tests

        pause_for_crash_tests(settings, point)


def connect_to_app(settings: Settings, apps: Store, registrar: Registrar | None, name: str,
                   slug: str, log: Log, on_step: OnStep) -> str:
    """Point ``name`` at the app ``slug`` through ``appforge.domains.connect`` (records,
    propagation, attach, certificate, check); returns the closing message. The records go to
    the registrar's DNS when it holds the name, else to the configured DNS provider
    (``APPFORGE_DNS_PROVIDER``), else they are shown for a person to make."""
    from appforge.dns import get_dns_provider
    from appforge.domains import connect as connecting
    from appforge.sandbox import engine

    dns = registrar.dns(name) if registrar is not None else get_dns_provider(settings)
    started = time.monotonic()

    def report(step: Any) -> None:
        on_step(step.step, step.status, step.detail)

    connecting.connect(settings, apps, engine.connect(settings), name, slug, dns, log,
                       on_step=report)
    took = time.monotonic() - started
    return f"{name} serves the app {slug} ({took:.0f} s to connect)"
