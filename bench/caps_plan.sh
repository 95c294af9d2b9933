#!/usr/bin/env bash
# Planning speed with a frequency cap (issue 13): BENCH_RECIPIENTS (default 1,000,000)
# personalised recipients planned against a journal in which another campaign reached every
# second one of them, first without a cap, then with `frequency_cap: {max: 1, per: 7d}` (each
# recipient's recent sends looked up, a batch per query). Prints `/usr/bin/time -f "%e %M"`
# (wall seconds, peak RSS in KB) of each, BENCH_RUNS times (default 3), the best of each, and
# checks that the capped plan caps exactly the half the other campaign reached.
#
#   bench/caps_plan.sh
#   BENCH_RECIPIENTS=200000 BENCH_RUNS=5 bench/caps_plan.sh
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
printf 'user_id\nuser0\n' >"$WORK/one.csv"
touch "$WORK/timcast.toml"
cat >"$WORK/seed.yaml" <<'YAML'
version: 1
name: news
audience:
  csv: one.csv
message:
  - text: "News"
YAML
cat >"$WORK/plain.yaml" <<'YAML'
version: 1
name: big
audience:
  csv: big.csv
message:
  - text: "Hi {{first_name}}, 30% off until Sunday"
YAML
cat "$WORK/plain.yaml" - >"$WORK/capped.yaml" <<'YAML'
frequency_cap: { max: 1, per: 7d }
YAML

# The journal: the seed campaign applied to the sandbox (timcast writes the schema), then its
# one record copied to every second recipient of the audience.
(cd "$WORK" && "$BIN" -q apply --sandbox seed.yaml --state "$WORK/state.db" >/dev/null)
sqlite3 "$WORK/sandbox.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 2 FROM n WHERE i + 2 < $N)
INSERT INTO sends SELECT campaign, 'user' || n.i, content_hash, state, endpoint,
    call_id || '-' || n.i, msg_random, msg_seq, msg_key, msg_time, error_code, error_text,
    error_class, attempts, intent_at_ms, updated_at_ms, variant, locale
FROM sends, n WHERE recipient = 'user0';
SQL
echo "journal: $(sqlite3 "$WORK/sandbox.db" 'SELECT count(*) FROM sends') sends of campaign news"

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $N recipients, $RUNS runs each"
best() { sort -n | head -1; }
for campaign in plain capped; do
    : >"$WORK/$campaign.times"
    for _ in $(seq "$RUNS"); do
        (cd "$WORK" && /usr/bin/time -f "%e %M" -o "$WORK/t" "$BIN" plan "$campaign.yaml" \
            --sandbox --state "$WORK/state.db" --format json >"$WORK/$campaign.json")
        read -r seconds kb <"$WORK/t"
        echo "$campaign: ${seconds} s, $((kb / 1024)) MiB"
        echo "$seconds" >>"$WORK/$campaign.times"
    done
done
capped=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["states"].get("capped", 0))' "$WORK/capped.json")
expected=$(( (N + 1) / 2 ))
echo "best: plain $(best <"$WORK/plain.times") s, capped $(best <"$WORK/capped.times") s; capped recipients: $capped (expected $expected)"
[ "$capped" -eq "$expected" ]
