"""A full disk inside an app is a clear answer, not a crash: the app keeps serving with its data,
and a restore onto that disk stops with a clear error and leaves the data as it was.

Before the app's first deploy its data volume is made by hand as a tiny tmpfs (appforge reuses a
volume that exists), so the disk really fills. The app's database stops growing while some room is
left for the journals of deletes; a file that takes that room too makes SQLite's writes fail at
the kernel. Both answer 507. The app runs in its own installation, so the slug cannot clash with
the end-to-end tests' Sprout.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from appforge.config import Settings
from appforge.sandbox.containers import (
    app_labels,
    container_name,
    purge_instance,
    volume_name,
)
from tests.conftest import appforge_env, free_port
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

SPROUT = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days between "
          "waterings and the date it was last watered.")
DISK = "size=1m,uid=10001,gid=10001,mode=0700"
TEXT_MAX = 200  # the longest text field value the app accepts (app/fields.py TEXT_MAX)


@pytest.fixture(scope="module")
def tiny(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """An installation whose Sprout keeps its data on a 1 MiB disk."""
    home = tmp_path_factory.mktemp("appforge-full-disk")
    instance, port = f"aft{os.getpid()}d", free_port()
    settings = Settings(home=home, instance=instance, http_port=port)
    docker_client.volumes.create(
        name=volume_name(settings, "sprout"), driver="local",
        driver_opts={"type": "tmpfs", "device": "tmpfs", "o": DISK},
        labels=app_labels(settings, "sprout", "data"))
    yield Installation(settings=settings, env=appforge_env(home, instance, port))
    purge_instance(docker_client, instance)


def _plant(i: int) -> dict[str, Any]:
    return {"name": f"Plant {i} ".ljust(TEXT_MAX, "n"), "location": "".ljust(TEXT_MAX, "l"),
            "days_between_waterings": 3, "last_watered": "2026-11-20"}


FILL = """
import errno
with open("/data/filler", "wb", buffering=0) as fh:
    try:
        while True:
            fh.write(b"f" * 4096)
    except OSError as exc:
        print("full" if exc.errno == errno.ENOSPC else exc)
"""


def _app_python(container: Any, code: str) -> str:
    """Run Python in the app's container as the app's user; return what it printed."""
    result = container.exec_run(["python3", "-c", code], user="10001")
    return result.output.decode().strip()


def _all_ids(http: httpx.Client) -> set[int]:
    ids: set[int] = set()
    while True:
        page = http.get("/api/plants", params={"limit": 500, "offset": len(ids)}).json()
        ids |= {p["id"] for p in page}
        if len(page) < 500:
            return ids


def test_full_disk_answers_507_keeps_serving_and_the_data_and_deletes_make_room(
        tiny: Installation, docker_client: Any) -> None:
    built = tiny.run_json("build", SPROUT)
    assert built["slug"] == "sprout" and built["status"] == "running"
    container = docker_client.containers.get(container_name(tiny.settings, "sprout", 1))
    mounts = {m["Destination"]: m.get("Name") for m in container.attrs["Mounts"]}
    assert mounts["/data"] == volume_name(tiny.settings, "sprout")
    empty = tiny.run_json("backup", "sprout")  # the data before any plant

    base = f"http://127.0.0.1:{tiny.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "sprout.localhost"}, timeout=10) as http:
        saved: list[int] = []
        for i in range(20_000):  # 1 MiB holds a few thousand plants of this size
            answer = http.post("/api/plants", json=_plant(i))
            if answer.status_code != 201:
                break
            saved.append(answer.json()["id"])
        assert answer.status_code == 507, answer.text
        assert "storage is full" in answer.json()["detail"]
        assert len(saved) > 100

        # the app still answers, with everything it saved before
        assert http.get("/healthz").status_code == 200
        assert _all_ids(http) == set(saved)
        form = http.post("/plants/new", headers={"Accept": "text/html"},
                         data={k: str(v) for k, v in _plant(-1).items()})
        assert form.status_code == 507 and "storage is full" in form.text
        assert "Plant -1" in form.text  # what was typed is still in the form

        # the last bytes of the disk taken too: every write now fails in the kernel (ENOSPC)
        assert _app_python(container, FILL) == "full"
        edit = http.put(f"/api/plants/{saved[0]}", json=_plant(0) | {"days_between_waterings": 9})
        assert edit.status_code == 507 and "storage is full" in edit.json()["detail"]
        assert http.post("/api/plants", json=_plant(-3)).status_code == 507
        assert http.get(f"/api/plants/{saved[0]}").json()["days_between_waterings"] == 3

        # a restore onto the full disk stops with a clear error, and the data stays as it was
        restore = tiny.run("restore", "sprout", "--from", empty["id"], "--yes", check=False)
        assert restore.returncode == 1, restore.stdout + restore.stderr
        assert "data volume is full" in restore.stderr, restore.stderr
        assert "Traceback" not in restore.stderr
        assert _all_ids(http) == set(saved)
        assert _app_python(container, "import os; os.remove('/data/filler'); print('freed')") \
            == "freed"

        # deleting works on the full disk, and the room it frees takes new plants
        for plant_id in saved[-40:]:
            assert http.delete(f"/api/plants/{plant_id}").status_code == 204
        again = http.post("/api/plants", json=_plant(-2))
        assert again.status_code == 201, again.text
        assert _all_ids(http) == set(saved[:-40]) | {again.json()["id"]}

    container.reload()
    assert container.status == "running" and container.attrs["RestartCount"] == 0
    print(f"\n{len(saved)} plants filled the 1 MiB disk; 40 deleted made room again")
