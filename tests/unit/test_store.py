"""The SQLite store keeps apps, versions and events, and hands out version numbers safely."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from appforge.errors import AppNotFound, InvalidDomain
from appforge.store import Store


def test_versions_are_numbered_per_app_without_gaps_under_concurrency(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.upsert_app("sprout", "Sprout", "Sprout", "crud", "sprout.localhost")
    with ThreadPoolExecutor(8) as pool:
        records = list(pool.map(lambda _: store.new_version("sprout", "d", {}, tmp_path), range(16)))
    assert sorted(r.version for r in records) == list(range(1, 17))
    assert records[0].workspace.startswith(str(tmp_path / "sprout" / "v"))


def test_live_routes_list_only_running_apps_current_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    for slug in ("a", "b"):
        store.upsert_app(slug, slug, slug, "crud", f"{slug}.localhost")
        v = store.new_version(slug, "d", {}, tmp_path)
        store.update_version(slug, v.version, upstream=f"{slug}-v1:8000", status="deployed")
        store.set_domains(slug, [f"{slug}.localhost"])
    store.set_app_state("a", status="running", current_version=1, url="http://a.localhost")
    assert store.live_routes() == [("a", ("a.localhost",), "a-v1:8000")]
    assert store.app_for_host("b.localhost").slug == "b"


def test_a_domain_belongs_to_one_app_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    for slug in ("a", "b"):
        store.upsert_app(slug, slug, slug, "crud", f"{slug}.localhost")
    store.set_domains("a", ["a.localhost", "shop.example.com"])
    with pytest.raises(InvalidDomain, match="shop.example.com is already used by app 'a'"):
        store.set_domains("b", ["b.localhost", "shop.example.com"])
    assert store.domains("b") == []  # nothing half-written
    store.set_domains("a", ["a.localhost"])  # a gives it up
    store.set_domains("b", ["b.localhost", "shop.example.com"])
    assert store.app_for_host("shop.example.com").slug == "b"
    assert store.get_app("b").host == "b.localhost"


def test_unknown_app_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    with pytest.raises(AppNotFound, match="no app named 'nope'"):
        store.get_app("nope")


def test_destroy_forgets_versions_but_keeps_an_event(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.upsert_app("a", "A", "A", "crud", "a.localhost")
    store.new_version("a", "d", {"k": 1}, tmp_path)
    store.delete_app("a")
    assert store.list_apps() == [] and store.list_versions("a") == []
    assert store.events("a")[0]["kind"] == "destroy"
