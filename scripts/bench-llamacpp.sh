#!/usr/bin/env bash
# Flora beside llama.cpp on one GGUF file, 2 threads, in one run with alternating rounds
# (docs/benchmarks.md, "Against llama.cpp"). Workloads:
#   one sequence:  llama-bench pp128 / tg128  against  flora generate, one ~110-token prompt, 128 new tokens;
#   32 sequences:  llama-batched-bench -npp 128 -ntg 128 -npl 32  against  flora generate with 32
#                  distinct prompts of about that length, 128 new tokens each, prefix cache off.
# Flora runs twice per round: with its default int8 products and with --exact-products.
# Writes OUT/results.csv (workload,system,round,prefill_tok_s,decode_tok_s), OUT/medians.csv and
# OUT/plot.svg.
# usage: scripts/bench-llamacpp.sh FLORA MODEL.gguf LLAMA_BIN_DIR OUT [ROUNDS]
#   LLAMA_BIN_DIR holds llama-bench and llama-batched-bench (e.g. built by ../shared/peers/build-llamacpp.sh).
set -euo pipefail
flora=$1; model=$2; llama=$3; out=$4; rounds=${5:-3}
mkdir -p "$out"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
words = ("history computing abstraction machines panels cards assembly languages layers programmers hardware threads "
         "compilers systems databases networks graphics security memory caches kernels drivers schedulers").split()
def prompt(i):
    chosen = [words[(i * 7 + k * 3) % len(words)] for k in range(70)]
    return f"Essay {i}: " + " ".join(chosen) + ". Explain each of these ideas in turn, with an example for each:"
open(f"{out}/one.txt", "w").write(prompt(0))
with open(f"{out}/32.jsonl", "w") as f:
    for i in range(32):
        f.write(json.dumps(prompt(i + 1)) + "\n")
PY
echo "workload,system,round,prefill_tok_s,decode_tok_s" > "$out/results.csv"

# flora's last stderr line: "... prompt tokens in S s of prefill steps (P tok/s); decode-only steps: ... (D tok/s, ...)"
flora_figures() { python3 -c '
import re, sys
line = open(sys.argv[1]).read().strip().splitlines()[-1]
rates = re.findall(r"\(([0-9.]+) tok/s", line)
print(f"{rates[0]},{rates[1]}")' "$1"; }

for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds" >&2
  "$llama/llama-bench" -m "$model" -p 128 -n 128 -t 2 -r 1 -o json > "$out/llama_one_$round.json" 2>/dev/null
  python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
pp = next(r["avg_ts"] for r in rows if r["n_prompt"]); tg = next(r["avg_ts"] for r in rows if r["n_gen"])
print(f"one sequence,llama.cpp,{sys.argv[2]},{pp:.1f},{tg:.1f}")' "$out/llama_one_$round.json" "$round" >> "$out/results.csv"
  for mode in int8 exact; do
    flag=(); [ "$mode" = exact ] && flag=(--exact-products)
    "$flora" generate --model "$model" "${flag[@]}" --prompt "$(cat "$out/one.txt")" --max-tokens 128 --ignore-eos > /dev/null 2> "$out/flora_${mode}_one_$round.txt"
    echo "one sequence,flora $mode,$round,$(flora_figures "$out/flora_${mode}_one_$round.txt")" >> "$out/results.csv"
  done
  "$llama/llama-batched-bench" -m "$model" -c 16384 -b 2048 -ub 512 -npp 128 -ntg 128 -npl 32 -t 2 > "$out/llama_32_$round.txt" 2>&1
  # The table row: | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
  grep -E '^\|\s+128' "$out/llama_32_$round.txt" | awk -F'|' -v r="$round" '{gsub(/ /,""); printf "32 sequences,llama.cpp,%s,%s,%s\n", r, $7, $9}' >> "$out/results.csv"
  for mode in int8 exact; do
    flag=(); [ "$mode" = exact ] && flag=(--exact-products)
    "$flora" generate --model "$model" "${flag[@]}" --prompts-file "$out/32.jsonl" --max-tokens 128 --ignore-eos --no-prefix-caching --format json > /dev/null 2> "$out/flora_${mode}_32_$round.txt"
    echo "32 sequences,flora $mode,$round,$(flora_figures "$out/flora_${mode}_32_$round.txt")" >> "$out/results.csv"
  done
done

python3 - "$out" <<'PY'
import csv, statistics, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/results.csv")))
groups = {}
for r in rows:
    groups.setdefault((r["workload"], r["system"]), []).append(r)
medians = []
with open(f"{out}/medians.csv", "w") as f:
    f.write("workload,system,rounds,prefill_tok_s,decode_tok_s\n")
    for (workload, system), rs in groups.items():
        pp = statistics.median(float(r["prefill_tok_s"]) for r in rs)
        tg = statistics.median(float(r["decode_tok_s"]) for r in rs)
        medians.append((workload, system, pp, tg))
        f.write(f"{workload},{system},{len(rs)},{pp:.1f},{tg:.1f}\n")
print(open(f"{out}/medians.csv").read())
for workload in dict.fromkeys(m[0] for m in medians):
    base = next(m for m in medians if m[0] == workload and m[1] == "llama.cpp")
    for m in medians:
        if m[0] == workload and m[1] != "llama.cpp":
            print(f"{workload}: {m[1]} / llama.cpp: prefill {m[2] / base[2]:.2f}x, decode {m[3] / base[3]:.2f}x")
# A grouped bar chart of the medians: one group per (workload, phase), one bar per system.
systems = list(dict.fromkeys(m[1] for m in medians))
colours = ["#888888", "#1f77b4", "#9ecae1", "#ff7f0e"]
bars = [(f"{w} {phase}", {m[1]: (m[2] if phase == "prefill" else m[3]) for m in medians if m[0] == w})
        for w in dict.fromkeys(m[0] for m in medians) for phase in ("prefill", "decode")]
top = max(v for _, values in bars for v in values.values())
width, height, left, bottom = 760, 360, 60, 60
group = (width - left - 20) / len(bars)
bar = group * 0.8 / len(systems)
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
       f'<text x="{left}" y="16" font-size="13">tokens/s, medians of the rounds (higher is better)</text>']
for g, (label, values) in enumerate(bars):
    x0 = left + g * group + group * 0.1
    for s, system in enumerate(systems):
        v = values.get(system, 0)
        h = (height - bottom - 30) * v / top
        svg.append(f'<rect x="{x0 + s * bar:.1f}" y="{height - bottom - h:.1f}" width="{bar * 0.95:.1f}" height="{h:.1f}" fill="{colours[s % len(colours)]}"/>')
        svg.append(f'<text x="{x0 + s * bar + bar / 2:.1f}" y="{height - bottom - h - 3:.1f}" text-anchor="middle" font-size="9">{v:.0f}</text>')
    svg.append(f'<text x="{x0 + group * 0.4:.1f}" y="{height - bottom + 16}" text-anchor="middle">{label}</text>')
for s, system in enumerate(systems):
    svg.append(f'<rect x="{left + s * 150}" y="{height - 22}" width="12" height="12" fill="{colours[s % len(colours)]}"/>')
    svg.append(f'<text x="{left + s * 150 + 16}" y="{height - 12}">{system}</text>')
svg.append("</svg>")
open(f"{out}/plot.svg", "w").write("\n".join(svg))
PY
