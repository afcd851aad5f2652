"""Registrar credentials: from settings (the environment) or a TOML file only its owner reads.

A value set in the environment (``APPFORGE_PORKBUN_API_KEY`` ...) wins; otherwise the file named
by ``APPFORGE_REGISTRAR_CREDENTIALS`` is read, with the same key names (``porkbun_api_key =
"..."``) or per registrar (``[porkbun] api_key = "..."``), and an optional ``[contact]`` table
(Namecheap needs the registrant's details with every order). A file that its group or others may
read is refused before it is read. Values are ``SecretStr``: they never show in ``repr``, logs,
messages or the store; a client takes them out only to put them in a request.
"""

from __future__ import annotations

import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from appforge.config import Settings
from appforge.domains.errors import RegistrarAuthError
from appforge.errors import InvalidInput

SECRET_FIELDS = ("porkbun_api_key", "porkbun_secret_key", "cloudflare_api_token",
                 "namecheap_api_key")
PLAIN_FIELDS = ("cloudflare_account_id", "namecheap_api_user", "namecheap_username",
                "namecheap_client_ip")
CONTACT_FIELDS = ("first_name", "last_name", "address1", "city", "state_province", "postal_code",
                  "country", "phone", "email")


@dataclass(frozen=True)
class Credentials:
    porkbun_api_key: SecretStr = field(default_factory=lambda: SecretStr(""))
    porkbun_secret_key: SecretStr = field(default_factory=lambda: SecretStr(""))
    cloudflare_api_token: SecretStr = field(default_factory=lambda: SecretStr(""))
    cloudflare_account_id: str = ""
    namecheap_api_key: SecretStr = field(default_factory=lambda: SecretStr(""))
    namecheap_api_user: str = ""
    namecheap_username: str = ""
    namecheap_client_ip: str = ""
    #: Registrant contact (Namecheap); keys of :data:`CONTACT_FIELDS` plus optional organization.
    contact: dict[str, str] = field(default_factory=dict, repr=False)

    def require(self, *names: str, registrar: str) -> None:
        """Raise :class:`RegistrarAuthError` naming the settings that are empty."""
        missing = [n for n in names if not _value(getattr(self, n))]
        if missing:
            env = ", ".join("APPFORGE_" + n.upper() for n in missing)
            raise RegistrarAuthError(
                f"{registrar} needs credentials that are not set: {env}",
                hint="set them in the environment, or in the file named by "
                "APPFORGE_REGISTRAR_CREDENTIALS (mode 0600)")


def _value(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value or "")


def load_credentials(settings: Settings) -> Credentials:
    """Credentials from ``settings``, then from ``settings.registrar_credentials``."""
    from_file = read_file(settings.registrar_credentials) if settings.registrar_credentials \
        else {}
    values: dict[str, Any] = {}
    for name in SECRET_FIELDS + PLAIN_FIELDS:
        mine = _value(getattr(settings, name, ""))
        values[name] = mine or str(from_file.get(name, "") or "")
    for name in SECRET_FIELDS:
        values[name] = SecretStr(values[name].strip())
    for name in PLAIN_FIELDS:
        values[name] = values[name].strip()
    contact = from_file.get("contact")
    values["contact"] = {str(k): str(v) for k, v in contact.items()} \
        if isinstance(contact, dict) else {}
    return Credentials(**values)


def read_file(path: Path) -> dict[str, Any]:
    """The file's keys, flattened (``[porkbun] api_key`` → ``porkbun_api_key``)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InvalidInput(f"the registrar credentials file {path} does not exist",
                           hint="create it with mode 0600, or unset "
                           "APPFORGE_REGISTRAR_CREDENTIALS") from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(f"the registrar credentials file {path} is not a regular file")
    if info.st_mode & 0o077:
        raise InvalidInput(
            f"the registrar credentials file {path} may be read by others (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); appforge will not use it",
            hint=f"chmod 600 {path}")
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        # tomllib's messages quote positions, not values; keep only the first line anyway.
        raise InvalidInput(f"could not read the registrar credentials file {path}: "
                           f"{str(exc).splitlines()[0][:120]}") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key in ("porkbun", "cloudflare", "namecheap"):
            for inner, inner_value in value.items():
                flat[f"{key}_{inner}"] = inner_value
        else:
            flat[key] = value
    return flat
