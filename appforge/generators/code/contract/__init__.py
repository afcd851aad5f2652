"""The contract test of an LLM-coded app's HTTP API, put into its workspace before each test build.

The LLM coder's code is checked harder than a blueprint's: :func:`write_contract_test` writes
``tests/test_api_contract.py`` (Schemathesis against the app's own OpenAPI document, every check,
a bounded number of derandomized examples per operation, rendered from the template beside this
module) and appends the pinned Schemathesis wheels (``requirements.txt`` beside this module) to
the workspace's ``requirements-dev.txt``, between two marker lines. Both belong to appforge, not
to the coder: they are written again right before every build of the test image, so a copy the
coder deleted or weakened is put back, and since they are part of the test image's content, a
test report cached by content (``APPFORGE_TEST_CACHE``) covers them too.
"""

from __future__ import annotations

import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

HERE = Path(__file__).parent
#: Where the test goes in the workspace.
CONTRACT_TEST = "tests/test_api_contract.py"
DEV_REQUIREMENTS = "requirements-dev.txt"
#: Hypothesis's seed (the examples are derandomized as well): the same code, the same verdict.
SEED = 20251111
BEGIN = "# appforge's API contract test (tests/test_api_contract.py): put back before each build"
END = "# end of appforge's API contract test"


def write_contract_test(workspace: Path, examples: int) -> bool:
    """Put the contract test and its requirements into ``workspace`` as appforge wrote them, with
    ``examples`` generated requests per operation; with 0, take them out. Return whether the
    workspace has the test now. Files already as they should be are not touched."""
    test = workspace / CONTRACT_TEST
    requirements = workspace / DEV_REQUIREMENTS
    if examples <= 0:
        test.unlink(missing_ok=True)
        if requirements.is_file():
            _write_if_changed(requirements, _without_block(requirements.read_text()))
        return False
    test.parent.mkdir(parents=True, exist_ok=True)
    _write_if_changed(test, render_contract_test(examples))
    kept = _without_block(requirements.read_text()) if requirements.is_file() else ""
    block = "\n".join([BEGIN, *contract_requirements(), END]) + "\n"
    _write_if_changed(requirements, (kept.rstrip("\n") + "\n" if kept.strip() else "") + block)
    return True


def render_contract_test(examples: int) -> str:
    env = Environment(loader=FileSystemLoader(str(HERE)), undefined=StrictUndefined,
                      keep_trailing_newline=True)
    return env.get_template("test_api_contract.py.j2").render(examples=examples, seed=SEED)


def contract_requirements() -> list[str]:
    """The pinned requirements of the contract test (Schemathesis and what it needs beyond the
    blueprint's own pins)."""
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _without_block(text: str) -> str:
    """``text`` without appforge's block, its marker lines, or any other line that names one of
    its packages (a pin the coder added beside it would clash with appforge's)."""
    ours = {_name(line) for line in contract_requirements()}
    kept = [line for line in text.splitlines()
            if line.strip() not in (BEGIN, END) and _name(line) not in ours]
    return "\n".join(kept) + ("\n" if kept else "")


def _name(line: str) -> str:
    """The normalized project name a requirement line names ('' for comments and options)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
