"""What the engine says an app's container is doing now, to show next to what the store intends.

The store keeps the *intended* status (running, stopped); the engine restarts a crashed app by
itself (restart policy ``unless-stopped``), so only the engine knows whether the app is up, coming
back, or crashing on every start. :func:`classify` reads a container's ``docker inspect`` dict and
the engine's recent ``die``/``oom`` events for it and returns one word and the facts behind it:

- ``missing``: there is no container for the version.
- ``crash-looping``: at least :data:`LOOP_EXITS` (3) exits within the last :data:`WINDOW`
  (5 minutes) in the engine's events and it has not run :data:`GOOD_RUN` (10 s) since, the run
  after which the engine resets its backoff; or, when the events no longer hold them (the engine
  keeps only its last 256 events, about 90 s on a busy machine), the engine is waiting to start it
  again after at least 3 restarts and a last run shorter than 10 s.
- ``out-of-memory``: the kernel killed it for memory within the window (an ``oom`` event, or
  ``State.OOMKilled`` with an exit in the window), or it is down after such a kill. The engine
  keeps ``OOMKilled`` on the state while the container runs again, until an exit that is not one.
- ``restarting``: the engine is waiting to start it again, or started it again less than 10 s ago.
- ``stopped``: it exited and the engine will not restart it (``appforge stop``, ``docker kill``).
- ``unhealthy`` / ``starting`` / ``running``: it runs, and its healthcheck says so.
- ``unknown``: the engine did not answer (from :func:`read`, which never raises).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker

#: The span of the engine's events that count as recent, in seconds.
WINDOW = 300.0
#: Exits within the window that make a crash loop.
LOOP_EXITS = 3
#: Seconds a container must run before the engine resets its restart backoff.
GOOD_RUN = 10.0
#: Log lines kept for a crash loop or an out-of-memory kill.
LOG_LINES = 10

#: Live states -> tone on the dashboard (stopped and missing depend on the intended status).
TONES = {"running": "ok", "starting": "warn", "restarting": "warn", "unhealthy": "bad",
         "crash-looping": "bad", "out-of-memory": "bad", "stopped": "bad", "missing": "bad",
         "unknown": "off"}


def classify(attrs: dict[str, Any] | None, events: Iterable[dict[str, Any]] = (),
             now: float | None = None) -> dict[str, Any]:
    """The live state of one container from its inspect dict (None: no container) and the
    engine's events for it (``die`` and ``oom``, any span: only the last :data:`WINDOW` count)."""
    now = time.time() if now is None else now
    if attrs is None:
        return _result("missing", reason="no container for this version")
    state = attrs.get("State") or {}
    restarts = int(attrs.get("RestartCount") or 0)
    started, finished = _epoch(state.get("StartedAt")), _epoch(state.get("FinishedAt"))
    # A start by hand (``docker restart``; a restore that starts a crashing app again) sets the
    # engine's restart count back to 0; the engine's own restarts count up. So with a count of
    # 0, what happened before this start belongs to the container's previous life.
    fresh = restarts == 0 and started is not None
    recent = sorted((e for e in events if now - WINDOW <= _event_time(e) <= now + 1
                     and not (fresh and _event_time(e) < (started or 0))), key=_event_time)
    dies = [e for e in recent if e.get("Action") == "die"]
    ooms = [e for e in recent if e.get("Action") == "oom"]
    running = state.get("Status") == "running"
    waiting = bool(state.get("Restarting"))
    health = (state.get("Health") or {}).get("Status", "none")
    # While it runs again the engine reports exit code 0: the last exit is in the events.
    exit_code = state.get("ExitCode") if not running else _exit_code(dies[-1]) if dies else None
    last_run = finished - started if not running and started and finished else None
    # (The engine keeps OOMKilled from a kill before a start by hand while the container runs.)
    oom_flag = bool(state.get("OOMKilled")) and not (fresh and running)
    oom_now = bool(ooms) or oom_flag and (
        (finished is not None and now - finished <= WINDOW) or not running and not waiting)
    facts = {"restarts": restarts, "exit_code": exit_code,
             "oom_killed": oom_flag or bool(ooms),
             "started_at": started, "finished_at": finished, "exits_recent": len(dies),
             "status": state.get("Status"), "health": health}
    # Once it has run 10 s the engine resets its backoff, and so do we: the loop is over.
    settled = running and started is not None and now - started >= GOOD_RUN
    if (len(dies) >= LOOP_EXITS and not settled) or (
            waiting and restarts >= LOOP_EXITS and last_run is not None and last_run < GOOD_RUN):
        if len(dies) >= LOOP_EXITS:
            span = now - _event_time(dies[0])
            why = f"exited {len(dies)} times in {_span(span)}"
        else:
            why = f"restarted {restarts} times, the last run lasted {_span(last_run or 0)}"
        if exit_code is not None:
            why += f", last exit code {exit_code}"
        if oom_now:
            why += " (killed for memory)"
        return _result("crash-looping", why, **facts)
    if oom_now:
        when = _event_time(ooms[-1]) if ooms else finished
        why = f"killed for memory {_span(now - when) if when else 'recently'} ago"
        limit = (attrs.get("HostConfig") or {}).get("Memory") or 0
        if limit:
            why += f" (limit {limit // 2**20} MiB)"
        why += "; " + ("running again" if running else "restarting" if waiting
                       else "not restarted")
        if restarts:
            why += f", {restarts} restart{'s' if restarts != 1 else ''}"
        return _result("out-of-memory", why, **facts)
    if waiting:
        return _result("restarting", f"exited with code {exit_code}; the engine starts it again"
                       f" ({restarts} restart{'s' if restarts != 1 else ''} so far)", **facts)
    if not running:
        why = f"{state.get('Status', 'exited')}, exit code {exit_code}"
        return _result("stopped", why, **facts)
    if health == "unhealthy":
        return _result("unhealthy", "its healthcheck fails", **facts)
    if restarts and started is not None and now - started < GOOD_RUN:
        why = f"started again {_span(now - started)} ago after {restarts} " \
              f"restart{'s' if restarts != 1 else ''}"
        if exit_code is not None:
            why += f", last exit code {exit_code}"
        return _result("restarting", why, **facts)
    if health == "starting":
        return _result("starting", "its healthcheck has not passed yet", **facts)
    why = f"restarted {restarts} time{'s' if restarts != 1 else ''}" if restarts else ""
    if len(dies) >= LOOP_EXITS:
        why += f"; up {_span(now - (started or now))} after a crash loop ({len(dies)} exits " \
               f"in {_span(WINDOW)})"
    return _result("running", why, **facts)


def read(client: docker.DockerClient | None, name: str, now: float | None = None,
         log_lines: int = LOG_LINES) -> dict[str, Any]:
    """The live state of the container ``name``, from the engine; ``unknown`` (with the reason)
    when there is no client or the engine does not answer. Never raises."""
    from docker.errors import DockerException, NotFound
    from requests.exceptions import RequestException

    if client is None:
        return unknown("the Docker engine is not reachable")
    now = time.time() if now is None else now
    try:
        try:
            attrs = client.api.inspect_container(name)
        except NotFound:
            return classify(None, now=now)
        # until: now, not later: the engine holds the answer open until then (a second a call,
        # a second per app on a page that lists them)
        events = client.events(since=int(now - WINDOW), until=int(now), decode=True,
                               filters={"container": attrs["Id"], "event": ["die", "oom"]})
        live = classify(attrs, list(events), now)
        if live["live"] in ("crash-looping", "out-of-memory") and log_lines:
            live["logs"] = client.api.logs(attrs["Id"], tail=log_lines).decode(errors="replace")
    except (DockerException, RequestException, OSError, ValueError) as exc:
        return unknown(f"the Docker engine did not answer: {exc}")
    return live


def unknown(reason: str) -> dict[str, Any]:
    return _result("unknown", reason)


def tone(live: dict[str, Any], intended: str) -> str:
    """ok / warn / bad (off: unknown, or an app meant to be stopped that is)."""
    if live["live"] in ("stopped", "missing") and intended != "running":
        return "off"
    if live["live"] == "out-of-memory" and live.get("status") == "running":
        return "warn"  # killed for memory, and the engine brought it back
    return TONES.get(live["live"], "off")


def needs_attention(live: dict[str, Any], intended: str) -> bool:
    """An app meant to be running whose container is not simply running."""
    return intended == "running" and live["live"] not in ("running", "starting", "unknown")


def beside(live: dict[str, Any], intended: str) -> dict[str, Any]:
    """The live state with the intended status next to it: its tone, whether it needs a person's
    attention, and the one-line summary that ``list``, ``show`` and the dashboard print."""
    return {**live, "intended": intended, "tone": tone(live, intended),
            "attention": needs_attention(live, intended), "summary": describe(live, intended)}


def describe(live: dict[str, Any], intended: str) -> str:
    """``running (intended) / crash-looping (live): exited 3 times in 2 min, last exit code 1``."""
    text = f"{intended} (intended) / {live['live']} (live)"
    return f"{text}: {live['reason']}" if live.get("reason") else text


def _result(word: str, reason: str = "", **facts: Any) -> dict[str, Any]:
    return {"live": word, "reason": reason, "restarts": facts.get("restarts", 0),
            "exit_code": facts.get("exit_code"), "oom_killed": facts.get("oom_killed", False),
            "started_at": facts.get("started_at"), "finished_at": facts.get("finished_at"),
            "exits_recent": facts.get("exits_recent", 0), "status": facts.get("status"),
            "health": facts.get("health"), "logs": ""}


def _epoch(stamp: str | None) -> float | None:
    """Docker's ``2026-11-29T22:15:30.123456789Z`` as seconds since the epoch (None: never)."""
    if not stamp or stamp.startswith("0001-"):
        return None
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    try:
        seconds = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None
    digits = "".join(c for c in fraction if c.isdigit())
    return seconds + (float(f"0.{digits}") if digits else 0.0)


def _event_time(event: dict[str, Any]) -> float:
    if event.get("timeNano"):
        return int(event["timeNano"]) / 1e9
    return float(event.get("time") or 0)


def _exit_code(event: dict[str, Any]) -> int | None:
    code = ((event.get("Actor") or {}).get("Attributes") or {}).get("exitCode")
    try:
        return int(code)
    except (TypeError, ValueError):
        return None


def _span(seconds: float) -> str:
    """``40 s``, ``2 min``, ``3 h``, ``2 days``."""
    seconds = max(seconds, 0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def usage(sample: dict[str, Any]) -> dict[str, Any]:
    """CPU %, memory used (without the page cache) and its limit, and pids, from one
    ``container.stats(stream=False)`` sample."""
    cpu, pre = sample.get("cpu_stats") or {}, sample.get("precpu_stats") or {}
    used = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - \
        (pre.get("cpu_usage") or {}).get("total_usage", 0)
    system = cpu.get("system_cpu_usage", 0) - pre.get("system_cpu_usage", 0)
    cpus = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or [1])
    memory = sample.get("memory_stats") or {}
    cache = (memory.get("stats") or {}).get("inactive_file", 0)
    return {"cpu_percent": round(used / system * cpus * 100, 1) if system > 0 else 0.0,
            "memory_used": max(memory.get("usage", 0) - cache, 0),
            "memory_limit": memory.get("limit", 0),
            "pids": (sample.get("pids_stats") or {}).get("current", 0)}


def sample(container: Any) -> dict[str, Any]:
    """One stats sample of ``container``, or why there is none."""
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        container.reload()
        if container.status != "running":
            return {"available": False, "reason": f"the container is {container.status}"}
        data = container.stats(stream=False)
    except (DockerException, RequestException, ValueError) as exc:
        # A container stopping or being replaced mid-sample answers with an empty body.
        return {"available": False, "reason": f"no sample from the engine ({exc})"}
    return {"available": True, **usage(data)}
