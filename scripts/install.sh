#!/usr/bin/env bash
# Installs everything appforge needs on a Debian/Ubuntu machine and makes sure a Docker engine runs:
# the Python package (with test extras), docker.io, debootstrap and chromium from apt, and dockerd
# started in the background where no engine answers (machines without systemd). Safe to run again.
# --with-diffusers also installs torch, diffusers and transformers (for the diffusers backends and
# their tests): a torch already installed (a CUDA build on a GPU machine) is kept, otherwise the
# CPU build 2.13.0 is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="dev"
if [ "${1:-}" = "--with-diffusers" ]; then extras="dev,diffusers"; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
[ -x /usr/bin/chromium ] || need+=(chromium)  # the dashboard's browser tests drive it
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]} from apt"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${need[@]}"
fi

if [ "$extras" = "dev,diffusers" ] && ! python3 -c "import torch" >/dev/null 2>&1; then
  echo "installing torch 2.13.0 (CPU build)"
  python3 -m pip install --disable-pip-version-check -q torch==2.13.0
fi
python3 -m pip install --disable-pip-version-check -q -e ".[$extras]"

if ! docker info >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    as_root systemctl start docker
  else
    echo "starting dockerd in the background (log: /tmp/appforge-dockerd.log)"
    as_root sh -c 'nohup dockerd >/tmp/appforge-dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "the Docker engine did not start; see /tmp/appforge-dockerd.log"; exit 1; }
fi
echo "ready: $(docker version --format 'Docker {{.Server.Version}}')"
