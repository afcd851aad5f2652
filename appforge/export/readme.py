"""The texts an export writes: its README (how to run it), ``.gitignore`` and the data loader.

The README comes first in the repository and says how to run the app without appforge; the
app's own README (written when it was generated) follows it unchanged.
"""

from __future__ import annotations

from appforge.export.compose import PUBLIC_BASE_IMAGE, Target

#: Beside the history, never in it: the saved images, the data, the build's wheels, secrets.
IMAGES_DIR = "images"
DATA_DIR = "snapshot"
GITIGNORE = f"""\
# Written by appforge export: kept beside the history, never in it (large, or private).
/{IMAGES_DIR}/
/{DATA_DIR}/
/wheels/
/.env
"""
DOCKERIGNORE = f"""\
# Added by appforge export: not part of the image's build context.
{IMAGES_DIR}/
{DATA_DIR}/
.env
"""


def readme(target: Target, versions: list[int], app_readme: str) -> str:
    """The export's README for the commit of ``target``."""
    shown = ", ".join(f"v{v}" for v in versions)
    parts = [f"""\
# {target.title}

Exported from appforge (app `{target.slug}`). This repository holds one
commit per version ({shown}), each dated when it was built and tagged `vN`; the checkout is
v{target.version}, the version that was live. `compose.yaml` runs it as appforge did: the same
image, resource limits, health check and hardening (non-root user, read-only root filesystem
with a small tmpfs `/tmp`, every capability dropped, no-new-privileges, an init process,
memory/CPU/process limits, rotated json-file logs) and its data in a named volume.

## Run it

You need Docker with Compose (`docker compose`, or `docker-compose` 1.29 or later). If the
export came with its image (`appforge export --image`), load it first:

```sh
for image in {IMAGES_DIR}/*.tar; do [ -e "$image" ] && docker load -i "$image"; done
{_env_step(target)}docker compose up -d              # or: docker-compose up -d
curl http://127.0.0.1:8000/healthz   # APP_PORT=8080 / APP_ADDRESS=0.0.0.0 to change
```

Its data lives in the volume `<project>_data` (`docker compose down` keeps it, `down -v`
removes it). `docker compose logs -f app` shows its log.

## Its data

An export made with `--data` has a consistent copy of the app's data in `{DATA_DIR}/` (taken
while the app served: SQLite databases through SQLite's backup API, a Postgres database with
`pg_dump`, uploaded files copied; `manifest.json` lists every file with its SHA-256). Load it
into this project's volume, before or after `up`:

```sh
sh {DATA_DIR}/load.sh
```

It checks every file against the manifest, then writes the databases in one transaction each
(the running app sees the old data or the loaded data, never a mix) and copies the other
files, using the app's own image with the same hardening. `{DATA_DIR}/` holds your records:
it is not committed, keep it private.

## Build the image yourself

Without the saved image, `docker compose up` builds it from this folder. The Dockerfile
installs the Python dependencies offline from `wheels/`, so fetch them first (on a machine
with network access):

```sh
pip download --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \\
    -d wheels -r requirements.txt
docker compose build                 # BASE_IMAGE defaults to {PUBLIC_BASE_IMAGE}
```

## What is different from appforge

appforge put the app behind its Caddy proxy, at its domain, on a network with no way out.
Here the app publishes its own port (on 127.0.0.1 unless `APP_ADDRESS` says otherwise) on
Compose's default network; put a reverse proxy with TLS in front of it to serve it publicly.
The largest request body is still enforced by the app itself
(`APP_MAX_BODY_BYTES`, {target.limits.body}).
"""]
    if target.postgres:
        parts.append("""
The app keeps its records in Postgres: the service `db` (the same server image appforge ran,
on a network only the app shares). Its password comes from `DB_PASSWORD` in `.env`, which the
export wrote and does not commit; a fresh clone needs one (`echo DB_PASSWORD=$(openssl rand
-hex 24) > .env`) before the first `up`.
""")
    if app_readme.strip():
        parts.append("\n---\n\n*The app's own README, as appforge generated it:*\n\n")
        parts.append(app_readme.lstrip())
    return "".join(parts)


def _env_step(target: Target) -> str:
    return "test -f .env || echo DB_PASSWORD=$(openssl rand -hex 24) > .env\n" \
        if target.postgres else ""


def load_script(postgres_bin: str, socket_dir: str, database: str) -> str:
    """``snapshot/load.sh``: the data into this compose project's volumes (see the README)."""
    return f"""\
#!/bin/sh
# Loads this snapshot (appforge export --data) into the app of the compose project in the
# folder above: a Postgres dump with pg_restore in one transaction, then the data volume's
# files with appforge's backup helper (helper.py, run with the app's own image and hardening:
# checked against manifest.json, SQLite databases through the backup API). The app may run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
if docker compose version >/dev/null 2>&1; then compose="docker compose"; else compose="docker-compose"; fi
if [ -f "$here/postgres.dump" ]; then
  $compose up -d db
  tries=0
  until $compose exec -T --user postgres db {postgres_bin}/pg_isready -q -h {socket_dir}; do
    tries=$((tries + 1)); [ "$tries" -lt 90 ] || {{ echo "the db service did not start" >&2; exit 1; }}
    sleep 1
  done
  $compose exec -T --user postgres db {postgres_bin}/pg_restore -h {socket_dir} -U postgres \\
    -d {database} --clean --if-exists --single-transaction --exit-on-error < "$here/postgres.dump"
  echo "loaded the Postgres database"
fi
$compose run --rm --no-deps -T -v "$here:/backup:ro" --entrypoint python3 app \\
  /backup/helper.py restore '{{"umask": 63}}'
echo "loaded the data volume from $here"
"""
