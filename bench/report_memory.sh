#!/usr/bin/env bash
# Report time and peak memory at 1,000,000 recipients: builds a journal the real way (a
# generated CSV, `timcast sandbox --no-limits` on 127.0.0.1 with 2 % transient faults, then
# `timcast apply` of it with two attempts a send, so a few hundred end failed), then runs
# `timcast report` in every format under GNU time and prints seconds, peak memory and output
# size. The per-recipient formats (csv, json) stream; the summaries (text, markdown, html)
# keep counters and a 16-byte fingerprint per audience recipient (to drop duplicates as
# `plan` does), so their memory grows by at most that with the audience.
#
#   bench/report_memory.sh                          # 1,000,000 recipients
#   BENCH_RECIPIENTS=100000 bench/report_memory.sh
#
# Needs GNU time (/usr/bin/time). The journal is kept in $work and reused when it exists
# (delete it to rebuild). Everything talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_RECIPIENTS:-1000000}
target=${CARGO_TARGET_DIR:-$PWD/target}
work="$target/bench-report/$N"
bin="$target/release/timcast"
mkdir -p "$work"

cargo build --release --quiet
name=report-bench
campaign="$work/$name.yaml"
state="$work/state.db"

if [ ! -f "$state" ]; then
  rm -f "$state"-*
  awk -v n="$N" 'BEGIN {
    split("gold silver bronze", tiers, " ")
    print "user_id,first_name,tier"
    for (i = 0; i < n; i++) printf "u%07d,Name%d,%s\n", i, i, tiers[i % 3 + 1]
  }' > "$work/$name.csv"
  cat > "$campaign" <<YAML
version: 1
name: $name
description: "Report memory bench: $N recipients"
audience:
  csv: $name.csv
message:
  - text: "Hi {{first_name}}, the winter sale starts now"
delivery:
  rate: 10000000
  concurrency: 128
  batch: off
  max_attempts: 2
YAML
  env_file="$work/sandbox.env"
  "$bin" sandbox --listen 127.0.0.1:0 --no-limits --fault-rate 0.02 --seed 14 \
    --exit-after 7200 > "$env_file" 2> "$work/sandbox.log" &
  sandbox=$!
  trap 'kill "$sandbox" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    grep -q TIM_SECRET_KEY "$env_file" && break
    sleep 0.1
  done
  # shellcheck disable=SC1090
  . "$env_file"
  echo "applying $N sends to the sandbox at $TIM_ENDPOINT (limits off) ..."
  /usr/bin/time -f "apply: %e s, peak %M KiB" "$bin" -q apply --yes --state "$state" "$campaign" \
    > "$work/apply.out" || status=$?
  # 3: some sends failed, which the bench wants.
  [ "${status:-0}" = 0 ] || [ "${status:-0}" = 3 ] || { cat "$work/apply.out"; exit 1; }
  kill "$sandbox" 2>/dev/null || true
  wait "$sandbox" 2>/dev/null || true
  trap - EXIT
fi

printf '%-9s %9s %10s %10s %14s\n' format seconds "peak MiB" "peak KiB" "output bytes"
for format in csv json html markdown text; do
  extra=()
  case $format in html | markdown | text) extra=(--by tier) ;; esac
  out="$work/report.$format"
  log="$work/time.$format"
  /usr/bin/time -f "%e %M" -o "$log" \
    "$bin" report "$campaign" --state "$state" --format "$format" "${extra[@]}" \
    > "$out" 2> "$out.stderr"
  read -r seconds kib < "$log"
  awk -v f="$format" -v s="$seconds" -v k="$kib" -v b="$(stat -c %s "$out")" \
    'BEGIN { printf "%-9s %9s %10.1f %10s %14s\n", f, s, k / 1024, k, b }'
done
