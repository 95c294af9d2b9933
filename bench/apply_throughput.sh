#!/usr/bin/env bash
# apply throughput, in release mode, against the in-process sandbox over 127.0.0.1:
#   paced: delivery.rate 200 with 30 ms latency for 30 s; achieved rate and rate-limit rejections
#   fast:  limits off, journal on; sends per second
# Exits 1 below the targets (>= 99 % of 200/s with no rejection; >= 10,000 sends/s).
#
#   bench/apply_throughput.sh
#   BENCH_MODE=fast BENCH_RECIPIENTS=200000 bench/apply_throughput.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench apply_throughput
