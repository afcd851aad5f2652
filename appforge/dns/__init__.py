"""DNS for custom domains: which records a domain needs, and providers that create them.

``records_for`` / ``wildcard_records`` say what must exist (``format_zone_lines`` prints it for
hand editing); ``get_dns_provider`` returns the configured :class:`DnsProvider` (or None), whose
``ensure_records`` makes it so.
"""

from appforge.dns.errors import DnsAuthError, DnsProviderError, ZoneNotFound
from appforge.dns.provider import DnsProvider, get_dns_provider
from appforge.dns.records import (
    DnsNeed,
    DnsRecord,
    format_zone_lines,
    is_apex,
    needs_dns,
    records_for,
    wildcard_records,
)

__all__ = [
    "DnsAuthError",
    "DnsNeed",
    "DnsProvider",
    "DnsProviderError",
    "DnsRecord",
    "ZoneNotFound",
    "format_zone_lines",
    "get_dns_provider",
    "is_apex",
    "needs_dns",
    "records_for",
    "wildcard_records",
]
