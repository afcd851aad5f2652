"""Builds planned (and one coded) by a real local model: live or the clear error, seconds, tokens,
and which parts of each plan came from the model.

Usage: python bench/real_llm.py --base-url http://127.0.0.1:PORT/v1 --model NAME
                                [--server-log FILE] [--only NAME] [--json]

It installs nothing and starts no model server: start one first (the README says how to run
llama-cpp-python's server with the Gemma 3 270M package). Each build runs the real CLI,
``appforge build --json --planner llm``, in a data dir and an instance of its own (the machine's
base images are reused), with a free port for the proxy; the ``custom`` build also runs the LLM
coder. After each build the bench checks that the server is idle (a one-token request is answered
at once: nothing abandoned is still being generated) and, given the server's log, counts the
answers the server saw cut off by a closed connection. Everything it made is removed at the end.

Goal (issue 15) with Gemma 3 270M on 2 cores: at least two thirds of the builds live, each in
under 3 minutes, none over 5, no traceback, no request left generating after appforge returned.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

BUILDS: dict[str, tuple[str, dict[str, str]]] = {
    "landing-surf": ("A landing page for a surf school in Ericeira with lessons", {}),
    "landing-cafe": ("A website for Bean There, a small coffee shop in Lisbon", {}),
    "crud-plants": (("A plant-watering tracker called Sprout. Each plant has a name, a location "
                     "and days between waterings."), {}),
    "crud-books": ("A reading log: books with a title, an author, pages and a rating", {}),
    "gallery-foxes": ("A gallery of six photos of foxes in the snow", {}),
    "custom-coder": ("A tip calculator: enter a bill and a tip percentage and see the tip",
                     {"APPFORGE_CODER": "llm", "APPFORGE_LLM_CODER_DEADLINE": "60",
                      "APPFORGE_CODER_FIX_ROUNDS": "1", "APPFORGE_CODER_MAX_STEPS": "8"}),
}
#: A build still running after this long is interrupted as a person would (Ctrl-C), then killed.
LIMIT = 330.0
GOAL, WORST = 180.0, 300.0
_CLI = "import sys; sys.argv[0] = 'appforge'; from appforge.cli import main; main()"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--server-log", type=Path, help="the model server's log, for its "
                        "'Disconnected' lines")
    parser.add_argument("--only", action="append", choices=sorted(BUILDS))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="appforge-llm-bench-"))
    env = {**os.environ, "APPFORGE_HOME": str(home), "APPFORGE_INSTANCE": f"afllm{os.getpid()}",
           "APPFORGE_HTTP_PORT": str(_free_port()), "APPFORGE_SCREENSHOTS": "0",
           "APPFORGE_SUPERVISE": "0", "APPFORGE_PLANNER": "llm",
           "APPFORGE_LLM_BASE_URL": args.base_url, "APPFORGE_LLM_MODEL": args.model,
           "APPFORGE_LLM_API_KEY": "not-needed", "COLUMNS": "1000"}  # one line a message
    rows = []
    try:
        for name in args.only or BUILDS:
            rows.append(_build(name, env, args))
            print(_line(rows[-1]), file=sys.stderr, flush=True)
    finally:
        _cleanup(env)
    if args.json:
        print(json.dumps({"rows": rows, "summary": _summary(rows)}))
        return
    _print(rows)


def _build(name: str, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    description, extra = BUILDS[name]
    seen = _disconnects(args.server_log)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", _CLI, "build", "--json", "--app",
                             f"b-{name}", description], env={**env, **extra}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        proc.send_signal(2)  # Ctrl-C: appforge cancels its model calls
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    seconds = time.monotonic() - started
    idle = _idle_after(args.base_url, args.model)
    result = _last_json(out)
    live = bool(result) and result.get("status") == "running" and _answers(env, result)
    return {"name": name, "live": live, "seconds": round(seconds, 1), "exit": proc.returncode,
            "plan_s": (result.get("timings") or {}).get("plan"),
            "error": "" if live else _error(err), "traceback": "Traceback" in out + err,
            "tokens": _tokens(err), "origin": _said(err, "from the model: ", "from the rules: "),
            "planned": _said(err, "planned by the llm planner"),
            "coder": _said(err, "coder: "), "server_idle_after_s": idle,
            "disconnects": _disconnects(args.server_log) - seen}


def _idle_after(base_url: str, model: str) -> float | None:
    """Seconds a one-token request takes right after the build (None: no answer in 60 s). A
    server still generating an abandoned answer serves it only after that one."""
    started = time.monotonic()
    try:
        httpx.post(f"{base_url}/chat/completions", timeout=60, json={
            "model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]})
    except httpx.HTTPError:
        return None
    return round(time.monotonic() - started, 2)


def _answers(env: dict[str, str], result: dict[str, Any]) -> bool:
    host = result["url"].split("//", 1)[-1].split(":")[0].split("/")[0]
    try:
        response = httpx.get(f"http://127.0.0.1:{env['APPFORGE_HTTP_PORT']}/",
                             headers={"Host": host}, timeout=10)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _last_json(out: str) -> dict[str, Any]:
    for line in reversed(out.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def _error(err: str) -> str:
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith(("error", "interrupted"))]
    return (errors or lines[-1:] or ["(no output)"])[-1][:200]


def _said(err: str, *starts: str) -> str:
    """The first progress message that starts so (a line is "  STAGE   MESSAGE")."""
    for line in err.splitlines():
        words = line.strip().split(None, 1)
        for text in (line.strip(), words[-1] if words else ""):
            if text.startswith(starts):
                return text[:300]
    return ""


def _tokens(err: str) -> int:
    import re

    found = [int(n) for n in re.findall(r"the model's answers: (\d+) tokens", err)]
    found += [int(n) for n in re.findall(r"coder: .*? after \d+ steps, (\d+) tokens", err)]
    return sum(found)


def _disconnects(log: Path | None) -> int:
    if log is None or not log.exists():
        return 0
    return log.read_text(errors="replace").count("Disconnected from client")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    live = sum(r["live"] for r in rows)
    return {"live": live, "builds": len(rows),
            "under_3_min": sum(r["seconds"] < GOAL for r in rows),
            "over_5_min": sum(r["seconds"] > WORST for r in rows),
            "tracebacks": sum(r["traceback"] for r in rows),
            "server_busy_after": sum(r["server_idle_after_s"] is None
                                     or r["server_idle_after_s"] > 10 for r in rows)}


def _line(row: dict[str, Any]) -> str:
    return (f"{row['name']:14} {'live' if row['live'] else 'FAILED':6} {row['seconds']:6.1f} s "
            f"{row['tokens']:6} tok  idle after: {row['server_idle_after_s']} s  "
            f"{row['origin'] or row['error']}")


def _print(rows: list[dict[str, Any]]) -> None:
    print("| build | result | seconds | tokens | server idle after | what came from the model |")
    print("| --- | --- | ---: | ---: | --- | --- |")
    for row in rows:
        result = "live" if row["live"] else f"failed: {row['error']}"
        idle = row["server_idle_after_s"]
        origin = row["origin"] + (f"; {row['coder']}" if row["coder"] else "")
        print(f"| {row['name']} | {result} | {row['seconds']:.0f} | {row['tokens']} | "
              f"{'yes' if idle is not None and idle <= 10 else 'NO'} ({idle} s) | "
              f"{origin.replace('|', '/')} |")
    summary = _summary(rows)
    print(f"\n{summary['live']}/{summary['builds']} live (goal: two thirds), "
          f"{summary['under_3_min']} under 3 min, {summary['over_5_min']} over 5 min, "
          f"{summary['tracebacks']} tracebacks, {summary['server_busy_after']} builds after which "
          "the server was still generating")


def _cleanup(env: dict[str, str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from appforge.config import Settings
    from appforge.sandbox.containers import purge_instance
    from appforge.sandbox.engine import connect

    settings = Settings(home=Path(env["APPFORGE_HOME"]), instance=env["APPFORGE_INSTANCE"])
    purge_instance(connect(settings), settings.instance)


if __name__ == "__main__":
    main()
