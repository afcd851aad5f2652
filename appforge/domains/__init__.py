"""Domains bought through a registrar: names, money, registrars, and the resumable purchase.

``registrar.get_registrar(settings)`` picks the configured :class:`Registrar` (Porkbun,
Cloudflare Registrar, Namecheap); ``purchase.buy`` spends money at most once per name, within the
budget; ``names`` checks and suggests names. What the CLI, dashboard and chat call is
``appforge.tools.domains``.
"""

from appforge.domains.registrar import (
    DryRun,
    Offer,
    Owned,
    Receipt,
    Registrar,
    Requirements,
    get_registrar,
)

__all__ = ["DryRun", "Offer", "Owned", "Receipt", "Registrar", "Requirements", "get_registrar"]
