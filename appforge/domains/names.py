"""Domain names as registries see them: IDNA 2008 + UTS 46, the Public Suffix List, reserved names.

Python's built-in ``"idna"`` codec is IDNA 2003, which maps ``faß.de`` to ``fass.de``: a
*different* name. Anything appforge may pay for is encoded with the ``idna`` package instead, and
its registrable part found with the ICANN section of the Public Suffix List (``publicsuffixlist``
ships the list; nothing is downloaded). :func:`check_purchase` refuses, each with its own error,
names that are malformed, reserved or local, not a registrable domain, or attached to another
app. :func:`suggest` makes candidate names from words or from an app's plan.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import idna

from appforge.domains.errors import NameAttached, NotRegistrable, ReservedName
from appforge.errors import InvalidDomain

MAX_NAME = 253
MAX_LABEL = 63
#: Top-level names that never reach public DNS: RFC 2606/6761 (test, example, invalid,
#: localhost), RFC 6762 (local), ICANN's internal, RFC 7686 (onion), RFC 9476 (alt), arpa.
RESERVED_TLDS = frozenset({"test", "example", "invalid", "localhost", "local", "internal",
                           "onion", "alt", "arpa", "lan", "home", "corp", "localdomain"})
#: Second-level names reserved for documentation (RFC 2606).
RESERVED_NAMES = frozenset({"example.com", "example.net", "example.org", "home.arpa"})
LDH = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
#: Words left out of names suggested from a plan.
STOPWORDS = frozenset({"a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "with", "my",
                       "our", "your", "app", "site", "page", "web", "website", "that", "this",
                       "is", "are", "be", "by", "at", "from", "it", "its"})
DEFAULT_TLDS = ("com", "dev", "app")


@dataclass(frozen=True)
class Name:
    """A checked name: ``ascii`` is the A-label form registrars and DNS use, ``unicode`` what
    people read; ``registrable`` the part one buys (``shop.example.co.uk`` → ``example.co.uk``)."""

    ascii: str
    unicode: str
    suffix: str
    registrable: str

    @property
    def tld(self) -> str:
        return self.ascii.rsplit(".", 1)[-1]

    @property
    def is_registrable(self) -> bool:
        return self.ascii == self.registrable

    @property
    def label(self) -> str:
        """The label bought under the suffix: ``example`` of ``example.co.uk``."""
        return self.registrable[: -len(self.suffix) - 1]

    def shown(self) -> str:
        return self.ascii if self.ascii == self.unicode else f"{self.unicode} ({self.ascii})"


@lru_cache(maxsize=1)
def _psl() -> Any:
    from publicsuffixlist import PublicSuffixList

    # ICANN section only: private suffixes (github.io) are not sold by registrars; unknown
    # top-level names are refused rather than assumed to exist.
    return PublicSuffixList(only_icann=True, accept_unknown=False)


def parse(name: str, *, local_ok: bool = False) -> Name:
    """``name`` encoded with IDNA 2008 + UTS 46 and split by the Public Suffix List.

    Raises :class:`InvalidDomain` (or :class:`ReservedName`) saying what is wrong. With
    ``local_ok`` reserved and local names pass (to attach ``shop.localhost``, never to buy).
    """
    if not isinstance(name, str):
        raise InvalidDomain(f"invalid domain {name!r}")
    text = name.strip()
    shown = text[:80]
    if not text:
        raise InvalidDomain("the domain name is empty", hint="give a name such as example.com")
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidDomain(f"invalid domain {shown!r}: it contains whitespace or control "
                            "characters")
    if text.startswith(("http://", "https://")) or "/" in text or ":" in text or "@" in text:
        raise InvalidDomain(f"invalid domain {shown!r}: give the name only, without a scheme, "
                            "port or path", hint="for example: example.com")
    text = text.removesuffix(".")
    if "*" in text:
        raise InvalidDomain(f"invalid domain {shown!r}: wildcards cannot be bought or attached")
    if "" in text.split("."):
        raise InvalidDomain(f"invalid domain {shown!r}: it has an empty label")
    if any(len(label) > MAX_LABEL for label in text.split(".")):
        raise InvalidDomain(f"invalid domain {shown!r}: a label is longer than {MAX_LABEL} "
                            "characters")
    try:
        ascii_name = idna.encode(text, uts46=True, std3_rules=True).decode("ascii").lower()
        unicode_name = idna.decode(ascii_name)
    except idna.IDNAError as exc:
        raise InvalidDomain(f"invalid domain {shown!r}: {exc} (IDNA 2008)",
                            hint="use letters, digits and hyphens; a hyphen may not start or "
                            "end a label") from None
    except UnicodeError as exc:
        raise InvalidDomain(f"invalid domain {shown!r}: {exc}") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > MAX_NAME:
        raise InvalidDomain(f"invalid domain {shown!r}: longer than {MAX_NAME} characters")
    for label in labels:
        if not label:
            raise InvalidDomain(f"invalid domain {shown!r}: it has an empty label")
        if len(label) > MAX_LABEL:
            raise InvalidDomain(f"invalid domain {shown!r}: the label {label[:20]}… is longer "
                                f"than {MAX_LABEL} characters")
        if not LDH.match(label):
            raise InvalidDomain(f"invalid domain {shown!r}: {label!r} is not letters, digits "
                                "and inner hyphens")
        if label[2:4] == "--" and not label.startswith("xn--"):
            raise InvalidDomain(f"invalid domain {shown!r}: {label!r} has '--' in positions 3-4, "
                                "which only IDN labels (xn--) may")
    if len(labels) < 2:
        raise NotRegistrable(f"{shown} is a top-level name, not a domain one can buy",
                             hint="add a name in front of it, e.g. myapp." + labels[0])
    if labels[-1].isdigit():
        raise InvalidDomain(f"invalid domain {shown!r}: the last label is all digits (an "
                            "address, not a name)")
    try:
        _refuse_reserved(ascii_name, shown)
    except ReservedName:
        if not local_ok:
            raise
        return Name(ascii=ascii_name, unicode=unicode_name, suffix=labels[-1],
                    registrable=".".join(labels[-2:]))
    suffix = _psl().publicsuffix(ascii_name)
    if suffix is None:
        raise InvalidDomain(f"{shown}: .{labels[-1]} is not a top-level domain on the Public "
                            "Suffix List", hint="check the spelling of the ending")
    registrable = _psl().privatesuffix(ascii_name)
    if registrable is None:
        raise NotRegistrable(f"{shown} is a public suffix (like co.uk): nobody can own it",
                             hint=f"add a name in front of it, e.g. myapp.{ascii_name}")
    return Name(ascii=ascii_name, unicode=unicode_name, suffix=suffix, registrable=registrable)


def _refuse_reserved(ascii_name: str, shown: str) -> None:
    labels = ascii_name.split(".")
    if labels[-1] in RESERVED_TLDS or ascii_name.endswith(".home.arpa"):
        raise ReservedName(f"{shown} is under .{labels[-1]}, reserved for local or test use: "
                           "no registrar sells it")
    for reserved in RESERVED_NAMES:
        if ascii_name == reserved or ascii_name.endswith("." + reserved):
            raise ReservedName(f"{shown} is under {reserved}, reserved for documentation "
                               "(RFC 2606): no registrar sells it")


def check_purchase(name: str, *, base_domain: str = "", store: Any = None,
                   slug: str | None = None) -> Name:
    """``name`` checked for buying: a registrable domain, not local, not appforge's base domain,
    not attached to an app other than ``slug``."""
    checked = parse(name)
    base = (base_domain or "").strip().lower()
    if base and (checked.ascii == base or checked.ascii.endswith("." + base)):
        raise ReservedName(f"{checked.ascii} is under appforge's own base domain {base}")
    if not checked.is_registrable:
        raise NotRegistrable(
            f"{checked.shown()} is a name under {checked.registrable}; one buys "
            f"{checked.registrable}", hint=f"buy {checked.registrable}, then attach "
            f"{checked.ascii} to the app (appforge domain attach {checked.ascii} SLUG)")
    if store is not None:
        check_attachable(store, checked.ascii, slug)
    return checked


def check_attachable(store: Any, host: str, slug: str | None) -> None:
    """Refuse ``host`` when an app other than ``slug`` answers at it."""
    owner = store.app_for_host(host)
    if owner is not None and owner.slug != slug:
        raise NameAttached(f"{host} is already attached to the app {owner.slug!r}",
                           hint=f"detach it first: appforge domain detach {host}")


# Suggestions -------------------------------------------------------------------------------
def words_of(text: str) -> list[str]:
    """The ASCII words of ``text`` (accents folded), lower case, stopwords left out."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return [w for w in re.findall(r"[a-z0-9]+", folded) if w not in STOPWORDS]


def words_of_plan(spec: dict[str, Any]) -> list[str]:
    """Words for names from an app's plan: its name, slug and title first, then the tagline."""
    words: list[str] = []
    for key in ("name", "slug", "title", "tagline"):
        value = spec.get(key)
        if isinstance(value, str):
            words += [w for w in words_of(value) if w not in words]
    return words[:6]


def suggest(words: list[str], tlds: list[str] | tuple[str, ...] = DEFAULT_TLDS,
            limit: int = 12) -> list[str]:
    """Candidate names (A-labels) from ``words``: the words joined, then the first two, then each
    word alone, then with ``get``/``app`` around it; each under every TLD, in that order."""
    words = [w for w in (w.strip().lower() for w in words) if w]
    if not words:
        return []
    stems: list[str] = []

    def add(stem: str) -> None:
        stem = re.sub(r"-{2,}", "-", stem).strip("-")[:MAX_LABEL]
        if stem and LDH.match(stem) and stem not in stems:
            stems.append(stem)

    add("".join(words[:3]))
    add("-".join(words[:3]))
    add("".join(words[:2]))
    for word in words[:3]:
        add(word)
    add("get" + words[0])
    add(words[0] + "app")
    names: list[str] = []
    for stem in stems:
        for tld in tlds:
            try:
                names.append(parse(f"{stem}.{tld}").ascii)
            except InvalidDomain:
                continue
            if len(names) >= limit:
                return names
    return names


def parse_tlds(text: str | None) -> list[str]:
    """``com,dev,.app`` → ``["com", "dev", "app"]`` (IDN TLDs as A-labels)."""
    if not text:
        return list(DEFAULT_TLDS)
    tlds = []
    for part in text.split(","):
        part = part.strip().lstrip(".").lower()
        if not part:
            continue
        try:
            tld = idna.encode(part, uts46=True).decode()
        except idna.IDNAError:
            raise InvalidDomain(f"{part!r} is not a top-level domain") from None
        if tld in RESERVED_TLDS:
            raise ReservedName(f".{tld} is reserved for local or test use: no registrar sells it")
        if tld not in tlds:
            tlds.append(tld)
    return tlds or list(DEFAULT_TLDS)
