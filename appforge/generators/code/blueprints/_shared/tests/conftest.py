"""Test fixtures: every test gets a fresh app whose data lives in its own temporary folder.

The tests write nowhere else, so they pass in a container with a read-only root filesystem.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    # The app's own database only: a test that wants a server passes its URL (a CRUD app's
    # tests/test_postgres.py).
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(data_dir), follow_redirects=False) as test_client:
        yield test_client
