#!/bin/sh
# After train.py finished: export the v2 package (format 2), check it in onnxruntime-node, evaluate, time.
set -e
cd "$(dirname "$0")/../.."
/usr/bin/python3 models/tools/export.py 2>&1 | grep -v -i warn | grep -v "_C._jit" | tail -3
node models/tools/check_onnx.mjs models/tryon-tiny-v2 | tee models/tools/out/check_onnx.txt
# bench_onnx.mjs times format-1 graphs only; the engine's own benchmark reads both formats
npm run --silent bench:engine -- models/tryon-tiny-v2 --reps 3 | tee models/tools/out/bench_engine.txt
/usr/bin/python3 models/tools/eval.py | tee models/tools/out/eval.txt | tail -3
