"""The contract test of an LLM-coded app's API: what appforge writes into the workspace, when, and
what the test itself reports for an app that breaks its contract (run here on apps these tests
write, in a subprocess, as the sandbox runs it in the container)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from appforge.config import Settings
from appforge.errors import BuildFailed
from appforge.generators.code import render_app
from appforge.generators.code.contract import (
    BEGIN,
    CONTRACT_TEST,
    END,
    contract_requirements,
    write_contract_test,
)
from appforge.spec import AppSpec

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][A-Za-z0-9.+!-]*$")
CUSTOM = {"name": "Initials", "slug": "initials", "title": "Initials", "kind": "custom",
          "tagline": "The first letter of any word.", "entities": [], "features": [],
          "assets": [], "call_to_action": "Try a word", "language": "en",
          "file_plan": [{"path": "app/words.py", "purpose": "the word API"}]}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A custom app as the LLM coder starts it: the landing scaffold."""
    render_app(AppSpec.model_validate(CUSTOM), tmp_path / "ws")
    return tmp_path / "ws"


def test_contract_test_is_written_with_the_examples_setting(workspace: Path) -> None:
    assert write_contract_test(workspace, 12)
    text = (workspace / CONTRACT_TEST).read_text()
    assert "\nEXAMPLES = 12\n" in text and re.search(r"\nSEED = \d+\n", text)
    assert "appforge writes it before every build of the test image" in text
    assert '"deterministic": True' in text
    compile(text, CONTRACT_TEST, "exec")


def test_a_changed_or_deleted_contract_test_is_written_back(workspace: Path) -> None:
    write_contract_test(workspace, 15)
    test = workspace / CONTRACT_TEST
    original = test.read_text()
    test.write_text(original.replace("EXAMPLES = 15", "EXAMPLES = 0"))
    write_contract_test(workspace, 15)
    assert test.read_text() == original
    test.unlink()
    write_contract_test(workspace, 15)
    assert test.read_text() == original


def test_schemathesis_is_pinned_in_the_test_requirements(workspace: Path) -> None:
    runtime = (workspace / "requirements.txt").read_text()
    dev = (workspace / "requirements-dev.txt").read_text()
    write_contract_test(workspace, 15)
    assert (workspace / "requirements.txt").read_text() == runtime  # never in the app's image
    written = (workspace / "requirements-dev.txt").read_text()
    assert written.startswith(dev)
    block = written[len(dev):].splitlines()
    assert block[0] == BEGIN and block[-1] == END
    assert "schemathesis==4.32.5" in block
    assert all(PIN.match(line) for line in block[1:-1])
    write_contract_test(workspace, 15)  # a second write changes nothing
    assert (workspace / "requirements-dev.txt").read_text() == written


def test_a_clashing_or_removed_pin_is_put_back(workspace: Path) -> None:
    write_contract_test(workspace, 15)
    written = (workspace / "requirements-dev.txt").read_text()
    changed = written.replace("schemathesis==4.32.5\n", "").replace(END, "") + "hypothesis==6.0.0\n"
    (workspace / "requirements-dev.txt").write_text(changed)
    write_contract_test(workspace, 15)
    assert (workspace / "requirements-dev.txt").read_text() == written


def test_no_examples_means_no_contract_test(workspace: Path) -> None:
    dev = (workspace / "requirements-dev.txt").read_text()
    write_contract_test(workspace, 15)
    assert not write_contract_test(workspace, 0)
    assert not (workspace / CONTRACT_TEST).exists()
    assert (workspace / "requirements-dev.txt").read_text() == dev


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    assert Settings(home=tmp_path).api_check_examples == 15
    monkeypatch.setenv("APPFORGE_API_CHECK_EXAMPLES", "0")
    assert Settings(home=tmp_path).api_check_examples == 0
    monkeypatch.setenv("APPFORGE_API_CHECK_EXAMPLES", "-1")
    with pytest.raises(ValueError):
        Settings(home=tmp_path)


def test_only_apps_the_llm_coder_writes_are_contract_tested(tmp_path: Path) -> None:
    from appforge.agent.nodes import _contract_examples

    blueprint = Settings(home=tmp_path, api_check_examples=9)
    llm = Settings(home=tmp_path, api_check_examples=9, coder="llm")
    assert [_contract_examples(blueprint, kind) for kind in ("crud", "landing", "custom")] == [
        0, 0, 9]
    assert _contract_examples(llm, "crud") == 9
    assert _contract_examples(Settings(home=tmp_path, api_check_examples=0), "custom") == 0


@pytest.mark.parametrize("examples", [0, 15])
def test_the_test_image_is_built_from_appforges_copy(
        workspace: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        examples: int) -> None:
    """Whatever the workspace holds, the test stage is built with the contract test as appforge
    wrote it (an LLM-coded app) or without it, the requirements untouched (a blueprint app)."""
    from appforge.tools import sandbox

    dev = (workspace / "requirements-dev.txt").read_text()
    (workspace / CONTRACT_TEST).write_text("def test_nothing():\n    pass\n")
    seen: dict[str, str | None] = {}

    def build(client: object, settings: Settings, slug: str, version: int, ws: Path,
              target: str, tag: str, log: object) -> str:
        test = ws / CONTRACT_TEST
        seen["test"] = test.read_text() if test.exists() else None
        seen["dev"] = (ws / "requirements-dev.txt").read_text()
        raise BuildFailed("stop here")

    monkeypatch.setattr(sandbox, "_build", build)
    passed, _ = sandbox.try_tests(None, settings, "initials", 1, workspace,  # type: ignore[arg-type]
                                  lambda _m: None, contract_examples=examples)
    assert not passed
    if examples:
        assert "EXAMPLES = 15" in (seen["test"] or "") and "schemathesis==" in (seen["dev"] or "")
    else:
        assert seen == {"test": None, "dev": dev}


WORDS = '''"""Words."""

from fastapi import APIRouter

router = APIRouter()


@router.get("/api/initial")
def initial(word: str) -> dict[str, str]:
    return {"initial": word[0].upper()}
'''


def _run_app_tests(workspace: Path) -> subprocess.CompletedProcess[str]:
    """The app's whole suite, as the test stage runs it."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests"], cwd=workspace, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})


def _add_router(workspace: Path, module: str, text: str) -> None:
    (workspace / "app" / f"{module}.py").write_text(text)
    main = workspace / "app" / "main.py"
    main.write_text(main.read_text().replace(
        "    return app\n", f"    from app.{module} import router\n    app.include_router(router)\n"
        "    return app\n"))


def test_contract_test_reports_a_crash_with_check_request_and_traceback(workspace: Path) -> None:
    pytest.importorskip("schemathesis")
    _add_router(workspace, "words", WORDS)
    write_contract_test(workspace, 10)
    proc = _run_app_tests(workspace)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "GET /api/initial breaks the API contract (checks: not_a_server_error" in out
    assert "ST101 Server error" in out
    assert "curl -X GET 'http://testserver/api/initial?word='" in out
    assert "app/words.py:10 in initial: return {\"initial\": word[0].upper()}" in out
    assert "IndexError: string index out of range" in out
    # the one failure; /healthz and the scaffold's sign-up API keep their contract
    assert len(re.findall(r"^FAILED ", out, re.M)) == 1 and "1 failed" in out.splitlines()[-1]
    assert "Traceback" not in out and "site-packages" not in out  # the report, not the plumbing


def test_contract_test_skips_an_app_without_an_openapi_document(workspace: Path) -> None:
    pytest.importorskip("schemathesis")
    main = workspace / "app" / "main.py"
    text = main.read_text()
    assert 'version="1.0.0", ' in text
    main.write_text(text.replace('version="1.0.0", ', 'version="1.0.0", openapi_url=None, '))
    (workspace / "tests" / "test_app.py").write_text(
        "def test_home_page(client):\n    assert client.get('/').status_code == 200\n")
    write_contract_test(workspace, 10)
    proc = _run_app_tests(workspace)
    assert proc.returncode == 0 and "1 skipped" in proc.stdout.splitlines()[-1], proc.stdout
    assert "the API contract test is skipped: the app serves no OpenAPI document" in proc.stdout
