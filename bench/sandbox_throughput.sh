#!/usr/bin/env bash
# Sandbox throughput benchmark: sendmsg calls per second on loopback, limits off, sent by
# timcast's own client over many concurrent keep-alive connections, in release mode.
# Exits 1 when the rate is under BENCH_MIN_RATE (default 20000).
#
#   bench/sandbox_throughput.sh                      # 5 s, 64 connections
#   BENCH_SECONDS=10 BENCH_CONCURRENCY=128 bench/sandbox_throughput.sh
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --bench sandbox_throughput
