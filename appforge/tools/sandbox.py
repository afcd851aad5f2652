"""Building and testing an app's image in the sandbox, as the agent's test and package steps.

The app's own tests run inside the ``test`` stage of its image (no network, same hardening as the
app); only when they pass is the ``runtime`` stage tagged for deploy. An app the LLM coder writes
is given appforge's contract test of its API first (``contract_examples`` > 0, see
:mod:`appforge.generators.code.contract`), written again before every test build.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.generators.code.contract import write_contract_test
from appforge.sandbox.base_images import ensure_python_base
from appforge.sandbox.build import build_image, raise_for_tests, run_tests
from appforge.sandbox.containers import app_labels
from appforge.sandbox.engine import LABEL
from appforge.sandbox.wheelhouse import ensure_wheelhouse

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]


def image_tag(settings: Settings, slug: str, version: int, suffix: str = "") -> str:
    return f"{settings.instance}/{slug}:v{version}{suffix}"


def _build(client: docker.DockerClient, settings: Settings, slug: str, version: int,
           workspace: Path, target: str, tag: str, log: Log) -> str:
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    # The wheels are fetched while the base image is found (or, on a new machine, made); the
    # thread runs in this one's context, so its progress lines reach the same stream.
    with ThreadPoolExecutor(max_workers=1) as pool:
        fetching = pool.submit(contextvars.copy_context().run, ensure_wheelhouse,
                               settings.wheelhouse,
                               [workspace / "requirements.txt",
                                workspace / "requirements-dev.txt"], log)
        base = ensure_python_base(client, settings, log)
        wheels = fetching.result()
    labels = {**app_labels(settings, slug, "image"), f"{LABEL}.version": str(version)}
    build_image(client, workspace, wheels, tag, target, base, labels, log)
    return tag


def _build_test_stage(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                      workspace: Path, contract_examples: int, log: Log) -> str:
    """The contract test is put back (or taken out) right before the build, so the image holds
    appforge's copy whatever the workspace held."""
    write_contract_test(workspace, contract_examples)
    return _build(client, settings, slug, version, workspace, "test",
                  image_tag(settings, slug, version, "-test"), log)


def build_and_test(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                   workspace: Path, log: Log, contract_examples: int = 0) -> tuple[str, str]:
    """Build the test stage and run the app's tests in it; return (image tag, summary).

    With ``contract_examples``, the tests include appforge's contract test of the app's API, at
    most that many generated requests per operation. An image with the same content as one whose
    tests passed (a rebuild that changed nothing) is not tested again: its earlier report is
    reused, and the build says so. The contract test is part of that content."""
    tag = _build_test_stage(client, settings, slug, version, workspace, contract_examples, log)
    (workspace / ".appforge").mkdir(exist_ok=True)
    passed = _passed_before(client, settings, tag)
    if passed is not None:
        log(f"tests: {passed['summary']} (this image's content passed its tests at "
            f"{passed['slug']} v{passed['version']}; not run again)")
        (workspace / ".appforge" / "test-report.txt").write_text(
            f"# the same image content passed at {passed['slug']} v{passed['version']}; its "
            f"report:\n{passed['output']}")
        return tag, passed["summary"]
    report = run_tests(client, settings, tag, slug, version, log)
    (workspace / ".appforge" / "test-report.txt").write_text(report.output)
    raise_for_tests(report)
    if settings.test_cache:
        _remember_pass(client, settings, tag, slug, version, report)
    return tag, report.summary


def _content_key(client: docker.DockerClient, tag: str) -> str:
    """What a test run depends on: the image's layers (content digests) and its run config.
    Labels (the version number) are left out, so the same code at v1 and v2 has one key."""
    import hashlib
    import json

    attrs = client.images.get(tag).attrs
    config = {k: v for k, v in (attrs.get("Config") or {}).items() if k != "Labels"}
    blob = json.dumps({"layers": attrs["RootFS"]["Layers"], "config": config}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _cache_file(settings: Settings, key: str) -> Path:
    return (settings.test_cache_dir or settings.home / "cache" / "tests") / f"{key}.json"


def _passed_before(client: docker.DockerClient, settings: Settings,
                   tag: str) -> dict[str, Any] | None:
    import json

    if not settings.test_cache:
        return None
    try:
        return dict(json.loads(_cache_file(settings, _content_key(client, tag)).read_text()))
    except (OSError, ValueError):
        return None


def _remember_pass(client: docker.DockerClient, settings: Settings, tag: str, slug: str,
                   version: int, report: Any) -> None:
    import json

    path = _cache_file(settings, _content_key(client, tag))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"slug": slug, "version": version, "summary": report.summary,
                               "output": report.output}))
    tmp.replace(path)


def try_tests(client: docker.DockerClient, settings: Settings, slug: str, version: int,
              workspace: Path, log: Log, contract_examples: int = 0) -> tuple[bool, str]:
    """Build the test stage and run the tests, for the coder: (passed, output or build log)."""
    from appforge.errors import BuildFailed, DependencyError

    try:
        tag = _build_test_stage(client, settings, slug, version, workspace, contract_examples,
                                log)
    except (BuildFailed, DependencyError) as exc:
        return False, f"{exc}\n{exc.detail or ''}"
    report = run_tests(client, settings, tag, slug, version, log)
    return report.passed, report.output


def build_runtime_image(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                        workspace: Path, log: Log) -> str:
    """Build and tag the image that gets deployed."""
    return _build(client, settings, slug, version, workspace, "runtime",
                  image_tag(settings, slug, version),
                  log)
