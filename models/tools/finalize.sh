#!/bin/sh
# After train.py finished: export the package, check it in onnxruntime-node, evaluate, time.
set -e
cd "$(dirname "$0")/../.."
/usr/bin/python3 models/tools/export.py 2>&1 | grep -v -i warn | grep -v "_C._jit" | tail -3
node models/tools/check_onnx.mjs | tee models/tools/out/check_onnx.txt
node models/tools/bench_onnx.mjs 1 | tee models/tools/out/bench_onnx.txt
/usr/bin/python3 models/tools/eval.py | tee models/tools/out/eval.txt | tail -3
