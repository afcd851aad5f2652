"""`appforge domain ...` as a user runs it, against a local server speaking Porkbun's API; and a
purchase killed (kill -9) at each point of the buy, then run again: one charge, never two."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from appforge.store import Store
from tests.conftest import appforge_env
from tests.fake_registrars import FakePorkbun


def env_for(home: Path, fake: FakePorkbun, budget: str | None = "30") -> dict[str, str]:
    env = appforge_env(home, "afdomcli", 18998)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                "all_proxy"):
        env.pop(var, None)
    env.update(fake.env())
    if budget is not None:
        env["APPFORGE_DOMAIN_BUDGET"] = budget
    return env


def appforge(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appforge.cli", "domain", *args], check=False,
                          capture_output=True, text=True, env=env, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_search_lists_free_names_with_prices_and_flags_the_rest(tmp_path: Path,
                                                                porkbun: FakePorkbun) -> None:
    porkbun.taken.add("bikeshop.com")
    porkbun.premium.add("bikeshop.dev")
    proc = appforge(env_for(tmp_path, porkbun), "search", "bike", "shop", "--tlds",
                    "com,dev,us", "--limit", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    rows = {r["name"]: r for r in found["names"]}
    assert rows["bikeshop.com"]["available"] is False
    assert rows["bikeshop.dev"]["premium"] is True and rows["bikeshop.dev"]["buyable"] is False
    assert rows["bikeshop.us"]["api_registerable"] is False
    assert "bike-shop.com" in found["left_out"]
    assert "checked 3/3" in proc.stderr  # progress, one name at a time
    human = appforge(env_for(tmp_path, porkbun), "search", "bikeshop.us")
    assert "only on the registrar's website" in human.stdout
    assert "$3.98" in human.stdout and "$7.00" in human.stdout


def test_search_waits_out_porkbuns_one_check_per_window(tmp_path: Path,
                                                        porkbun: FakePorkbun) -> None:
    porkbun.check_window = 0.5
    proc = appforge(env_for(tmp_path, porkbun), "search", "bike", "--tlds", "com,dev",
                    "--limit", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [r["available"] for r in json.loads(proc.stdout)["names"]] == [True, True]
    assert any(r.path.endswith("checkDomain/bike.dev") for r in porkbun.requests)


def test_search_from_an_apps_plan(tmp_path: Path, porkbun: FakePorkbun) -> None:
    home = tmp_path / "home"
    store = Store(home / "appforge.sqlite")
    store.upsert_app("sprout", "Sprout", "Sprout Garden", "crud", "sprout.localhost")
    store.new_version("sprout", "first", {"name": "Sprout", "slug": "sprout",
                                          "title": "Sprout Garden"}, home / "apps")
    proc = appforge(env_for(home, porkbun), "search", "--app", "sprout", "--tlds", "com",
                    "--limit", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [r["name"] for r in json.loads(proc.stdout)["names"]] == [
        "sproutgarden.com", "sprout-garden.com"]


def test_buy_without_yes_shows_the_price_and_buys_nothing(tmp_path: Path,
                                                          porkbun: FakePorkbun) -> None:
    proc = appforge(env_for(tmp_path, porkbun), "buy", "bikeshop.com")
    assert proc.returncode == 0, proc.stderr
    assert "$9.73 for 1 year(s), then $11.08 a year" in proc.stdout
    assert "not bought" in proc.stdout and "--yes" in proc.stdout
    assert porkbun.charges == []


def test_buy_with_yes_buys_once_and_lists_the_name(tmp_path: Path, porkbun: FakePorkbun) -> None:
    env = env_for(tmp_path, porkbun)
    proc = appforge(env, "buy", "bikeshop.com", "--yes", "--max-price", "10", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["state"], result["charged"], result["quoted"]) == \
        ("registered", "$9.73", "$9.73")
    assert [s["step"] for s in result["steps"]] == ["quote", "dry_run", "register"]
    listed = json.loads(appforge(env, "list", "--json").stdout)
    assert [(r["name"], r["owned"], r["purchase"], r["expires_at"]) for r in listed] == [
        ("bikeshop.com", True, "registered", "2027-11-30 04:00:00")]
    human = appforge(env, "list")
    assert "bikeshop.com" in human.stdout and "registered" in human.stdout
    for text in (proc.stdout, proc.stderr, human.stdout, *porkbun.urls()):
        assert porkbun.api_key not in text and porkbun.secret not in text


def test_refusals_have_clear_errors_and_their_own_exit_code(tmp_path: Path,
                                                            porkbun: FakePorkbun) -> None:
    proc = appforge(env_for(tmp_path, porkbun, budget=None), "buy", "bikeshop.com", "--yes")
    assert proc.returncode == 6
    assert "no domain budget is set" in proc.stderr and "APPFORGE_DOMAIN_BUDGET" in proc.stderr
    proc = appforge(env_for(tmp_path, porkbun), "buy", "bikeshop.com", "--yes",
                    "--max-price", "5")
    assert proc.returncode == 6 and "more than --max-price $5.00" in proc.stderr
    proc = appforge(env_for(tmp_path, porkbun), "buy", "myapp.localhost", "--yes")
    assert proc.returncode == 2 and "reserved for local or test use" in proc.stderr
    proc = appforge(env_for(tmp_path, porkbun), "buy", "shop.bikes.com", "--yes")
    assert proc.returncode == 2 and "buy bikes.com" in proc.stderr
    assert porkbun.charges == []


@pytest.mark.parametrize("point", ["domain:quoted", "domain:submitting", "domain:registered"])
def test_a_buy_killed_at_any_point_then_run_again_charges_once(
        tmp_path: Path, porkbun: FakePorkbun, point: str) -> None:
    env = env_for(tmp_path, porkbun)
    pause = tmp_path / "paused"
    killed = subprocess.Popen(
        [sys.executable, "-m", "appforge.cli", "domain", "buy", "bikeshop.com", "--yes"],
        env={**env, "APPFORGE_TEST_PAUSE_AT": point, "APPFORGE_TEST_PAUSE_FILE": str(pause)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not pause.exists() and killed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pause.exists(), f"the buy never reached {point}"
    finally:
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
    charged_before = list(porkbun.charges)
    proc = appforge(env, "buy", "bikeshop.com", "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["state"] == "registered"
    assert porkbun.charges == [("bikeshop.com", 973)]
    if point == "domain:registered":
        assert charged_before == porkbun.charges  # charged before the kill, not again
        assert result["charged_source"] == "quote"
    keys = {r.headers["Idempotency-Key"] for r in porkbun.creates()}
    assert len(keys) == 1


@pytest.mark.parametrize("typed, bought", [("bikeshop.com", True), ("yes", False)])
def test_on_a_terminal_the_buy_waits_for_the_name_typed_back(
        tmp_path: Path, porkbun: FakePorkbun, typed: str, bought: bool) -> None:
    master, terminal = os.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "appforge.cli", "domain", "buy", "bikeshop.com"],
            stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env_for(tmp_path, porkbun))
        os.close(terminal)
        os.write(master, typed.encode() + b"\n")
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        os.close(master)
    assert "$9.73 for 1 year(s)" in stdout
    if bought:
        assert proc.returncode == 0, stderr
        assert porkbun.charges == [("bikeshop.com", 973)]
    else:
        assert proc.returncode == 1 and "not bought" in stdout
        assert porkbun.charges == [] and porkbun.creates() == []


def test_attach_waits_for_an_app_another_process_holds_then_says_who(
        tmp_path: Path, porkbun: FakePorkbun) -> None:
    from appforge.store.locks import app_lock

    home = tmp_path / "home"
    Store(home / "appforge.sqlite").upsert_app("bikes", "Bikes", "Bikes", "crud",
                                               "bikes.localhost")
    with app_lock(home, "bikes"):
        proc = appforge(env_for(home, porkbun), "attach", "bikeshop.com", "bikes", "--wait",
                        "0", "--json")
    assert proc.returncode == 5
    assert "bikes" in proc.stderr and proc.stdout == ""
    assert porkbun.requests == []
