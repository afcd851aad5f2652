#!/usr/bin/env bash
# The diffusers GPU benchmarks in one device call: bench/gpu_image.py, then bench/gpu_video.py for
# Wan 2.1 and for LTX-Video, each under its own time limit so that one slow benchmark cannot eat
# the others, all inside one deadline. Logs, JSON and the machine's description go to $OUT
# (the device tool's folder; out/gpu elsewhere): env.txt, image.log/.json, wan.log/.json,
# ltx.log/.json. A benchmark prints a "done ..." line on stderr as each row ends, so one stopped
# by its limit still leaves its finished rows in its log.
#
# Usage, from the repository root: bash bench/gpu_all.sh [image] [wan] [ltx] [imagediff] (default:
# the first three; imagediff, bench/gpu_image_diff.py, only when named: put it first).
# On an H200 (2026-11-30, docs/performance.md): image --compile 49-58 s, Wan at 10 steps 270 s with
# plain,optimised,cached (181 s at 6 steps without cached), LTX at 10 steps 82 s; whole call
# 6 to 7 minutes with the defaults, plus the machine's start.
# Environment: TOTAL_S (deadline from the start, default 575), IMAGE_S / WAN_S / LTX_S (each one's
# most seconds), WAN_KEEP_S / LTX_KEEP_S (kept back for Wan / LTX while earlier ones run; 240 /
# 100), MIN_S (a benchmark with fewer seconds left is skipped; 60), WAN_STEPS / LTX_STEPS,
# WAN_VARIANTS / LTX_VARIANTS, PYTHON (python3), WHEELS (.whl), EXTRA_ARGS (added to every
# benchmark: EXTRA_ARGS=--tiny WHEELS=none runs the whole script on a CPU as a smoke test).
# Python packages missing on the device machine travel as wheels in .whl/ (see the device tool's
# README); .whl/spare/ holds ones installed only if pydantic does not import without them.
set -u -o pipefail
export PYTHONUNBUFFERED=1
# Nothing is downloaded (every model is built in code); no network waits either.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
START=$(date +%s)
END=$((START + ${TOTAL_S:-575}))
OUT=${OUT:-out/gpu}
mkdir -p "$OUT"
ENV="$OUT/env.txt"

PY=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
read -ra EXTRA <<<"${EXTRA_ARGS:-}"
if compgen -G "$WHEELS/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEELS"/*.whl || exit 3
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    if ! "$PY" -c 'import pydantic' 2>>"$ENV" && compgen -G "$WHEELS/spare/*.whl" >/dev/null; then
        echo "pydantic did not import: installing $WHEELS/spare too" >>"$ENV"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site "$WHEELS"/spare/*.whl || exit 3
    fi
fi

{
    date -u
    nvidia-smi
    "$PY" - <<'EOF'
import sys, torch, diffusers, transformers, accelerate, huggingface_hub, pydantic
print(sys.version)
for m in (torch, diffusers, transformers, accelerate, huggingface_hub, pydantic):
    print(m.__name__, m.__version__, m.__file__)
print("cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU")
EOF
} >>"$ENV" 2>&1

# Every import the benchmarks make, before minutes of GPU work (a missing wheel fails here).
"$PY" - >>"$ENV" 2>&1 <<'EOF' || { cat "$ENV"; exit 4; }
import sys
sys.path.insert(0, ".")
import appforge.generators.diffusion, appforge.generators.video.diffusers_backend, appforge.spec
import tests.tiny.image_pipelines, tests.tiny.video_pipelines
from diffusers import (AutoencoderKL, AutoencoderKLLTXVideo, AutoencoderKLWan, LTXPipeline,
                       LTXVideoTransformer3DModel, StableDiffusionPipeline, UNet2DConditionModel,
                       WanPipeline, WanTransformer3DModel)
from diffusers.hooks import FirstBlockCacheConfig
from transformers import CLIPTextModel, T5EncoderModel, UMT5EncoderModel
print("preflight imports: ok")
EOF

# One benchmark: name, its own cap in seconds, seconds to keep for those after it, command...
bench() {
    local name=$1 cap=$2 keep=$3
    shift 3
    local left=$((END - $(date +%s) - keep)) limit=$cap
    ((left < limit)) && limit=$left
    if ((limit < ${MIN_S:-60})); then
        echo "== $name: skipped, $limit s left" | tee -a "$ENV"
        return
    fi
    local t0=$(date +%s)
    echo "== $name: $* (limit $limit s)" | tee -a "$ENV"
    timeout -k 10 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: rc $rc after $(($(date +%s) - t0)) s (124: stopped at its limit)" |
        tee -a "$ENV"
    nvidia-smi --query-gpu=memory.used,temperature.gpu,clocks.sm --format=csv,noheader \
        >>"$ENV" 2>&1
}

want=${*:-image wan ltx}
# Seconds kept back for the benchmarks still to come while an earlier one runs.
keep_for_ltx=0
[[ " $want " == *" ltx "* ]] && keep_for_ltx=${LTX_KEEP_S:-100}
keep_after_image=$keep_for_ltx
[[ " $want " == *" wan "* ]] && keep_after_image=$((keep_for_ltx + ${WAN_KEEP_S:-240}))

for b in $want; do
    case $b in
    image) bench image "${IMAGE_S:-150}" "$keep_after_image" \
        "$PY" bench/gpu_image.py --compile --json "$OUT/image.json" "${EXTRA[@]}" ;;
    wan) bench wan "${WAN_S:-600}" "$keep_for_ltx" \
        "$PY" bench/gpu_video.py --model wan --steps "${WAN_STEPS:-10}" \
        --variants "${WAN_VARIANTS:-plain,optimised}" --json "$OUT/wan.json" "${EXTRA[@]}" ;;
    ltx) bench ltx "${LTX_S:-600}" 0 \
        "$PY" bench/gpu_video.py --model ltx --steps "${LTX_STEPS:-10}" \
        --variants "${LTX_VARIANTS:-plain,optimised}" --json "$OUT/ltx.json" "${EXTRA[@]}" ;;
    imagediff) bench imagediff "${IMAGEDIFF_S:-150}" "$keep_after_image" \
        "$PY" bench/gpu_image_diff.py --device cuda ;;
    *) echo "unknown benchmark $b (image, wan, ltx, imagediff)" >&2; exit 2 ;;
    esac
done
echo "all done after $(($(date +%s) - START)) s" | tee -a "$ENV"
