#!/usr/bin/env bash
# Settling uncertain sends from the server's message history, under kill -9:
#   one identical message to 2,000 recipients through batchsendmsg, against the sandbox with
#   10 % lost replies, 5 % faults and 60 ms of latency; `timcast apply` killed with -9 a dozen
#   times (in turn: with a batch between its intent and its outcome, soon after it starts, and
#   after one of its batches was answered) and resumed each time; then one plain `apply`.
#   It fails unless every recipient got the message exactly once and the report shows none
#   uncertain or in flight, and prints how many kills landed mid-run, how many left sends in
#   flight, and the calls made.
#
#   bench/reconcile_kill9.sh
#   TIMCAST_RECONCILE_KILLS=30 bench/reconcile_kill9.sh
#   BENCH_STATE=postgres://postgres@127.0.0.1:5432/postgres TIMCAST_RECONCILE_KILLS=15 bench/reconcile_kill9.sh
#     (the journal in PostgreSQL, a fresh schema; `.ci/postgres.sh start DIR` starts a server)
#
# The same test runs in `cargo test` with 4 kills.
set -euo pipefail
cd "$(dirname "$0")/.."
export TIMCAST_RECONCILE_KILLS="${TIMCAST_RECONCILE_KILLS:-12}"
export TIMCAST_RECONCILE_STATE="${BENCH_STATE:-}"
exec cargo test --release --test integration \
  reconcile::two_thousand_recipients_by_batch -- --nocapture
