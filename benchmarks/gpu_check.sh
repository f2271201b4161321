#!/usr/bin/env bash
# The GPU check (issue 19): SSD step with/without XLA and mixed_bfloat16 and
# MultiBox's share of it, Model Garden Faster R-CNN Huber vs Smooth IoU
# (bfloat16, XLA off/on), loss throughput at 1e6-1e7 boxes; one JSON, at most
# 8 minutes on one GPU. See benchmarks/gpu_check.py for the method.
#
#   benchmarks/gpu_check.sh [--smoke] [--output FILE] [--sections ...] [--cap SECTION=SECONDS]
#
# --smoke: tiny sizes on CPU (the test suite runs it). PYTHON picks the
# interpreter (default: python3 on PATH).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec "${PYTHON:-python3}" "$here/gpu_check.py" "$@"
