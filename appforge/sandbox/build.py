"""Building an app's image, and running the app's own tests inside it.

The build context is the app's workspace plus its wheelhouse under ``wheels/``, streamed to the
engine as a tar with fixed owners and times so unchanged files hit Docker's layer cache. Tests run
in a container of the ``test`` stage with the same hardening as the app and no network at all,
named and labelled after the app's version, so ``appforge up`` finds a run whose build was killed.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.errors import BuildFailed, TestsFailed
from appforge.sandbox.containers import labels_of_test_run, name_of_test_run
from appforge.sandbox.hardening import hardened_run_kwargs

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]
_SKIP_DIRS = {"__pycache__", ".git", ".pytest_cache", "wheels"}


@dataclass
class TestReport:
    __test__ = False

    passed: bool
    summary: str
    output: str
    seconds: float


def build_image(client: docker.DockerClient, workspace: Path, wheels: Path, tag: str,
                target: str, base_image: str, labels: dict[str, str], log: Log,
                on_line: Log | None = None) -> str:
    """Build stage ``target`` of the workspace's Dockerfile as ``tag``; return the image id.

    ``on_line`` sees each line of the build's output as it comes (for progress)."""
    lines: list[str] = []
    dockerfile = (workspace / "Dockerfile").read_text()
    labelled = with_labels(dockerfile, target, labels)
    with tempfile.TemporaryFile() as context:
        _write_context(context, workspace, wheels, dockerfile=labelled)
        context.seek(0)
        stream = client.api.build(
            fileobj=context, custom_context=True, encoding=None, tag=tag, target=target,
            buildargs={"BASE_IMAGE": base_image},
            labels=None if labelled is not None else labels, rm=True, forcerm=True,
            pull=False, decode=True,
        )
        image_id = ""
        for chunk in stream:
            if "stream" in chunk:
                text = chunk["stream"].rstrip("\n")
                if text.strip():
                    lines.append(text)
                    if on_line:
                        on_line(text)
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
            if "error" in chunk:
                lines.append(chunk["error"])
                raise BuildFailed(f"docker build of {tag} failed: {chunk['error'].strip()}",
                                  detail="\n".join(lines[-40:]))
    (workspace / ".appforge").mkdir(exist_ok=True)
    (workspace / ".appforge" / f"build-{target}.log").write_text("\n".join(lines) + "\n")
    steps = sum(1 for line in lines if line.startswith("Step "))
    cached = sum(1 for line in lines if "Using cache" in line)
    log(f"image {tag}: {steps} steps, {cached} from cache")
    if not image_id:
        match = re.search(r"Successfully built ([0-9a-f]+)", "\n".join(lines))
        image_id = match.group(1) if match else tag
    return image_id


_FROM = re.compile(r"^\s*FROM\s", re.IGNORECASE)


def with_labels(dockerfile: str, target: str, labels: dict[str, str]) -> str | None:
    """The Dockerfile with one ``LABEL`` instruction holding ``labels`` at the end of stage
    ``target``, or None where that stage cannot be found safely (the engine then adds them).

    The engine's own ``labels`` option adds one instruction per label, and the classic builder
    runs a container for each (eight a build, about 0.4 s); one instruction runs one."""
    if not labels:
        return dockerfile
    lines = dockerfile.splitlines()
    stage = re.compile(rf"^\s*FROM\s+\S+\s+AS\s+{re.escape(target)}\s*$", re.IGNORECASE)
    starts = [i for i, line in enumerate(lines) if stage.match(line)]
    if len(starts) != 1:
        return None
    end = next((i for i in range(starts[0] + 1, len(lines)) if _FROM.match(lines[i])),
               len(lines))
    while end > starts[0] + 1 and (not lines[end - 1].strip()
                                   or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # after the stage's last instruction, before the next stage's comments
    if lines[end - 1].rstrip().endswith("\\"):
        return None  # the stage ends inside a continued instruction
    label = "LABEL " + " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in labels.items())
    return "\n".join([*lines[:end], label, *lines[end:]]) + "\n"


def _write_context(fileobj: Any, workspace: Path, wheels: Path,
                   dockerfile: str | None = None) -> None:
    with tarfile.open(fileobj=fileobj, mode="w") as tar:
        for path, arcname in _context_files(workspace, wheels):
            info = tar.gettarinfo(str(path), arcname)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            if info.isfile() and arcname == "Dockerfile" and dockerfile is not None:
                data = dockerfile.encode()
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
            elif info.isfile():
                info.mode = 0o755 if info.mode & 0o100 else 0o644
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            elif info.isdir():
                info.mode = 0o755
                tar.addfile(info)


def _context_files(workspace: Path, wheels: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(workspace.rglob("*")):
        rel = path.relative_to(workspace)
        if rel.parts[0] == ".appforge" or _SKIP_DIRS.intersection(rel.parts):
            continue
        if path.is_symlink():  # never follow links out of the workspace
            continue
        yield path, rel.as_posix()
    yield wheels, "wheels"
    for wheel in sorted(wheels.glob("*.whl")):
        yield wheel, f"wheels/{wheel.name}"


def run_tests(client: docker.DockerClient, settings: Settings, image: str, slug: str,
              version: int, log: Log, timeout: float = 300) -> TestReport:
    """Run the image's test command in a locked-down container with no network."""
    from docker.errors import DockerException, NotFound

    start = time.monotonic()
    name = name_of_test_run(settings, slug, version)
    try:
        client.containers.get(name).remove(force=True)  # an earlier run that was killed
    except NotFound:
        pass
    container = client.containers.run(
        image, detach=True, network_mode="none", name=name,
        labels=labels_of_test_run(settings, slug, version), **hardened_run_kwargs(settings),
    )
    from appforge.sandbox.deploy import pause_for_crash_tests

    pause_for_crash_tests(settings, "test:running")
    from appforge.interrupts import on_interrupt

    try:
        try:
            with on_interrupt(lambda: container.kill()):  # Ctrl-C: the tests stop with it
                result = container.wait(timeout=timeout)
            code = int(result.get("StatusCode", 1))
        except Exception:  # the engine's read timeout: the tests hang
            container.kill()
            code = -1
        output = container.logs().decode(errors="replace")
    finally:
        try:
            container.remove(force=True)
        except DockerException:
            pass
    seconds = time.monotonic() - start
    lines = [line for line in output.strip().splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else "no output"
    if code == -1:
        summary = f"timed out after {timeout:.0f} s"
    log(f"tests: {summary}")
    return TestReport(passed=code == 0, summary=summary, output=output, seconds=seconds)


def raise_for_tests(report: TestReport) -> None:
    """Stop the build when the tests failed, showing their output."""
    if not report.passed:
        raise TestsFailed(f"the app's tests failed in the sandbox: {report.summary}",
                          detail="\n".join(report.output.splitlines()[-60:]))
