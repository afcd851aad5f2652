#!/usr/bin/env bash
# Installs everything appforge needs on a Debian/Ubuntu machine and makes sure a Docker engine runs:
# docker.io and debootstrap from apt, the Python package, and dockerd started in the background
# where no engine answers (machines without systemd). Safe to run again. The apt packages (and the
# engine's start) and the Python packages are installed at the same time.
# --with-diffusers is the set-up for the tests: it adds the test extras, Debian's chromium (the
# dashboard's browser tests drive it), Debian's docker-compose (the export test runs an exported
# compose file), and torch, diffusers and transformers (the diffusers
# backends and their tests): a torch already installed (a CUDA build on a GPU machine) is kept,
# otherwise the CPU build 2.13.0 is installed.
# The offline image backend draws subjects with Twemoji's pictures, found by their CLDR names in
# eight languages (Emojibase): both come from npm once, here (scripts/install_artwork.py), never at
# build or test time; without npm the pictures fall back to procedural art (appforge doctor says).
# Posters set Chinese and Japanese text in Debian's Droid Sans Fallback.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="" tests=0
if [ "${1:-}" = "--with-diffusers" ]; then extras="[dev,diffusers]" tests=1; fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

system() {
  local need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  if [ "$tests" = 1 ] && [ ! -x /usr/bin/chromium ]; then need+=(chromium); fi
  # The export test runs an exported compose.yaml with Debian's docker-compose (1.29).
  if [ "$tests" = 1 ] && ! command -v docker-compose >/dev/null 2>&1; then need+=(docker-compose); fi
  [ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || need+=(fonts-droid-fallback)
  if [ "${#need[@]}" -gt 0 ]; then
    echo "installing ${need[*]} from apt"
    as_root apt-get update -q
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${need[@]}"
  fi
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
}

python_packages() {
  if [ "$tests" = 1 ] && ! python3 -c "import torch" >/dev/null 2>&1; then
    echo "installing torch 2.13.0 (CPU build)"
    python3 -m pip install --disable-pip-version-check -q torch==2.13.0
  fi
  python3 -m pip install --disable-pip-version-check -q -e ".$extras"
}

artwork() {
  local into=appforge/generators/image/artwork twemoji=15.0.0 emojibase=17.0.0
  if grep -qs "\"version\": \"$twemoji\"" "$into/index.json"; then return 0; fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: pictures of subjects fall back to procedural art (see appforge doctor)"
    return 0
  fi
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "@twemoji/svg@$twemoji" "emojibase-data@$emojibase" >/dev/null)
  python3 scripts/install_artwork.py "$tmp"/twemoji-svg-*.tgz "$tmp"/emojibase-data-*.tgz --into "$into"
  rm -rf "$tmp"
}

system & system_pid=$!
artwork & artwork_pid=$!
python_packages & python_pid=$!
wait "$python_pid"
wait "$system_pid"
wait "$artwork_pid"
echo "ready: $(docker version --format 'Docker {{.Server.Version}}')"
