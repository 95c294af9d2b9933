#!/usr/bin/env bash
# Time and peak memory at scale: a campaign of BENCH_RECIPIENTS (default 1,000,000)
# personalised recipients, `timcast` (release build) run as a process against `timcast
# sandbox --no-limits` (a process too, on 127.0.0.1), the journal a SQLite file. Prints
# `/usr/bin/time -f "%e %M"` (wall seconds, peak RSS in KB) of:
#   plan-empty    plan against an empty journal
#   apply         apply, limits off (delivery.rate 10,000,000, concurrency 128)
#   plan-full     plan again once every recipient was sent (an evergreen campaign)
#   resume        apply into a fresh journal killed with -9 at ~40 % of the sends, then
#                 resumed: the resumed run's time and memory, and the seconds from its start
#                 to its first call that reached the sandbox (a delivery or a dropped repeat)
#   report-csv    report --format csv against the full journal
# and the targets of issue 10 (apply <= 150 MiB; plan-full <= 1.5 x plan-empty and <= 150 MiB;
# first resumed send within one plan-empty; report csv <= 64 MiB). Times depend on the load of
# the machine (the script prints the load average); memory does not. Exits 1 if a target is
# missed.
#
#   bench/memory.sh
#   BENCH_RECIPIENTS=200000 bench/memory.sh
#   BENCH_STEPS="plan-empty plan-full" bench/memory.sh   (plan-full and report-csv need apply)
#   BENCH_STATE=postgres://postgres@127.0.0.1:5432/postgres bench/memory.sh   (journals in PostgreSQL)
#
# Give it a CARGO_TARGET_DIR of this worktree's own: the binary in a target directory that
# several worktrees build into is whichever built last.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${BENCH_RECIPIENTS:-1000000}"
STEPS="${BENCH_STEPS:-plan-empty apply plan-full resume report-csv}"

cargo build --release --quiet
BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/timcast"
WORK="$(mktemp -d)"
SANDBOX_PID=""
APPLY_PID=""
cleanup() {
    if [[ -n "$APPLY_PID" ]]; then kill -9 "$APPLY_PID" 2>/dev/null || true; fi
    if [[ -n "$SANDBOX_PID" ]]; then kill "$SANDBOX_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

{
    echo "user_id,first_name"
    awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "user%d,Name%d\n", i, i }'
} >"$WORK/big.csv"
cat >"$WORK/big.yaml" <<EOF
version: 1
name: big
audience:
  csv: big.csv
message:
  - text: "Hi {{first_name}}, 30% off until Sunday"
delivery:
  rate: 10000000
  concurrency: 128
  batch: off
EOF

start_sandbox() {
    "$BIN" sandbox --listen 127.0.0.1:0 --no-limits >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
    SANDBOX_PID=$!
    for _ in $(seq 1 200); do
        URL="$(sed -n 's/^export TIM_ENDPOINT=//p' "$WORK/sandbox.out")"
        [[ -n "$URL" ]] && return 0
        sleep 0.05
    done
    echo "the sandbox did not start:" >&2
    cat "$WORK/sandbox.err" >&2
    exit 2
}

stop_sandbox() {
    kill "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=""
}

# Calls that reached the sandbox's send path: deliveries and repeats it dropped.
arrived() {
    curl -s "$URL/sandbox/stats" | jq '.deliveries + .duplicates_dropped'
}

# Runs `timcast ARGS...` in the work directory under /usr/bin/time; prints "STEP wall rss".
timed() {
    local step="$1"
    shift
    (
        cd "$WORK"
        eval "$(grep '^export TIM_' "$WORK/sandbox.out" 2>/dev/null || true)"
        /usr/bin/time -f "%e %M" -o "$WORK/time.$step" "$BIN" "$@" >"$WORK/$step.out" 2>"$WORK/$step.err"
    ) || {
        echo "$step failed:" >&2
        tail -5 "$WORK/$step.out" "$WORK/$step.err" >&2
        exit 2
    }
    read -r wall rss <"$WORK/time.$step"
    printf "%-11s %8.2f s %8.1f MiB\n" "$step" "$wall" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
    eval "WALL_${step//-/_}=$wall; RSS_${step//-/_}=$rss"
}

# BENCH_STATE=postgres://… keeps both journals in PostgreSQL (fresh schemas), else SQLite files.
if [[ -n "${BENCH_STATE:-}" ]]; then
    sep='?'; [[ "$BENCH_STATE" == *\?* ]] && sep='&'
    run_id="$RANDOM$RANDOM"
    STATE_MAIN="${BENCH_STATE}${sep}schema=bench_main_$run_id"
    STATE_RESUME="${BENCH_STATE}${sep}schema=bench_resume_$run_id"
    echo "journal: PostgreSQL (schemas bench_main_$run_id, bench_resume_$run_id)"
else
    STATE_MAIN="$WORK/state.db"
    STATE_RESUME="$WORK/resume.db"
fi
echo "memory: $N personalised recipients, limits off; load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
ok=1
started_sandbox=0
for step in $STEPS; do
    case "$step" in
        plan-empty)
            timed plan-empty plan big.yaml --state "$STATE_MAIN" --format json
            ;;
        apply)
            start_sandbox
            started_sandbox=1
            timed apply apply big.yaml --yes --state "$STATE_MAIN"
            grep -m1 '^big: sent' "$WORK/apply.out" || true
            ;;
        plan-full)
            timed plan-full plan big.yaml --state "$STATE_MAIN" --format json
            ;;
        report-csv)
            timed report-csv report big.yaml --state "$STATE_MAIN" --format csv
            ;;
        resume)
            if [[ "$started_sandbox" == 1 ]]; then stop_sandbox; fi
            start_sandbox
            started_sandbox=1
            (
                cd "$WORK"
                eval "$(grep '^export TIM_' "$WORK/sandbox.out")"
                exec "$BIN" apply big.yaml --yes --state "$STATE_RESUME" >"$WORK/killed.out" 2>"$WORK/killed.err"
            ) &
            APPLY_PID=$!
            target=$((N * 4 / 10))
            while [[ "$(arrived)" -lt "$target" ]]; do
                if ! kill -0 "$APPLY_PID" 2>/dev/null; then
                    echo "apply ended before 40 %:" >&2
                    tail -5 "$WORK/killed.out" "$WORK/killed.err" >&2
                    exit 2
                fi
                sleep 0.05
            done
            kill -9 "$APPLY_PID"
            wait "$APPLY_PID" 2>/dev/null || true
            APPLY_PID=""
            before="$(arrived)"
            echo "resume: killed with -9 after $before of $N sends"
            t0="$(date +%s.%N)"
            timed resume apply big.yaml --yes --state "$STATE_RESUME" &
            resume_pid=$!
            first=""
            while kill -0 "$resume_pid" 2>/dev/null; do
                if [[ "$(arrived)" -gt "$before" ]]; then
                    first="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
                    break
                fi
                sleep 0.02
            done
            wait "$resume_pid"
            read -r WALL_resume RSS_resume <"$WORK/time.resume"
            grep -m1 '^big: sent' "$WORK/resume.out" || true
            echo "resume: first new send ${first:-never} s after the resumed apply started"
            FIRST_resume="${first:-999999}"
            ;;
        *)
            echo "unknown step $step" >&2
            exit 2
            ;;
    esac
done
if [[ "$started_sandbox" == 1 ]]; then stop_sandbox; fi

mib=$((150 * 1024))
check() {
    local what="$1" cond="$2"
    if awk "BEGIN { exit !($cond) }"; then echo "ok    $what"; else echo "MISS  $what"; ok=0; fi
}
echo "targets:"
[[ -n "${RSS_apply:-}" ]] && check "apply <= 150 MiB" "$RSS_apply <= $mib"
[[ -n "${RSS_plan_full:-}" ]] && check "plan-full <= 150 MiB" "$RSS_plan_full <= $mib"
[[ -n "${WALL_plan_full:-}" && -n "${WALL_plan_empty:-}" ]] &&
    check "plan-full <= 1.5 x plan-empty ($WALL_plan_full vs $WALL_plan_empty s)" "$WALL_plan_full <= 1.5 * $WALL_plan_empty"
[[ -n "${FIRST_resume:-}" && -n "${WALL_plan_empty:-}" ]] &&
    check "first resumed send within one plan-empty ($FIRST_resume vs $WALL_plan_empty s)" "$FIRST_resume <= $WALL_plan_empty"
[[ -n "${RSS_report_csv:-}" ]] && check "report csv <= 64 MiB" "$RSS_report_csv <= 64 * 1024"
[[ "$ok" == 1 ]]
