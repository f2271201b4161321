#!/usr/bin/env bash
# The box losses on a GPU under Keras's JAX backend, for a GPU machine that
# has JAX but no TensorFlow (benchmarks/gpu_check.sh needs TensorFlow, Model
# Garden and KerasCV). Two parts, each under its own time cap:
#
# 1. loss_throughput.py at 1e6, 1e7 and 3e6 boxes (that order: a cap that
#    hits drops the last), jax.jit only, every registered loss beside its
#    plain keras.ops form and the XLA copy floor, and the kernels (fusions)
#    each compiles to; one JSON per size;
# 2. the loss test suite (tests/losses) on the GPU, 8 workers: the float64
#    references, property tests, gradients and float16/bfloat16 edge cases
#    under XLA's GPU kernels instead of its CPU ones.
#
#   benchmarks/gpu_losses_jax.sh OUT_DIR [THROUGHPUT_CAP_S] [TESTS_CAP_S]
#
# Needs Keras 3 and JAX (with its GPU plugin), pytest, pytest-xdist and
# hypothesis; run from anywhere, with the repository importable.
set -uo pipefail
out=${1:?Expected an output folder. Received: none}
throughput_cap=${2:-75}
tests_cap=${3:-240}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
out=$(cd "$out" && pwd)  # the tests run from the repository root
status=0
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
# Each test worker and each benchmark takes GPU memory as it needs it,
# instead of 75% of the card at start.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
python3 -c 'import jax, keras; print("jax", jax.__version__, "keras",
  keras.__version__, jax.devices())' | tee "$out/versions.txt"
for n in 1000000 10000000 3000000; do
  timeout "$throughput_cap" python3 "$here/loss_throughput.py" --sizes $n \
    --repeats 3 --modes xla --kernels --out "$out/loss_throughput_n$n.json" \
    > "$out/loss_throughput_n$n.log" 2>&1
  code=$?
  echo "loss_throughput n=$n: exit $code"
  [ $code -eq 0 ] || status=$code
done
cd "$here/.."
timeout "$tests_cap" python3 -m pytest tests/losses -q -n 8 \
  -p no:cacheprovider --junitxml="$out/losses_tests.xml" \
  > "$out/losses_tests.log" 2>&1
code=$?
echo "tests/losses: exit $code"
[ $code -eq 0 ] || status=$code
tail -5 "$out/losses_tests.log"
exit $status  # the last failure's code, 0 when all passed
