#!/usr/bin/env bash
# Planning speed with variants and a holdout (issue 13): BENCH_RECIPIENTS (default 1,000,000)
# personalised recipients planned against an empty journal, first as one message, then as an
# A/B test (a: other vars, b: its own message) with a 10 % holdout. Prints
# `/usr/bin/time -f "%e %M"` (wall seconds, peak RSS in KB) of each, BENCH_RUNS times (default
# 3), the best time of each, and whether the A/B plan is within 10 % of the plain one (exit 1
# if not). Times depend on the machine's load (printed); give it a CARGO_TARGET_DIR of its own.
#
#   bench/variants_plan.sh
#   BENCH_RECIPIENTS=200000 BENCH_RUNS=5 bench/variants_plan.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_RECIPIENTS:-1000000}"
RUNS="${BENCH_RUNS:-3}"
cargo build --release --quiet
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/timcast"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

{
    echo "user_id,first_name"
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "user%d,Name%d\n", i, i }'
} >"$WORK/big.csv"
touch "$WORK/timcast.toml"
cat >"$WORK/plain.yaml" <<'YAML'
version: 1
name: big
audience:
  csv: big.csv
vars: { offer: "30% off" }
message:
  - text: "Hi {{first_name}}, {{offer}} until Sunday"
YAML
cat "$WORK/plain.yaml" - >"$WORK/ab.yaml" <<'YAML'
variants:
  - name: a
    vars: { offer: "40% off" }
  - name: b
    message:
      - text: "Hi {{first_name}}, free shipping until Sunday"
holdout: 10%
YAML

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $N recipients, $RUNS runs each"
best() { sort -n | head -1; }
for campaign in plain ab; do
    : >"$WORK/$campaign.times"
    for _ in $(seq "$RUNS"); do
        (cd "$WORK" && /usr/bin/time -f "%e %M" -o "$WORK/t" "$BIN" plan "$campaign.yaml" \
            --state "$WORK/state.db" --format json >/dev/null)
        read -r seconds kb <"$WORK/t"
        echo "$campaign: ${seconds} s, $((kb / 1024)) MiB"
        echo "$seconds" >>"$WORK/$campaign.times"
    done
done
plain=$(best <"$WORK/plain.times")
ab=$(best <"$WORK/ab.times")
echo "best: plain ${plain} s, a/b with holdout ${ab} s"
if awk -v p="$plain" -v a="$ab" 'BEGIN { exit !(a <= p * 1.10) }'; then
    echo "target met: the A/B plan is within 10 % of the plain one"
else
    echo "target missed: the A/B plan takes more than 1.10 x the plain one"
    exit 1
fi
