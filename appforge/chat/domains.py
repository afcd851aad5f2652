"""The chat's domain path: "get me a domain for this" searches, shows prices, waits for approval
(the same interrupt as a plan), and only then buys, within the budget, at the price shown.

    understand → offer_domain → review_domain ⟲ (pick another of the names) → buy_domain → END

Money always waits for a person: ``--yes`` approves plans, never purchases. Everything goes
through ``appforge.tools.domains``, as the CLI and the dashboard do.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from appforge.errors import AppforgeError

#: Asking to get a name (not "use the domain X", which changes the plan's own domain).
WANTS_DOMAIN = re.compile(
    r"\b(?:get|buy|find|register|purchase|want|need|search(?:\s+for)?)\b[^.?!]{0,40}?"
    r"\bdomain(?:\s+name)?s?\b|\bbuy\s+(?:the\s+(?:domain\s+|name\s+)?)?"
    r"[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+\b", re.IGNORECASE)
NAME = re.compile(r"\b([a-z0-9\u00a0-\uffff][a-z0-9\u00a0-\uffff-]*(?:\.[a-z0-9\u00a0-\uffff-]+)*"
                  r"\.[a-z\u00a0-\uffff][a-z0-9\u00a0-\uffff-]+)\b", re.IGNORECASE)
#: How many names the offer lists.
SHOWN = 5


def wants_domain(text: str) -> bool:
    return bool(WANTS_DOMAIN.search(text))


def _message(role: str, text: str, **extra: Any) -> dict[str, Any]:
    from appforge.chat.graph import message

    return message(role, text, **extra)


def offer_domain(state: dict[str, Any], runtime: Runtime[Any]) -> Command[Any]:
    """Search (a name in the message, else names from the app's plan) and offer the first name
    that can be bought; or say why none can."""
    from appforge.domains.money import format_minor
    from appforge.tools import domains as tools

    settings, slug, text = runtime.context.settings, state.get("slug"), state["input"]
    writer = get_stream_writer()
    named = [n for n in NAME.findall(text) if not n.lower().endswith((".localhost", ".local"))]
    try:
        found = tools.search(settings, named[:1], slug=slug, progress=lambda done, total, name:
                             writer({"stage": "domain", "message": f"checked {name} "
                                     f"({done}/{total})"}))
    except AppforgeError as exc:
        return _end(f"I could not search for a name: {_failed(exc)}")
    rows = found["names"]
    buyable = [r for r in rows if r.get("buyable")]
    lines = [_offer_line(r) for r in rows[:SHOWN + 3]]
    if not buyable:
        return _end("None of these names can be bought through " + found["registrar"] + ":\n"
                    + "\n".join(f"  {line}" for line in lines)
                    + "\nName another (\"buy bikeshop.dev\"), or ask with other words.")
    limit, _spent = tools.budget(settings)
    if limit is None:
        return _end("Prices at " + found["registrar"] + ":\n" + "\n".join(
            f"  {line}" for line in lines) + "\nNo domain budget is set "
            "(APPFORGE_DOMAIN_BUDGET), so I buy no name; set one and ask again.")
    offer = {"choice": buyable[0]["name"], "names": buyable[:SHOWN], "registrar":
             found["registrar"], "budget": f"budget {format_minor(limit.total_minor)}, "
             f"{format_minor(limit.left_minor)} left"}
    return Command(goto="review_domain", update={"domain_offer": offer, "messages": [
        _message("assistant", _offer_text(offer, state.get("slug")), kind="domain")]})


def review_domain(state: dict[str, Any], runtime: Runtime[Any]) -> Command[Any]:
    """Wait for the person: yes buys the chosen name, no buys nothing, a name picks another."""
    from appforge.chat.graph import answer_of

    offer = state["domain_offer"]
    chosen = _row(offer, offer["choice"])
    answer = interrupt({"kind": "domain", "summary": [_offer_line(r) for r in offer["names"]],
                        "changes": [_buy_line(chosen, state.get("slug")), offer["budget"]],
                        "spec": state.get("spec"), "host": chosen["name"]})
    if isinstance(answer, str):
        answer = answer_of(answer)
    said = answer.get("said") or answer.get("text") or answer["action"]
    if answer["action"] == "approve":
        return Command(goto="buy_domain", update={"messages": [_message("user", said)]})
    if answer["action"] == "cancel":
        return Command(goto=END, update={"domain_offer": None, "messages": [
            _message("user", said), _message("assistant", "Nothing was bought.")]})
    picked = next((r for r in offer["names"] for n in NAME.findall(answer["text"])
                   if n.lower() in (r["name"], r.get("unicode", "").lower())), None)
    if picked is None:
        reply = ("Say yes to buy " + chosen["name"] + ", no to buy nothing, or name one of: "
                 + ", ".join(r["name"] for r in offer["names"]) + ".")
        return Command(goto="review_domain", update={"messages": [
            _message("user", said), _message("assistant", reply)]})
    offer = {**offer, "choice": picked["name"]}
    return Command(goto="review_domain", update={"domain_offer": offer, "messages": [
        _message("user", said), _message("assistant", _offer_text(offer, state.get("slug")),
                                         kind="domain")]})


def buy_domain(state: dict[str, Any], runtime: Runtime[Any]) -> dict[str, Any]:
    """Buy the approved name at most at the price shown, then point it at the app."""
    from contextlib import nullcontext
    from decimal import Decimal

    from appforge.store.locks import app_lock
    from appforge.tools import domains as tools

    settings, offer, slug = runtime.context.settings, state["domain_offer"], state.get("slug")
    chosen = _row(offer, offer["choice"])
    writer = get_stream_writer()

    def say(line: str) -> None:
        writer({"stage": "domain", "message": line})

    try:
        # Pointing the name at the app changes the app: its lock, as every command holds it.
        with app_lock(settings.home, slug, say, wait_s=settings.lock_wait) if slug \
                else nullcontext():
            done = tools.buy(settings, chosen["name"], slug=slug, yes=True,
                             max_price=Decimal(chosen["first_year_minor"]) / 100, log=say,
                             on_step=tools.steps_to(say))
    except AppforgeError as exc:
        return {"domain_offer": None, "messages": [_message(
            "assistant", f"{chosen['name']}: {_failed(exc)}", kind="error")]}
    text = done.get("message") or f"{done['name']}: {done['state']}"
    return {"domain_offer": None, "messages": [_message("assistant", text, kind="result")]}


def _end(text: str) -> Command[Any]:
    return Command(goto=END, update={"messages": [_message("assistant", text)]})


def _failed(exc: AppforgeError) -> str:
    return f"{exc}" + (f" ({exc.hint})" if exc.hint else "")


def _row(offer: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in offer["names"] if r["name"] == name)


def _offer_line(row: dict[str, Any]) -> str:
    if not row.get("available"):
        return f"{row['name']}: {row.get('reason') or 'taken'}"
    if row.get("premium"):
        return f"{row['name']}: premium, {row.get('first_year')} (not bought through appforge)"
    if not row.get("api_registerable", True):
        return f"{row['name']}: cannot be registered through the registrar's API"
    return f"{row['name']}: {row['first_year']} the first year, renews at {row['renewal']}"


def _buy_line(row: dict[str, Any], slug: str | None) -> str:
    return (f"buy {row['name']} for {row['first_year']} (renews at {row['renewal']}/year)"
            + (f", then point it at {slug} with a certificate" if slug else ""))


def _offer_text(offer: dict[str, Any], slug: str | None) -> str:
    chosen = _row(offer, offer["choice"])
    return ("Names at " + offer["registrar"] + ":\n"
            + "\n".join(f"  {_offer_line(r)}" for r in offer["names"])
            + f"\nShall I {_buy_line(chosen, slug)}? ({offer['budget']}.) "
            "Say yes, no, or the name you want.")
