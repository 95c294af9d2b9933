#!/usr/bin/env bash
# Plans a generated 1,000,000-row CSV (5 columns) with a personalised template and push text,
# and dry-runs mailmerge 2.3 on the same rows and template; prints both side by side.
#
#   bash bench/plan_vs_mailmerge.sh            # 1,000,000 rows for both tools
#   ROWS=200000 bash bench/plan_vs_mailmerge.sh
#
# Needs python3 (for the CSV and mailmerge) and GNU time (/usr/bin/time) for peak memory.
# Everything is local: no network besides installing mailmerge from PyPI once.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
work=target/bench-plan
mkdir -p "$work"

cargo build --release --quiet
if [ ! -x "$work/venv/bin/mailmerge" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet mailmerge==2.3
fi

csv="$work/users-$ROWS.csv"
if [ ! -f "$csv" ]; then
  python3 - "$csv" "$ROWS" <<'PY'
import random, sys
path, rows = sys.argv[1], int(sys.argv[2])
random.seed(2026)
names = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Joan", "Edsger"]
cities = ["Singapore", "Shanghai", "Berlin", "Tokyo", "Seoul", "Boston", "Jakarta", "Mumbai"]
with open(path, "w") as f:
    f.write("user_id,first_name,city,points,email\n")
    for i in range(rows):
        f.write(f"u{i:07d},{random.choice(names)},{random.choice(cities)},{random.randint(0, 99999)},u{i:07d}@example.com\n")
PY
fi

# The same message for both tools: a personalised body and a personalised push/subject line.
cat > "$work/bench.yaml" <<YAML
version: 1
name: bench-plan
audience:
  csv: users-$ROWS.csv
message:
  - text: "Hi {{first_name}}, greetings from {{city}}! You have {{points}} points."
push:
  title: "{{first_name}}, your points"
  desc: "You have {{points}} points waiting in {{city}}"
YAML
cat > "$work/mailmerge_template.txt" <<'TPL'
TO: {{email}}
SUBJECT: {{first_name}}, your points
FROM: Bench <bench@example.com>

Hi {{first_name}}, greetings from {{city}}! You have {{points}} points.
You have {{points}} points waiting in {{city}}
TPL
cat > "$work/mailmerge_server.conf" <<'CONF'
[smtp_server]
host = 127.0.0.1
port = 25
security = Never
username = bench
CONF

measure() { # label, command... -> "label seconds peak_kib"
  local label=$1; shift
  local log; log=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$log" "$@" > /dev/null
  echo "$label $(cat "$log")"
  rm -f "$log"
}

rm -f "$work/state.db"
t=$(cd "$work" && measure timcast ../release/timcast plan bench.yaml --state state.db)
m=$(cd "$work" && measure mailmerge venv/bin/mailmerge --dry-run --no-limit --output-format raw \
      --template mailmerge_template.txt --database "users-$ROWS.csv" --config mailmerge_server.conf)

python3 - "$ROWS" "$t" "$m" <<'PY'
import sys
rows = int(sys.argv[1])
results = [sys.argv[2].split(), sys.argv[3].split()]
print(f"{'tool':<10} {'rows':>9} {'seconds':>9} {'rows/s':>12} {'peak MiB':>9}")
rate = {}
for label, seconds, kib in results:
    seconds = max(float(seconds), 0.001)
    rate[label] = rows / seconds
    print(f"{label:<10} {rows:>9} {seconds:>9.2f} {rate[label]:>12,.0f} {int(kib)/1024:>9.1f}")
print(f"timcast plans {rate['timcast'] / rate['mailmerge']:.0f}x the rows per second of mailmerge 2.3's dry run")
PY
