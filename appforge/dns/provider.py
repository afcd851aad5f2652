"""The DnsProvider contract, the one place that picks a provider, and the shared sync plan.

A provider makes the records appforge computed (see :mod:`appforge.dns.records`) exist at a DNS
host. ``plan_changes`` decides, from what the provider already holds, what to create, update or
delete, so every provider means the same thing by "exactly these records".
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal, Protocol

from appforge.config import Settings
from appforge.dns.records import RECORD_TYPES, DnsRecord
from appforge.errors import InvalidInput

PROVIDERS = ("none", "cloudflare")


class DnsProvider(Protocol):
    """Creates and removes the address records (A, AAAA, CNAME) of app domains."""

    name: str

    def ensure_records(self, records: list[DnsRecord]) -> list[str]:
        """Create or update so that, for each (type, name) among ``records``, exactly those exist.

        Returns one line per record: ``created A shop.example.com → 203.0.113.7``, ``unchanged
        ...``, ``updated ...``, ``deleted ...``.
        """
        ...

    def delete_records(self, names: list[str]) -> list[str]:
        """Delete the A, AAAA and CNAME records at ``names``; one line per record deleted."""
        ...


def get_dns_provider(settings: Settings) -> DnsProvider | None:
    """The provider ``settings.dns_provider`` names, or None for ``none`` (records shown only)."""
    choice = settings.dns_provider.strip().lower()
    if choice in ("", "none"):
        return None
    if choice == "cloudflare":
        from appforge.dns.cloudflare import CloudflareDns

        return CloudflareDns(settings.cloudflare_api_token, settings.cloudflare_api_base)
    raise InvalidInput(
        f"unknown DNS provider {settings.dns_provider!r}",
        hint=f"set APPFORGE_DNS_PROVIDER to one of: {', '.join(PROVIDERS)}",
    )


@dataclass(frozen=True)
class RemoteRecord:
    """A record as the provider holds it; not validated, since it may predate appforge."""

    id: str
    type: str
    name: str
    content: str
    ttl: int
    proxied: bool = False

    def __str__(self) -> str:
        return f"{self.type} {self.name} → {self.content}"


Action = Literal["create", "update", "delete", "unchanged"]


@dataclass(frozen=True)
class Change:
    """One sync step: ``record`` is what we want (None to delete), ``current`` what exists."""

    action: Action
    record: DnsRecord | None = None
    current: RemoteRecord | None = None
    why: str = ""

    def describe(self) -> str:
        """The line a user reads once the change is done."""
        if self.action == "delete":
            assert self.current is not None
            return f"deleted {self.current}" + (f" ({self.why})" if self.why else "")
        assert self.record is not None
        if self.action == "update":
            assert self.current is not None
            return f"updated {self.record} (was {_difference(self.current, self.record)})"
        return f"{'created' if self.action == 'create' else 'unchanged'} {self.record}"


def plan_changes(wanted: list[DnsRecord], current: list[RemoteRecord]) -> list[Change]:
    """What to do so that each (type, name) in ``wanted`` holds exactly the wanted records.

    Records of other types at those names are left alone, except that a CNAME and an A/AAAA
    cannot share a name: the one in the way is deleted first. Where a record must change, an
    existing one is updated rather than deleted and recreated.
    """
    wanted = list(dict.fromkeys(wanted))
    types_at: dict[str, set[str]] = defaultdict(set)
    for record in wanted:
        types_at[record.name].add(record.type)

    changes: list[Change] = []
    have: dict[tuple[str, str], list[RemoteRecord]] = defaultdict(list)
    for existing in current:
        name, type_ = existing.name.lower().rstrip("."), existing.type.upper()
        if name not in types_at or type_ not in RECORD_TYPES:
            continue
        if type_ in types_at[name]:
            have[(type_, name)].append(existing)
        elif type_ == "CNAME" or "CNAME" in types_at[name]:
            changes.append(Change("delete", current=existing, why="a CNAME cannot share its name"))

    for key in dict.fromkeys((record.type, record.name) for record in wanted):
        changes += _plan_group([r for r in wanted if (r.type, r.name) == key], have[key])
    return changes


def _plan_group(wanted: list[DnsRecord], have: list[RemoteRecord]) -> list[Change]:
    have = list(have)
    changes: list[Change] = []
    unmatched: list[DnsRecord] = []
    for record in wanted:
        same = next(
            (r for r in have if _same_content(record, r) and _same_settings(record, r)), None
        )
        if same is None:
            unmatched.append(record)
        else:
            have.remove(same)
            changes.append(Change("unchanged", record, same))
    for record in unmatched:
        # Prefer the record that differs only in TTL or proxying, then any leftover one.
        reuse = next((r for r in have if _same_content(record, r)), have[0] if have else None)
        if reuse is None:
            changes.append(Change("create", record))
        else:
            have.remove(reuse)
            changes.append(Change("update", record, reuse))
    changes += [Change("delete", current=r, why="no longer wanted") for r in have]
    return changes


def _same_content(record: DnsRecord, existing: RemoteRecord) -> bool:
    return _canonical(record.type, existing.content) == record.content


def _same_settings(record: DnsRecord, existing: RemoteRecord) -> bool:
    return existing.ttl == record.ttl and bool(existing.proxied) == record.proxied


def _canonical(type_: str, content: str) -> str:
    if type_ == "CNAME":
        return content.lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(content))
    except ValueError:
        return content


def _difference(old: RemoteRecord, new: DnsRecord) -> str:
    parts = []
    if _canonical(new.type, old.content) != new.content:
        parts.append(old.content)
    if old.ttl != new.ttl:
        parts.append(f"ttl {old.ttl}")
    if bool(old.proxied) != new.proxied:
        parts.append("proxied" if old.proxied else "not proxied")
    return ", ".join(parts)
