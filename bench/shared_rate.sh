#!/usr/bin/env bash
# One app's rate budget shared through a PostgreSQL journal: two campaigns of the same app,
# applied at the same moment by two `timcast apply` processes (release build), against one
# `timcast sandbox` process that counts calls in a sliding one-second window and refuses the
# 201st (30 ms latency). Each campaign says `rate: 200`; together they must stay at or under
# 200 calls/s with no rate-limit rejection and use >= 90 % of it.
# Prints both runs' lines, the rejections, and the combined server-side rate over the span
# while both were sending and over the whole run.
#
#   BENCH_STATE=postgres://postgres@127.0.0.1:5432/postgres bench/shared_rate.sh
#   (without BENCH_STATE it starts a throwaway server with .ci/postgres.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_RECIPIENTS:-3000}"
cargo build --release --quiet
BIN="$PWD/target/release/timcast"
WORK="$(mktemp -d)"
SANDBOX_PID=""
PG_DIR=""
cleanup() {
    if [[ -n "$SANDBOX_PID" ]]; then kill "$SANDBOX_PID" 2>/dev/null || true; fi
    if [[ -n "$PG_DIR" ]]; then bash .ci/postgres.sh stop "$PG_DIR"; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if [[ -z "${BENCH_STATE:-}" ]]; then
    PG_DIR="$(mktemp -d /tmp/timcast-bench-pg.XXXXXX)"
    eval "$(bash .ci/postgres.sh start "$PG_DIR")"
    BENCH_STATE="$TIMCAST_TEST_POSTGRES"
fi
sep='?'; [[ "$BENCH_STATE" == *\?* ]] && sep='&'
STATE="${BENCH_STATE}${sep}schema=bench_shared_$RANDOM$RANDOM"

for c in spring autumn; do
    {
        echo "user_id,first_name"
        for ((i = 0; i < N; i++)); do echo "$c$i,Name$i"; done
    } >"$WORK/$c.csv"
    cat >"$WORK/$c.yaml" <<YAML
version: 1
name: $c
audience:
  csv: $c.csv
message:
  - text: "Hi {{first_name}}, the $c sale starts now"
delivery:
  rate: 200
  batch: off
YAML
done

"$BIN" sandbox --listen 127.0.0.1:0 --latency-ms 30 --limit-model sliding \
    >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
SANDBOX_PID=$!
URL=""
for _ in $(seq 1 100); do
    URL="$(sed -n 's/^export TIM_ENDPOINT=//p' "$WORK/sandbox.out")"
    [[ -n "$URL" ]] && break
    sleep 0.05
done
[[ -n "$URL" ]] || { cat "$WORK/sandbox.err" >&2; exit 2; }

(
    cd "$WORK"
    eval "$(grep '^export TIM_' "$WORK/sandbox.out")"
    for c in spring autumn; do
        /usr/bin/time -f "%e %M" -o "$WORK/$c.time" \
            "$BIN" apply "$c.yaml" --yes --state "$STATE" >"$WORK/$c.out" 2>"$WORK/$c.err" &
    done
    wait
) || true

stats="$(curl -s "$URL/sandbox/stats")"
curl -s "$URL/sandbox/deliveries" >"$WORK/deliveries.json"
for c in spring autumn; do
    line="$(grep -m1 "^$c: sent" "$WORK/$c.out" || true)"
    [[ -n "$line" ]] || { echo "$c did not finish:" >&2; cat "$WORK/$c.out" "$WORK/$c.err" >&2; exit 2; }
    read -r wall rss <"$WORK/$c.time"
    echo "$line (wall $wall s, $rss KB max RSS)"
done
rejected="$(jq '.rate_limited' <<<"$stats")"
# Combined rate: over the whole span, and over the span both campaigns were delivering.
jq -r --argjson n "$N" --argjson rej "$rejected" '
  def span(xs): (xs | max) - (xs | min);
  [.[] | .time_ms] as $all
  | (group_by(.campaign // (.recipient | sub("[0-9]+$"; ""))) | map([.[].time_ms])) as $per
  | ([$per[] | min] | max) as $both_from
  | ([$per[] | max] | min) as $both_to
  | [$all[] | select(. >= $both_from and . <= $both_to)] as $both
  | "deliveries \($all | length) of \(2 * $n); rate-limit rejections \($rej)",
    "combined over the whole run: \((($all | length) - 1) / (span($all) / 1000) | . * 10 | round / 10)/s",
    "combined while both were sending: \((($both | length) - 1) / (span($both) / 1000) | . * 10 | round / 10)/s (\((($both | length) - 1) / (span($both) / 1000) / 200 * 100 | . * 10 | round / 10) % of 200)"
' "$WORK/deliveries.json" | tee "$WORK/summary"
both="$(sed -n 's/.*while both were sending: \([0-9.]*\)\/s.*/\1/p' "$WORK/summary")"
deliveries="$(jq 'length' "$WORK/deliveries.json")"
if ! awk -v b="$both" -v r="$rejected" -v d="$deliveries" -v n="$N" \
    'BEGIN { exit !(r == 0 && b <= 200 && b >= 180 && d == 2 * n) }'; then
    echo "below target: 0 rejections, together <= 200/s and >= 90 % of it, everyone once" >&2
    exit 1
fi
