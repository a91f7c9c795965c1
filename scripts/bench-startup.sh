#!/usr/bin/env bash
# Startup of `flora serve --adapter-dir` with many adapters, and serving throughput, for one or
# two builds side by side in one run (alternating rounds, medians).
#
#   scripts/bench-startup.sh NEW_FLORA [OLD_FLORA] [COUNTS] [ROUNDS]
#
# For each adapter count (default "1000 10000") it writes that many rank-4 fLoRA adapters on all
# seven modules of the default model (4.8 MB each; the copies are hard links of one folder, so
# 10,000 take the disk of one), starts the server on loopback, and reports the seconds until
# /health answers and the server's resident memory (VmRSS) at that moment. With DISTINCT=1 every
# folder gets a config of its own (a different base_model_name_or_path; the tensors stay shared
# links), so no two folders share a fingerprint and each is checked in full: the worst case of a
# directory of adapters from many recipes. Then it runs
# `flora bench throughput` (base model and fLoRA rank 1, request set --scale $SCALE, default 0.1)
# with each build. Prints a table and
# writes bench-startup.csv in the working folder.
set -euo pipefail

new=${1:?usage: scripts/bench-startup.sh NEW_FLORA [OLD_FLORA] [COUNTS] [ROUNDS]}
old=${2:-}
counts=${3:-"1000 10000"}
rounds=${4:-3}
model="${FLORA_HOME:-$HOME/.cache/flora}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
port=${PORT:-18471}
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

builds=(new)
declare -A binary=([new]="$new")
if [ -n "$old" ]; then builds+=(old); binary[old]="$old"; fi

"$new" adapter init --model "$model" --type flora --rank 4 \
    --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --random --out "$work/template" >/dev/null

# Seconds until /health answers, and VmRSS in MiB then.
startup() {
    local flora=$1 dir=$2
    local start end pid rss
    start=$(date +%s.%N)
    "$flora" serve --model "$model" --host 127.0.0.1 --port "$port" --adapter-dir "$dir" >"$work/serve.log" 2>&1 &
    pid=$!
    until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { echo "server exited:" >&2; tail -5 "$work/serve.log" >&2; exit 1; }
        sleep 0.02
    done
    end=$(date +%s.%N)
    rss=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    echo "$(echo "$end - $start" | bc) $rss"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "build,measure,count,round,value" > bench-startup.csv
for count in $counts; do
    dir="$work/adapters-$count"
    mkdir -p "$dir"
    for i in $(seq 1 "$count"); do
        cp -al "$work/template" "$dir/a$i"
        if [ "${DISTINCT:-0}" = 1 ]; then
            rm "$dir/a$i/adapter_config.json"
            sed "s/\"task_type\"/\"base_model_name_or_path\" : \"recipe-$i\",\n  \"task_type\"/" \
                "$work/template/adapter_config.json" > "$dir/a$i/adapter_config.json"
        fi
    done
    for round in $(seq 1 "$rounds"); do
        for build in "${builds[@]}"; do
            read -r seconds rss < <(startup "${binary[$build]}" "$dir")
            echo "$build,startup_seconds,$count,$round,$seconds" >> bench-startup.csv
            echo "$build,rss_mib,$count,$round,$rss" >> bench-startup.csv
            echo "$build: $count adapters, round $round: /health after $seconds s, $rss MiB resident" >&2
        done
    done
    rm -rf "$dir"
done

# Serving throughput: every request its own rank-1 fLoRA adapter, and the base model.
for round in $(seq 1 "$rounds"); do
    for build in "${builds[@]}"; do
        "${binary[$build]}" bench throughput --model "$model" --methods base,flora --ranks 1 --repeats 1 \
            --scale "${SCALE:-0.1}" --csv "$work/throughput.csv" >/dev/null 2>&1
        awk -F, -v b="$build" -v r="$round" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
            { print b ",tokens_per_second_" $col["method"] ",0," r "," $col["output_tokens_per_s"] }' \
            "$work/throughput.csv" >> bench-startup.csv
        echo "$build: throughput round $round done" >&2
    done
done

echo
printf "%-6s %-32s %8s %12s\n" build measure count median
for build in "${builds[@]}"; do
    for measure in $(awk -F, 'NR > 1 { print $2 }' bench-startup.csv | sort -u); do
        for count in $(awk -F, -v m="$measure" 'NR > 1 && $2 == m { print $3 }' bench-startup.csv | sort -un); do
            value=$(awk -F, -v b="$build" -v m="$measure" -v c="$count" '$1 == b && $2 == m && $3 == c { print $5 }' bench-startup.csv | median)
            printf "%-6s %-32s %8s %12s\n" "$build" "$measure" "$count" "$value"
        done
    done
done
