"""Which DNS records a domain needs, printed as zone lines, and which provider makes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from appforge.config import Settings
from appforge.dns import (
    DnsRecord,
    format_zone_lines,
    get_dns_provider,
    is_apex,
    needs_dns,
    records_for,
    wildcard_records,
)
from appforge.dns.provider import RemoteRecord, plan_changes
from appforge.errors import InvalidDomain, InvalidInput


def make_settings(tmp_path: Path, **values: Any) -> Settings:
    """Settings with no public address unless given (the environment cannot leak one in)."""
    base: dict[str, Any] = {
        "home": tmp_path / "home",
        "public_ipv4": "",
        "public_ipv6": "",
        "public_hostname": "",
        "dns_provider": "none",
    }
    return Settings(**{**base, **values})


def test_a_public_domain_points_at_the_public_ipv4(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_ipv4="203.0.113.7")
    assert records_for("Shop.Example.com", settings) == [
        DnsRecord(type="A", name="shop.example.com", content="203.0.113.7")
    ]


def test_ipv4_and_ipv6_give_a_and_aaaa_records(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        public_ipv4="203.0.113.7",
        public_ipv6="2001:DB8:0:0::7",
        public_hostname="apps.example.net",
    )
    records = records_for("shop.example.com", settings)
    assert [(r.type, r.content, r.ttl, r.proxied) for r in records] == [
        ("A", "203.0.113.7", 300, False),
        ("AAAA", "2001:db8::7", 300, False),
    ]


def test_ipv6_alone_gives_only_aaaa(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_ipv6="2001:db8::7")
    assert [r.type for r in records_for("shop.example.com", settings)] == ["AAAA"]


def test_a_public_hostname_alone_gives_a_cname(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_hostname="apps.example.net.")
    assert records_for("shop.example.com", settings) == [
        DnsRecord(type="CNAME", name="shop.example.com", content="apps.example.net")
    ]


@pytest.mark.parametrize("apex", ["example.com", "shop.co.uk", "bücher.com.au"])
def test_no_cname_at_a_zone_apex(tmp_path: Path, apex: str) -> None:
    settings = make_settings(tmp_path, public_hostname="apps.example.net")
    with pytest.raises(InvalidInput, match="zone apex") as caught:
        records_for(apex, settings)
    assert "APPFORGE_PUBLIC_IPV4" in (caught.value.hint or "")


def test_an_apex_with_an_address_gets_an_a_record(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, public_ipv4="203.0.113.7", public_hostname="apps.example.net"
    )
    assert [r.type for r in records_for("example.com", settings)] == ["A"]


def test_apex_detection_knows_two_label_public_suffixes() -> None:
    assert is_apex("example.com") and is_apex("shop.co.uk") and is_apex("shop.com.au")
    assert not is_apex("shop.example.com") and not is_apex("www.shop.co.uk")


def test_a_cname_to_itself_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_hostname="apps.example.com")
    with pytest.raises(InvalidInput, match="itself"):
        records_for("apps.example.com", settings)


@pytest.mark.parametrize(
    "local",
    ["sprout.localhost", "localhost", "shop.local", "db.internal", "x.y.test", "SPROUT.LOCALHOST"],
)
def test_local_names_need_no_records(tmp_path: Path, local: str) -> None:
    # Even with nothing configured: a local name never reaches public DNS.
    assert records_for(local, make_settings(tmp_path)) == []
    need = needs_dns(local)
    assert not need and "resolves locally" in need.reason


def test_public_names_need_dns() -> None:
    need = needs_dns("shop.example.com")
    assert need and need.needed and "shop.example.com" in need.reason
    assert needs_dns("localhost.example.com")  # only a suffix counts, not a label anywhere


def test_a_public_name_without_a_public_address_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="public address") as caught:
        records_for("shop.example.com", make_settings(tmp_path))
    hint = caught.value.hint or ""
    for setting in ("APPFORGE_PUBLIC_IPV4", "APPFORGE_PUBLIC_IPV6", "APPFORGE_PUBLIC_HOSTNAME"):
        assert setting in hint


@pytest.mark.parametrize(
    "setting,value",
    [
        ("public_ipv4", "2001:db8::1"),
        ("public_ipv4", "300.1.1.1"),
        ("public_ipv6", "203.0.113.7"),
        ("public_ipv6", "fe80::1%eth0"),
    ],
)
def test_a_malformed_public_address_is_named(tmp_path: Path, setting: str, value: str) -> None:
    with pytest.raises(InvalidInput, match=f"APPFORGE_{setting.upper()}"):
        records_for("shop.example.com", make_settings(tmp_path, **{setting: value}))


@pytest.mark.parametrize(
    "bad",
    [
        "evil.com\n",
        " shop.example.com",
        "*.example.com",
        "a b.com",
        "example.com:80",
        "10.0.0.1",
        "",
    ],
)
def test_bad_domains_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InvalidDomain):
        records_for(bad, make_settings(tmp_path, public_ipv4="203.0.113.7"))


def test_zone_file_lines(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_ipv4="203.0.113.7", public_ipv6="2001:db8::7")
    assert format_zone_lines(records_for("shop.example.com", settings)) == [
        "shop.example.com. 300 IN A 203.0.113.7",
        "shop.example.com. 300 IN AAAA 2001:db8::7",
    ]
    cname = DnsRecord(type="CNAME", name="www.example.com", content="apps.example.net", ttl=3600)
    assert format_zone_lines([cname]) == ["www.example.com. 3600 IN CNAME apps.example.net."]


def test_wildcard_records_cover_every_app_under_a_base_domain(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, public_ipv4="203.0.113.7")
    assert format_zone_lines(wildcard_records("Apps.Example.com", settings)) == [
        "*.apps.example.com. 300 IN A 203.0.113.7"
    ]
    # A wildcard is never an apex, so a host name alone is enough, even under example.com.
    settings = make_settings(tmp_path, public_hostname="host.example.net")
    assert format_zone_lines(wildcard_records("example.com", settings)) == [
        "*.example.com. 300 IN CNAME host.example.net."
    ]
    assert wildcard_records("localhost", settings) == []


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"type": "MX", "name": "a.example.com", "content": "203.0.113.7"}, "record type"),
        ({"type": "A", "name": "a.example.com", "content": "2001:db8::1"}, "IPv4"),
        ({"type": "AAAA", "name": "a.example.com", "content": "203.0.113.7"}, "IPv6"),
        ({"type": "CNAME", "name": "a.example.com", "content": "x.com\n"}, "CNAME target"),
        ({"type": "A", "name": "a.example.com", "content": "203.0.113.7", "ttl": 0}, "TTL"),
        ({"type": "A", "name": "evil.com\n", "content": "203.0.113.7"}, "control characters"),
    ],
)
def test_a_record_checks_itself(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        DnsRecord(**kwargs)


def test_records_compare_equal_however_they_were_typed() -> None:
    assert DnsRecord(type="AAAA", name="Shop.Example.com.", content="2001:DB8::0:7") == DnsRecord(
        type="AAAA", name="shop.example.com", content="2001:db8::7"
    )
    assert (
        str(DnsRecord(type="A", name="shop.example.com", content="203.0.113.7"))
        == "A shop.example.com → 203.0.113.7"
    )


def test_the_sync_plan_updates_in_place_and_clears_what_is_in_the_way() -> None:
    wanted = [DnsRecord(type="A", name="shop.example.com", content="203.0.113.8")]
    current = [
        RemoteRecord(
            id="c1", type="CNAME", name="shop.example.com", content="old.example.net", ttl=300
        ),
        RemoteRecord(id="a1", type="A", name="shop.example.com", content="203.0.113.7", ttl=1),
        RemoteRecord(id="a2", type="A", name="shop.example.com", content="203.0.113.9", ttl=300),
        RemoteRecord(id="t1", type="TXT", name="shop.example.com", content="v=spf1 -all", ttl=300),
        RemoteRecord(id="a3", type="A", name="other.example.com", content="192.0.2.1", ttl=300),
    ]
    assert [c.describe() for c in plan_changes(wanted, current)] == [
        "deleted CNAME shop.example.com → old.example.net (a CNAME cannot share its name)",
        "updated A shop.example.com → 203.0.113.8 (was 203.0.113.7, ttl 1)",
        "deleted A shop.example.com → 203.0.113.9 (no longer wanted)",
    ]


def test_no_provider_is_the_default(tmp_path: Path) -> None:
    assert get_dns_provider(make_settings(tmp_path)) is None
    assert get_dns_provider(make_settings(tmp_path, dns_provider=" None ")) is None


def test_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown DNS provider 'route53'") as caught:
        get_dns_provider(make_settings(tmp_path, dns_provider="route53"))
    assert "cloudflare" in (caught.value.hint or "")


def test_cloudflare_needs_a_token(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="API token") as caught:
        get_dns_provider(
            make_settings(tmp_path, dns_provider="cloudflare", cloudflare_api_token="")
        )
    assert "APPFORGE_CLOUDFLARE_API_TOKEN" in (caught.value.hint or "")
