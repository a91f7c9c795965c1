#!/usr/bin/env bash
# Runs a test command with a time limit: `scripts/run-tests.sh swift test ...`.
# A test that never ends would hold CI until its own limit and leave no trace, because the test
# runner block-buffers its output into a pipe. Here the output passes through a terminal, so it
# arrives line by line, and after a timeout the tests that started and never ended are named.
set -uo pipefail
limit=${TEST_TIME_LIMIT:-1500}
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
printf -v command '%q ' "$@"
timeout --kill-after=30 "$limit" script -qefc "$command" /dev/null | tr -d '\r' | sed -u 's/\x1b\[[0-9;]*m//g' | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
    echo "run-tests: not finished within $limit s (TEST_TIME_LIMIT); started and never ended:" >&2
    awk '
        /^◇ Test case / { next }
        /^◇ (Test|Suite) .* started\.$/ { name = $0; sub(/^◇ /, "", name); sub(/ started\.$/, "", name); open[name] = 1; next }
        /^(✔|✘) (Test|Suite) .* (passed|failed) after / {
            name = $0; sub(/^(✔|✘) /, "", name)
            sub(/ (with [0-9]+ test cases? )?(passed|failed) after .*$/, "", name)
            delete open[name]
        }
        END { n = 0; for (name in open) { print "  " name; n++ } if (n == 0) print "  (none: the process did not exit after its tests)" }
    ' "$log" >&2
fi
exit "$status"
