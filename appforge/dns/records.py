"""Which DNS records a domain needs so that it reaches this machine.

Pure functions over :class:`~appforge.config.Settings`: no network. ``records_for`` answers for one
app domain, ``wildcard_records`` for a base domain whose every sub-name is an app, and
``format_zone_lines`` prints either as BIND zone-file lines for people who edit DNS by hand. Names
that resolve locally (``*.localhost`` and friends) need no records at all.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from appforge.config import Settings
from appforge.errors import InvalidDomain, InvalidInput
from appforge.spec import validate_domain

RecordType = Literal["A", "AAAA", "CNAME"]
RECORD_TYPES: tuple[RecordType, ...] = ("A", "AAAA", "CNAME")
#: Largest TTL DNS allows (RFC 2181).
MAX_TTL = 2**31 - 1
#: Names under these (and the names themselves) never leave the machine or the local network.
LOCAL_SUFFIXES = ("localhost", "local", "internal", "test")
#: Public suffixes with two labels, so that ``shop.co.uk`` counts as a zone apex. Deliberately
#: short: a miss only means we offer a CNAME where a registrar would refuse it.
# fmt: off
MULTI_LABEL_SUFFIXES = frozenset({
    "co.uk", "org.uk", "me.uk", "ac.uk", "gov.uk", "ltd.uk", "plc.uk", "com.au", "net.au",
    "org.au", "co.nz", "org.nz", "co.za", "co.jp", "ne.jp", "or.jp", "com.br", "com.cn", "com.mx",
    "com.tr", "co.in", "co.kr", "com.sg", "com.hk", "co.il",
})
# fmt: on

ADDRESS_ONLY_HINT = (
    "set APPFORGE_PUBLIC_IPV4 (and APPFORGE_PUBLIC_IPV6) to this machine's public address"
)
PUBLIC_ADDRESS_HINT = (
    "set APPFORGE_PUBLIC_IPV4 and/or APPFORGE_PUBLIC_IPV6 to this machine's public address, "
    "or APPFORGE_PUBLIC_HOSTNAME to a name that already points here"
)


def check_name(name: str, *, wildcard: bool = False) -> str:
    """Return ``name`` normalised by :func:`validate_domain`, refusing what it would quietly fix.

    ``validate_domain`` strips surrounding whitespace; a name headed for a DNS provider must not
    carry any, nor control characters, so they are refused here. With ``wildcard`` a leading
    ``*.`` label is allowed.
    """
    if not isinstance(name, str) or any(ch.isspace() or not ch.isprintable() for ch in name):
        raise InvalidDomain(
            f"invalid domain {name!r}: it contains whitespace or control characters"
        )
    if wildcard and name.startswith("*."):
        return "*." + validate_domain(name[2:])
    return validate_domain(name)


@dataclass(frozen=True)
class DnsRecord:
    """One record to create: ``name`` is a fully qualified name without the trailing dot."""

    type: RecordType
    name: str
    content: str
    ttl: int = 300
    proxied: bool = False

    def __post_init__(self) -> None:
        if self.type not in RECORD_TYPES:
            raise InvalidInput(f"unsupported DNS record type {self.type!r}: use A, AAAA or CNAME")
        if type(self.ttl) is not int or not 1 <= self.ttl <= MAX_TTL:
            raise InvalidInput(
                f"invalid TTL {self.ttl!r} for {self.name}: use 1 to {MAX_TTL} seconds"
            )
        # Frozen, so normalise through object.__setattr__: records compare equal however typed.
        object.__setattr__(self, "name", check_name(self.name, wildcard=True))
        object.__setattr__(self, "content", _check_content(self.type, self.content))

    def __str__(self) -> str:
        return f"{self.type} {self.name} → {self.content}"


@dataclass(frozen=True)
class DnsNeed:
    """Whether a name needs public DNS records, and why; truthy when it does."""

    needed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.needed


def needs_dns(domain: str) -> DnsNeed:
    """Say whether ``domain`` needs records at a DNS provider (local names do not)."""
    name = check_name(domain, wildcard=True)
    for suffix in LOCAL_SUFFIXES:
        if name == suffix or name.endswith("." + suffix):
            return DnsNeed(False, f"{name} resolves locally (.{suffix} names never use public DNS)")
    return DnsNeed(True, f"{name} is a public name: its DNS records must point at this machine")


def is_apex(domain: str) -> bool:
    """True for a zone's own name (``example.com``, ``shop.co.uk``), where no CNAME may live."""
    labels = check_name(domain).split(".")
    return len(labels) <= 2 or (len(labels) == 3 and ".".join(labels[1:]) in MULTI_LABEL_SUFFIXES)


def records_for(domain: str, settings: Settings) -> list[DnsRecord]:
    """The records a user must create so that ``domain`` reaches this machine ([] for local names).

    A and/or AAAA records when a public address is configured, else a CNAME to the public host
    name (never at a zone apex). Raises :class:`InvalidInput` when nothing public is configured.
    """
    name = check_name(domain)
    if not needs_dns(name):
        return []
    return _records_at(name, settings, apex=is_apex(name))


def wildcard_records(base_domain: str, settings: Settings) -> list[DnsRecord]:
    """The records for ``*.<base_domain>``, so every ``<slug>.<base_domain>`` reaches us."""
    base = check_name(base_domain)
    if not needs_dns(base):
        return []
    return _records_at(f"*.{base}", settings, apex=False)


def format_zone_lines(records: list[DnsRecord]) -> list[str]:
    """BIND zone-file lines: ``shop.example.com. 300 IN A 203.0.113.7``."""
    lines = []
    for record in records:
        content = f"{record.content}." if record.type == "CNAME" else record.content
        lines.append(f"{record.name}. {record.ttl} IN {record.type} {content}")
    return lines


def _records_at(name: str, settings: Settings, *, apex: bool) -> list[DnsRecord]:
    ipv4 = _setting_address(settings.public_ipv4, 4, "APPFORGE_PUBLIC_IPV4")
    ipv6 = _setting_address(settings.public_ipv6, 6, "APPFORGE_PUBLIC_IPV6")
    records = []
    if ipv4:
        records.append(DnsRecord(type="A", name=name, content=ipv4))
    if ipv6:
        records.append(DnsRecord(type="AAAA", name=name, content=ipv6))
    if records:
        return records
    if not settings.public_hostname.strip():
        raise InvalidInput(
            f"appforge does not know this machine's public address, so it cannot say which DNS "
            f"records {name} needs",
            hint=PUBLIC_ADDRESS_HINT,
        )
    try:
        hostname = check_name(settings.public_hostname.strip())
    except InvalidDomain as exc:
        raise InvalidInput(f"APPFORGE_PUBLIC_HOSTNAME is not a host name: {exc}") from None
    if apex:
        raise InvalidInput(
            f"{name} is a zone apex, where DNS allows no CNAME, and appforge knows this machine "
            f"only by its host name {hostname}",
            hint=ADDRESS_ONLY_HINT,
        )
    if hostname == name:
        raise InvalidInput(
            f"{name} is APPFORGE_PUBLIC_HOSTNAME itself; a CNAME to itself would never resolve",
            hint=ADDRESS_ONLY_HINT,
        )
    return [DnsRecord(type="CNAME", name=name, content=hostname)]


def _setting_address(value: str, version: int, setting: str) -> str:
    value = value.strip()
    if not value:
        return ""
    address = _ip(value, version)
    if address is None:
        raise InvalidInput(
            f"{setting}={value!r} is not an IPv{version} address", hint=PUBLIC_ADDRESS_HINT
        )
    return address


def _ip(value: str, version: int) -> str | None:
    """``value`` in canonical form if it is an IP address of that version, else None."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version != version or getattr(address, "scope_id", None):
        return None  # a scoped IPv6 address (fe80::1%eth0) means nothing outside this host
    return str(address)


def _check_content(type_: RecordType, content: str) -> str:
    if not isinstance(content, str):
        raise InvalidInput(f"invalid content {content!r} for an {type_} record")
    if type_ == "CNAME":
        try:
            return check_name(content)
        except InvalidDomain as exc:
            raise InvalidInput(f"invalid CNAME target: {exc}") from None
    version = 4 if type_ == "A" else 6
    address = _ip(content, version)
    if address is None:
        raise InvalidInput(
            f"{content!r} is not an IPv{version} address, as an {type_} record needs"
        )
    return address
