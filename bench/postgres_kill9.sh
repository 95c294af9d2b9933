#!/usr/bin/env bash
# kill -9 and resume with the journal in PostgreSQL: one-to-one sends against the sandbox with
# 5 % faults, 2 % lost replies and 30 ms latency; `timcast apply` killed with -9 at random
# moments TIMCAST_PG_KILLS times (default 15), then one plain `apply`. Fails unless every
# recipient got the message exactly once; prints how many kills landed mid-run. Then the same
# for two runners started at the same moment on one campaign.
#
#   bench/postgres_kill9.sh                       (starts a throwaway server: .ci/postgres.sh)
#   TIMCAST_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres bench/postgres_kill9.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export TIMCAST_PG_KILLS="${TIMCAST_PG_KILLS:-15}"
if [[ -z "${TIMCAST_TEST_POSTGRES:-}" ]]; then
    pg_dir="$(mktemp -d /tmp/timcast-bench-pg.XXXXXX)"
    trap 'bash .ci/postgres.sh stop "$pg_dir"' EXIT
    eval "$(bash .ci/postgres.sh start "$pg_dir")"
fi
export TIMCAST_REQUIRE_POSTGRES=1
cargo test --test integration postgres::kill_9 -- --nocapture
cargo test --test integration postgres::two_runners -- --nocapture
