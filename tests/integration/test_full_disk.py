"""A full disk inside an app is a clear answer, not a crash: the app keeps serving with its data,
and a restore onto that disk stops with a clear error and leaves the data as it was.

Before the app's first deploy its data volume is made by hand as a tiny tmpfs (appforge reuses a
volume that exists), so the disk really fills. The app's database stops growing while some room is
left for the journals of deletes; a file that takes that room too makes SQLite's writes fail at
the kernel. Both answer 507. The app runs in its own installation, so the slug cannot clash with
the end-to-end tests' Sprout.

An app people upload pictures to (Snapshots) keeps its data on a 160 MiB ext4 disk of its own (a
loop device; tmpfs pages would count against the container's memory): a 100 MB picture goes
through the proxy into a container of 128 MiB, streamed to disk, and comes back identical; then
the disk fills, and an upload is refused with 507 while the older picture stays.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import time
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


SNAPSHOTS = "A photo log called Snapshots. Each snapshot has a title and a photo."
MiB = 2**20
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def snapshots_disk(tiny: Installation, docker_client: Any,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 160 MiB ext4 disk (on a loop device) made the data volume of Snapshots before its
    first deploy; the app's user owns its root."""
    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which("mkfs.ext4"):
        pytest.skip("a disk of a given size needs root, losetup and mkfs.ext4")
    image = tmp_path_factory.mktemp("snapshots-disk") / "disk.img"
    with image.open("wb") as fh:
        fh.truncate(160 * MiB)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", "-E", "root_owner=10001:10001",
                    str(image)], check=True)
    device = subprocess.run(["losetup", "-f", "--show", str(image)], check=True,
                            capture_output=True, text=True).stdout.strip()
    try:
        docker_client.volumes.create(
            name=volume_name(tiny.settings, "snapshots"), driver="local",
            driver_opts={"type": "ext4", "device": device},
            labels=app_labels(tiny.settings, "snapshots", "data"))
        yield device
    finally:
        purge_instance(docker_client, tiny.settings.instance)  # nothing may keep the disk busy
        subprocess.run(["losetup", "-d", device], check=False)


def _picture(total: int, seed: int) -> tuple[Iterator[bytes], str]:
    """``total`` bytes that start like a PNG, in 1 MiB chunks, and their sha256."""
    block = random.Random(seed).randbytes(MiB)
    chunks = [PNG_MAGIC + block[len(PNG_MAGIC):]] + [
        i.to_bytes(8, "big") + block[8:] for i in range(1, total // MiB)]
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return iter(chunks), digest.hexdigest()


def _download_sha256(http: httpx.Client, url: str) -> str:
    digest = hashlib.sha256()
    with http.stream("GET", url) as answer:
        assert answer.status_code == 200, answer.read()
        assert answer.headers["content-type"] == "image/png"
        for chunk in answer.iter_bytes():
            digest.update(chunk)
    return digest.hexdigest()


# The container's peak memory as its cgroup counts it (page cache of the written file included).
CGROUP_PEAK = """
for path in ("/sys/fs/cgroup/memory.peak", "/sys/fs/cgroup/memory/memory.max_usage_in_bytes"):
    try:
        print(round(int(open(path).read()) / 2**20)); break
    except OSError:
        pass
else:
    print("?")
"""
# The largest peak resident memory (VmHWM, KiB) of the app's processes: uvicorn, not the
# container's init that started it (its command line names uvicorn too).
PEAK_MEMORY = """
import glob
peaks = [0]
for status in glob.glob("/proc/[0-9]*/status"):
    try:
        text = open(status).read()
        if "uvicorn" in open(status.replace("status", "cmdline")).read():
            peaks += [int(l.split()[1]) for l in text.splitlines() if l.startswith("VmHWM")]
    except OSError:
        pass
print(max(peaks))
"""


def test_a_100_mb_picture_streams_to_disk_and_a_full_disk_refuses_an_upload_with_507(
        tiny: Installation, snapshots_disk: str, docker_client: Any) -> None:
    built = tiny.run_json("build", SNAPSHOTS, "--max-body", "200m", "--memory", "128m")
    assert built["slug"] == "snapshots" and built["status"] == "running", built
    assert tiny.run_json("show", "snapshots")["limits"]["body"] == "200m"
    container = docker_client.containers.get(container_name(tiny.settings, "snapshots", 1))
    assert f"APP_UPLOAD_QUOTA_BYTES={2**30}" in container.attrs["Config"]["Env"]

    base = f"http://127.0.0.1:{tiny.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "snapshots.localhost"},
                      timeout=120) as http:
        first = http.post("/api/snapshots", json={"title": "Big"}).json()
        url = f"/api/snapshots/{first['id']}/photo"
        chunks, sha = _picture(100 * MiB, seed=1)
        started = time.monotonic()
        sent = http.put(url, params={"name": "big.png"}, content=chunks,
                        headers={"Content-Type": "image/png",
                                 "Content-Length": str(100 * MiB)})
        upload_seconds = time.monotonic() - started
        assert sent.status_code == 200, sent.text
        assert sent.json()["photo"] == {"name": "big.png", "size": 100 * MiB,
                                        "type": "image/png", "url": url}
        assert _download_sha256(http, url) == sha
        peak_kib = int(_app_python(container, PEAK_MEMORY))
        cgroup_peak = _app_python(container, CGROUP_PEAK)
        container.reload()
        assert not container.attrs["State"]["OOMKilled"]
        assert container.attrs["RestartCount"] == 0
        assert 0 < peak_kib * 1024 < 100 * MiB  # it never held the picture in memory

        # the rest of the disk taken: an upload fails in the kernel (ENOSPC) and is refused
        assert _app_python(container, FILL) == "full"
        second = http.post("/api/snapshots", json={"title": "Small"})
        # the database may or may not have a free page left for the record; either is clear
        assert second.status_code in (201, 507), second.text
        chunks, _ = _picture(8 * MiB, seed=2)
        refused = http.put(url, params={"name": "new.png"}, content=chunks,
                           headers={"Content-Type": "image/png"})
        assert refused.status_code == 507, refused.text
        assert "storage is full" in refused.json()["detail"]
        assert _app_python(container, "import os; print(os.listdir('/data/uploads'))") \
            .count("'") == 2  # the one picture: no partial file is left behind
        assert http.get(url.removesuffix("/photo")).json()["photo"]["name"] == "big.png"
        assert _download_sha256(http, url) == sha
        assert http.get("/healthz").status_code == 200

        # with the filler gone, deleting the record frees its 100 MB too
        _app_python(container, "import os; os.remove('/data/filler')")
        assert http.delete(f"/api/snapshots/{first['id']}").status_code == 204
        assert _app_python(container, "import os; print(len(os.listdir('/data/uploads')))") \
            == "0"
        kept = http.post("/api/snapshots", json={"title": "Kept"}).json()
        kept_url = f"/api/snapshots/{kept['id']}/photo"
        chunks, small_sha = _picture(2 * MiB, seed=3)
        assert http.put(kept_url, content=chunks).status_code == 200

        # a backup keeps uploaded files, and a restore brings them back
        backup = tiny.run_json("backup", "snapshots")
        assert http.delete(f"/api/snapshots/{kept['id']}").status_code == 204
        tiny.run("restore", "snapshots", "--from", backup["id"], "--yes")
        assert _download_sha256(http, kept_url) == small_sha

    container = docker_client.containers.get(container_name(tiny.settings, "snapshots", 1))
    assert container.status == "running" and container.attrs["RestartCount"] == 0
    print(f"\n100 MiB picture through the proxy in {upload_seconds:.1f} s; the app's peak "
          f"memory (VmHWM) {peak_kib / 1024:.0f} MiB, the container's (cgroup, page cache "
          f"included) {cgroup_peak} MiB, of 128 MiB")
