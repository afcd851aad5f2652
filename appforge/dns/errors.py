"""Errors a DNS provider can raise, as part of appforge's one hierarchy.

They hang under :class:`appforge.errors.AppforgeError`, so the CLI prints them like any other::

    AppforgeError
    └── DnsProviderError      the provider's API failed, refused or could not be reached
        ├── DnsAuthError      the API token was refused
        └── ZoneNotFound      no zone at the provider holds the name
    DnsNotPropagated          the authoritative servers did not all answer as expected in time

Bad names and missing settings are :class:`appforge.errors.InvalidInput` (or ``InvalidDomain``),
raised before any request is sent.
"""

from __future__ import annotations

from appforge.errors import AppforgeError


class DnsProviderError(AppforgeError):
    pass


class DnsAuthError(DnsProviderError):
    pass


class ZoneNotFound(DnsProviderError):
    pass


class DnsNotPropagated(AppforgeError):
    """Some authoritative server of the zone still answers otherwise than the records say;
    the message lists what each one answers."""
