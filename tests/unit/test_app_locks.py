"""The per-app lock: a second process waits at most --wait seconds and says who holds the app."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from appforge.errors import AppBusy
from appforge.store.locks import app_lock, app_lock_if_free, holder


def test_a_busy_app_fails_after_the_wait_and_names_its_holder(tmp_path: Path) -> None:
    said: list[str] = []
    with app_lock(tmp_path, "sprout"):
        with app_lock_if_free(tmp_path, "sprout") as free:  # what `up` does: no wait, no wipe
            assert free is False
        assert f"process {os.getpid()}" in holder(tmp_path, "sprout")
        with pytest.raises(AppBusy) as info:
            with app_lock(tmp_path, "sprout", said.append, wait_s=0.3):
                pass
    assert "sprout is still busy after 0.3 s" in str(info.value)
    assert f"process {os.getpid()} (`" in str(info.value) and ", since " in str(info.value)
    assert "--wait" in (info.value.hint or "")
    assert info.value.exit_code == 5
    assert said and "waiting (at most 0.3 s)" in said[0]
    assert holder(tmp_path, "sprout") == ""  # released: nobody is named any more


def test_a_waiting_process_goes_on_once_the_holder_is_done(tmp_path: Path) -> None:
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with app_lock(tmp_path, "sprout"):
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(30)
    said: list[str] = []
    threading.Timer(0.3, release.set).start()
    with app_lock(tmp_path, "sprout", said.append, wait_s=60):
        assert holder(tmp_path, "sprout").startswith(f"process {os.getpid()}")
    thread.join()
    assert len(said) == 1 and "is building or deploying it" in said[0]
