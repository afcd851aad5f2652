"""`appforge dns SLUG` tells which records each custom domain needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from appforge.store import Store
from tests.conftest import appforge_env


def _dns(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = appforge_env(home, "afdns", 18998) | env
    return subprocess.run([sys.executable, "-m", "appforge.cli", "dns", *args],
                          capture_output=True, text=True, env=full, timeout=60)


def _app(home: Path) -> None:
    store = Store(home / "appforge.sqlite")
    store.upsert_app("shop", "Shop", "Shop", "crud", "shop.localhost")
    store.set_domains("shop", ["shop.localhost", "shop.example.com"])


def test_dns_lists_records_for_public_names_only(tmp_path: Path) -> None:
    _app(tmp_path)
    proc = _dns(tmp_path, "shop", "--json", APPFORGE_PUBLIC_IPV4="203.0.113.7",
                APPFORGE_PUBLIC_IPV6="2001:db8::7")
    assert proc.returncode == 0, proc.stderr
    report = {d["domain"]: d for d in json.loads(proc.stdout)["domains"]}
    assert report["shop.localhost"]["records"] == []
    records = {(r["type"], r["content"]) for r in report["shop.example.com"]["records"]}
    assert records == {("A", "203.0.113.7"), ("AAAA", "2001:db8::7")}
    text = _dns(tmp_path, "shop", APPFORGE_PUBLIC_IPV4="203.0.113.7").stdout
    assert "shop.example.com. 300 IN A 203.0.113.7" in text


def test_dns_without_a_public_address_says_which_setting_to_set(tmp_path: Path) -> None:
    _app(tmp_path)
    proc = _dns(tmp_path, "shop")
    assert proc.returncode == 2
    assert "APPFORGE_PUBLIC_IPV4" in proc.stderr


def test_dns_apply_without_provider_is_a_clear_error(tmp_path: Path) -> None:
    _app(tmp_path)
    proc = _dns(tmp_path, "shop", "--apply", APPFORGE_PUBLIC_IPV4="203.0.113.7")
    assert proc.returncode == 2 and "no DNS provider is configured" in proc.stderr
