"""Where a CRUD app keeps its records: SQLite by default, or Postgres (``build --database``).

The plan carries it (``AppSpec.database``), the version's record keeps it, a rebuild keeps it, and
only a CRUD app may ask for Postgres; a Postgres app's requirements add psycopg. The server itself
and the app's own Postgres tests run against the real engine in
tests/integration/test_postgres.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from appforge.agent.nodes import _with_database
from appforge.errors import InvalidInput
from appforge.generators.code import render_app
from appforge.generators.code.render import BLUEPRINTS_DIR
from appforge.spec import AppSpec
from appforge.store import Store
from tests.conftest import appforge_env
from tests.unit.test_blueprints import gallery_spec, landing_spec, sprout_spec


def test_a_spec_keeps_its_records_in_sqlite_unless_it_says_postgres() -> None:
    assert sprout_spec().database == "sqlite"
    spec = sprout_spec().with_database("postgres")
    assert spec.database == "postgres"
    assert AppSpec.model_validate(spec.model_dump(mode="json")).database == "postgres"


@pytest.mark.parametrize("make", [landing_spec, gallery_spec], ids=["landing", "gallery"])
def test_only_a_crud_app_may_use_postgres(make) -> None:
    spec = make()
    with pytest.raises(InvalidInput, match="only a CRUD app can keep its records in postgres"):
        spec.with_database("postgres")
    with pytest.raises(ValidationError, match="only a CRUD app"):
        AppSpec.model_validate({**spec.model_dump(mode="json"), "database": "postgres"})
    assert spec.with_database("sqlite").database == "sqlite"


def test_an_unknown_database_is_refused() -> None:
    with pytest.raises(InvalidInput, match="unknown database 'mysql'"):
        sprout_spec().with_database("mysql")


def test_a_postgres_app_adds_psycopg_to_its_requirements(tmp_path: Path) -> None:
    shared = (BLUEPRINTS_DIR / "_shared" / "requirements.txt").read_text()
    render_app(sprout_spec(), tmp_path / "sqlite")
    render_app(sprout_spec().with_database("postgres"), tmp_path / "postgres")
    assert (tmp_path / "sqlite" / "requirements.txt").read_text() == shared
    pins = (tmp_path / "postgres" / "requirements.txt").read_text()
    assert pins == shared + "psycopg==3.3.9\npsycopg-binary==3.3.9\n"
    assert "in Postgres" in (tmp_path / "postgres" / "README.md").read_text()


def _live(store: Store, spec: AppSpec, tmp_path: Path) -> None:
    """``spec`` as the app's live version, as a deploy leaves it in the store."""
    store.upsert_app(spec.slug, spec.name, spec.title, spec.kind.value, "x.localhost")
    record = store.new_version(spec.slug, "", spec.model_dump(mode="json"), tmp_path / "ws")
    store.set_app_state(spec.slug, status="running", current_version=record.version)


def test_a_rebuild_keeps_the_apps_database_and_refuses_to_switch(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.sqlite")
    assert _with_database(sprout_spec(), None, store).database == "sqlite"  # a new app
    assert _with_database(sprout_spec(), "postgres", store).database == "postgres"
    _live(store, sprout_spec().with_database("postgres"), tmp_path)
    replanned = sprout_spec()  # the planner knows nothing of databases
    assert _with_database(replanned, None, store).database == "postgres"
    assert _with_database(replanned, "postgres", store).database == "postgres"
    with pytest.raises(InvalidInput, match="keeps its records in postgres") as refused:
        _with_database(replanned, "sqlite", store)
    assert "destroy sprout first" in (refused.value.hint or "")


def test_build_with_an_unknown_database_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "appforge.cli", "build", "--database", "mysql", "a todo list"],
        capture_output=True, text=True, env=appforge_env(tmp_path, "afdb", 18998), timeout=120,
        check=False)
    assert proc.returncode == 2, proc.stderr
    assert "unknown database 'mysql'" in proc.stderr and "sqlite, postgres" in proc.stderr
    assert not (tmp_path / "apps").exists()
