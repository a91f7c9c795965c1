#!/usr/bin/env bash
# Builds the libFuzzer executables of fuzz/ (AddressSanitizer + libFuzzer, release) and runs
# each for FUZZ_SECONDS (default 60), one at a time, on a scratch copy of its committed seeds
# (fuzz/corpus/<target>). A crash, a hang (-timeout, 1 s) or a memory blow-up (-rss_limit_mb,
# 1 GiB) leaves its input in fuzz/crashes/<target>/; fix the bug, keep the input: the test suite
# replays it (Tests/FloraFuzzingTests). Prints libFuzzer's last status line per target.
#   scripts/fuzz.sh [target ...]      targets: gguf safetensors peft-adapter tokenizer-json
#                                              chat-template openai-request text
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
TARGET_CPU=${TARGET_CPU:-native}
ALL=(gguf safetensors peft-adapter tokenizer-json chat-template text openai-request)
TARGETS=("${@:-${ALL[@]}}")
# --sanitize alone instruments only this package's own targets; -Xswiftc reaches the Flora
# library targets too, which is where the coverage must come from.
BUILD_FLAGS=(-c release --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address
             -Xswiftc -target-cpu -Xswiftc "$TARGET_CPU")

for target in "${TARGETS[@]}"; do
    (cd fuzz && swift build "${BUILD_FLAGS[@]}" --product "fuzz-$target")
done
BIN=$(cd fuzz && swift build "${BUILD_FLAGS[@]}" --show-bin-path)

status=0
for target in "${TARGETS[@]}"; do
    work=$(mktemp -d)
    mkdir -p "$work/corpus" "fuzz/crashes/$target"
    cp "fuzz/corpus/$target"/* "$work/corpus/"
    log="$work/log"
    echo "fuzz: $target for ${FUZZ_SECONDS}s"
    # The Swift backtracer would linger after a crash long after libFuzzer wrote the input.
    if ! SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$BIN/fuzz-$target" "$work/corpus" \
            -max_total_time="$FUZZ_SECONDS" -timeout=1 -rss_limit_mb=1024 -max_len=4096 \
            -artifact_prefix="fuzz/crashes/$target/" -print_final_stats=1 >"$log" 2>&1; then
        echo "fuzz: $target FOUND A BUG; its input is in fuzz/crashes/$target/ (log: $log)"
        grep -m1 -E "ERROR|Fatal|fuzz invariant|timeout|out-of-memory" "$log" || true
        status=1
    fi
    grep -E "^#[0-9]+" "$log" | tail -1
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" || true
done
exit $status
