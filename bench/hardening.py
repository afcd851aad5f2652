"""Audit every running container of an appforge installation against the sandbox's rules.

Usage: python bench/hardening.py [--instance appforge] [--bind-address 127.0.0.1] [--json]

Prints one pass/fail table per container (rules from ``appforge.sandbox.audit``: the CIS Docker
Benchmark's container-runtime section, as DESIGN.md's sandbox asks for it) and exits 1 when any
rule fails, 2 when the installation has no running container. The instance, bind address and
engine default to the installation's settings (``APPFORGE_*`` variables, config.toml).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appforge.config import Settings  # noqa: E402
from appforge.sandbox.audit import Finding, audit_instance, failures, role_of  # noqa: E402
from appforge.sandbox.engine import connect  # noqa: E402


def main() -> int:
    settings = Settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=settings.instance,
                        help=f"installation to audit (default {settings.instance})")
    parser.add_argument("--bind-address", default=settings.bind_address,
                        help="the address the proxy may publish on (default %(default)s)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    args = parser.parse_args()

    client = connect(settings)
    report = audit_instance(client, args.instance, args.bind_address)
    roles = {name: role_of(client.containers.get(name).attrs) for name in report}
    failed = sum(len(failures(findings)) for findings in report.values())
    if args.json:
        print(json.dumps({
            "instance": args.instance,
            "passed": bool(report) and failed == 0,
            "containers": {name: {"role": roles[name],
                                  "findings": [asdict(f) for f in findings]}
                           for name, findings in report.items()},
        }, indent=2))
    else:
        for name, findings in report.items():
            _print_table(name, roles[name], findings)
        checked = sum(len(findings) for findings in report.values())
        print(f"{args.instance}: {len(report)} containers, {checked} checks, {failed} failed")
    if not report:
        print(f"no running container is labelled io.appforge.instance={args.instance}",
              file=sys.stderr)
        return 2
    return 1 if failed else 0


def _print_table(name: str, role: str, findings: list[Finding]) -> None:
    width = max(len(f.title) for f in findings)
    print(f"{name} ({role})")
    print(f"  {'rule':5} {'check':{width}}  {'result':6}  detail")
    for f in findings:
        print(f"  {f.rule:5} {f.title:{width}}  {'pass' if f.passed else 'FAIL':6}  {f.detail}")
    print()


if __name__ == "__main__":
    sys.exit(main())
