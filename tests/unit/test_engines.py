"""Choosing the engine, and what the Swarm engine refuses before it touches anything."""

from __future__ import annotations

import pytest

from appforge.config import Settings
from appforge.engines import check_replicas_supported, engine_for
from appforge.engines.swarm import check_replicas, keeps_files
from appforge.errors import InvalidInput


def test_the_engine_comes_from_the_setting() -> None:
    assert engine_for(Settings(), client=None).name == "docker"  # type: ignore[arg-type]
    assert engine_for(Settings(engine="swarm"), client=None).name == "swarm"  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="engine"):
        Settings(engine="kubernetes")


def test_replicas_need_the_swarm_engine() -> None:
    check_replicas_supported(Settings(), None)
    check_replicas_supported(Settings(), 1)
    with pytest.raises(InvalidInput, match="APPFORGE_ENGINE=swarm") as info:
        check_replicas_supported(Settings(), 3)
    assert "appforge cluster init" in (info.value.hint or "")
    check_replicas_supported(Settings(engine="swarm"), 3)


def test_an_app_that_keeps_files_on_one_node_runs_one_replica() -> None:
    notes = {"kind": "crud", "name": "Notes", "slug": "notes", "title": "Notes", "entities": [
        {"name": "note", "plural": "notes", "label": "Note", "label_plural": "Notes",
         "fields": [{"name": "title", "label": "Title"}]}]}
    assert keeps_files(notes) == "its records in SQLite"
    assert keeps_files({"kind": "landing"}) == "its sign-ups in SQLite"
    assert keeps_files({"kind": "gallery"}) == ""
    on_postgres = notes | {"database": "postgres"}
    assert keeps_files(on_postgres) == ""
    photos = on_postgres | {"entities": [notes["entities"][0] | {"fields": [
        {"name": "photo", "label": "Photo", "type": "image"}]}]}
    assert keeps_files(photos) == "its uploaded files"
    check_replicas("notes", notes, 1)
    check_replicas("site", {"kind": "gallery"}, 5)
    check_replicas("notes", on_postgres, 4)
    with pytest.raises(InvalidInput, match="records in SQLite") as info:
        check_replicas("notes", notes, 2)
    assert "--database postgres" in (info.value.hint or "")
    with pytest.raises(InvalidInput, match="uploaded files"):
        check_replicas("notes", photos, 2)
    with pytest.raises(InvalidInput, match="sign-ups"):
        check_replicas("site", {"kind": "landing"}, 2)


def test_the_registry_address_is_a_host_and_port() -> None:
    assert Settings(registry_address="10.0.0.5:5000").registry_address == "10.0.0.5:5000"
    for bad in ("10.0.0.5", "http://10.0.0.5:5000", "a b:1"):
        with pytest.raises(ValueError, match="registry_address"):
            Settings(registry_address=bad)


def test_the_chat_reads_a_number_of_replicas_and_scales_only_a_deployed_app(
        tmp_path: object) -> None:
    from pathlib import Path

    from appforge.chat.graph import _scale, wants_replicas

    for text, wanted in (("scale it to 3", 3), ("run 2 replicas", 2), ("scale up to 5", 5),
                         ("4 instances please", 4), ("add a field for 3 colours", None),
                         ("a list of 10 items", None)):
        assert wants_replicas(text) == wanted, text
    said = _scale(Settings(home=Path(str(tmp_path))), "notes", 3)
    assert "Build the app first" in said["text"]


class _Engine:
    def __init__(self, config: dict[str, object]) -> None:
        self.config = config

    def info(self) -> dict[str, object]:
        return {"RegistryConfig": self.config}


def test_a_registry_off_loopback_must_be_trusted_by_this_engine() -> None:
    from appforge.engines.registry import trust_hint, trusted

    plain = _Engine({"InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {}})
    assert trusted(plain, "127.0.0.1:5000")  # type: ignore[arg-type]
    assert not trusted(plain, "10.0.0.5:5000")  # type: ignore[arg-type]
    listed = _Engine({"InsecureRegistryCIDRs": ["127.0.0.0/8", "10.0.0.0/24"]})
    assert trusted(listed, "10.0.0.5:5000")  # type: ignore[arg-type]
    named = _Engine({"IndexConfigs": {"manager:5000": {"Secure": False}}})
    assert trusted(named, "manager:5000")  # type: ignore[arg-type]
    assert "insecure-registries" in trust_hint("10.0.0.5:5000")


def test_the_registry_credential_is_private_and_cheap_for_the_registry_to_check(tmp_path) -> None:
    """The registry checks the bcrypt hash on every request of a push: the password is random
    enough that the hash needs no work factor, and the least one keeps pushes fast."""
    import stat

    import bcrypt

    from appforge.engines.registry import credentials

    settings = Settings(home=tmp_path)
    made = credentials(settings)
    assert credentials(settings) == made  # made once, then read
    assert len(made["password"]) >= 32
    user, hashed = (tmp_path / "registry" / "htpasswd").read_text().strip().split(":", 1)
    assert user == made["username"] and bcrypt.checkpw(made["password"].encode(), hashed.encode())
    assert hashed.startswith("$2b$04$")
    for name in ("htpasswd", "credentials.json"):
        assert stat.S_IMODE((tmp_path / "registry" / name).stat().st_mode) == 0o600
