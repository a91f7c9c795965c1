#!/usr/bin/env bash
# Checks every adapter of a `flora train` output folder against transformers + PEFT
# (scripts/peft_check.py; prints "skipped: ..." and succeeds when torch/peft are not installed).
# Usage: scripts/peft-check.sh OUT_DIR [MODEL.gguf]
set -euo pipefail
out=${1:?usage: scripts/peft-check.sh OUT_DIR [MODEL.gguf]}
model=${2:-${FLORA_HOME:-$HOME/.cache/flora}/models/SmolLM2-135M-Instruct.Q4_1.gguf}
root=$(cd "$(dirname "$0")/.." && pwd)
flora="$root/.build/release/flora"
[ -x "$flora" ] || swift build -c release -Xswiftc -target-cpu -Xswiftc native --product flora --package-path "$root"
status=0
for config in "$out"/*/adapter_config.json; do
    adapter=$(dirname "$config")
    python3 "$root/scripts/peft_check.py" --model "$model" --adapter "$adapter" --flora "$flora" || status=1
done
exit $status
