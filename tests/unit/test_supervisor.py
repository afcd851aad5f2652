"""The supervisor's bookkeeping (its healing is tested against the engine in test_faults.py)."""

from __future__ import annotations

import threading

from appforge import supervisor
from appforge.config import Settings
from appforge.store.locks import file_lock


def test_one_supervisor_per_installation_is_found_by_its_lock(settings: Settings) -> None:
    assert supervisor.running_pid(settings) is None
    assert supervisor.stop(settings) is None  # nothing to stop
    settings.home.mkdir(parents=True, exist_ok=True)
    with file_lock(supervisor.lock_path(settings)):
        assert supervisor.running_pid(settings) == -1  # running, its id not written yet
        supervisor.pid_path(settings).write_text("4242\n")
        assert supervisor.running_pid(settings) == 4242
        # a second one for the same installation declines at once
        said: list[str] = []
        assert supervisor.run(settings, said.append, threading.Event()) is False
        assert "another supervisor runs" in said[0]
    assert supervisor.running_pid(settings) is None


def test_off_means_never_started(settings: Settings) -> None:
    off = settings.model_copy(update={"supervise": False})
    assert supervisor.ensure_running(off) is None
    assert supervisor.running_pid(off) is None
