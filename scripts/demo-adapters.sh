#!/usr/bin/env bash
# Writes a few random demo adapters, one of each kind, for `make run` to serve:
#   flora-r1 (fLoRA rank 1), flora-r4 (fLoRA rank 4), lora-r8 (LoRA rank 8), ia3 (IA3),
#   dora-r8 (DoRA rank 8), road (RoAd, road_1).
# Usage: scripts/demo-adapters.sh FLORA_BINARY MODEL_PATH OUT_DIR
# Random weights make the outputs differ visibly from the base model; they are not trained.
set -euo pipefail

flora="$1"; model="$2"; out="$3"
mkdir -p "$out"

make_adapter() {   # name, then `flora adapter init` options
    local name="$1"; shift
    if [ -f "$out/$name/adapter_config.json" ]; then return; fi
    "$flora" adapter init --model "$model" --random --out "$out/$name" "$@" >/dev/null
    echo "demo-adapters: wrote $out/$name" >&2
}

make_adapter flora-r1 --type flora --rank 1 --targets q_proj,k_proj,v_proj,o_proj --seed 1
make_adapter flora-r4 --type flora --rank 4 --targets q_proj,v_proj,gate_proj,up_proj,down_proj --seed 4
make_adapter lora-r8 --type lora --rank 8 --targets q_proj,k_proj,v_proj,o_proj --seed 8
make_adapter ia3 --type ia3 --targets k_proj,v_proj,down_proj --seed 3
make_adapter dora-r8 --type dora --rank 8 --targets q_proj,v_proj --seed 5
make_adapter road --type road --targets q_proj,v_proj --seed 6
