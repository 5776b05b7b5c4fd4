#!/usr/bin/env bash
# The prepared training run for a machine with one CUDA GPU and many cores (the device tool's
# H200: PyTorch 2.x, 16 cores, no network). One command, at most 10 minutes in all:
#   bash models/tools/accelerator_run.sh            # on the device; writes $OUT/
# It trains train.py with bf16 autocast on the GPU and data made by (cores - 2) processes,
# starting from models/tools/weights/tryon-tiny-2.fp16.pt when that file exists (carry it, or
# the CPU run's ckpt/last.pt as INIT=...), and brings back what export.py needs (at most 8 files
# of at most 16 MiB): the EMA weights as a float16 state dict, the log, the last sample grid.
# Then, here: /usr/bin/python3 models/tools/export.py --weights <that file>.
# Tested on this CPU at tiny size:  DEVICE=cpu TINY=1 MINUTES=0.3 OUT=/tmp/acc bash models/tools/accelerator_run.sh
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:?set OUT to the folder that comes back}
MINUTES=${MINUTES:-8}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-64}
LR=${LR:-6e-4}
CORES=$(nproc)
WORKERS=${WORKERS:-$(( CORES > 3 ? CORES - 2 : 1 ))}
INIT=${INIT:-weights/tryon-tiny-2.fp16.pt}
PY=${PY:-python3}
mkdir -p "$OUT"
ARGS=(--device "$DEVICE" --minutes "$MINUTES" --batch "$BATCH" --lr "$LR" --workers "$WORKERS" --threads 2
      --ckpt /tmp/atelier-ckpt --ckpt-min 2 --grid-min 1000 --weights-out "$OUT/tryon-tiny-2.fp16.pt")
[ -f "$INIT" ] && [ -z "${TINY:-}" ] && ARGS+=(--init "$INIT")
[ -n "${TINY:-}" ] && ARGS+=(--tiny)
rm -rf /tmp/atelier-ckpt
{ nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || true; "$PY" -c 'import torch; print("torch", torch.__version__)'; } > "$OUT/train.log"
"$PY" train.py "${ARGS[@]}" >> "$OUT/train.log" 2>&1 || { tail -20 "$OUT/train.log"; exit 1; }
last=$(ls -1 out/grid_*.png 2>/dev/null | tail -1 || true)
[ -n "$last" ] && cp "$last" "$OUT/"
tail -5 "$OUT/train.log"
