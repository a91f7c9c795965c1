#!/usr/bin/env python3
"""Greedy text of Flora against transformers on the same GGUF file (K-quants included).

transformers loads the file with `gguf_file=` (dequantizing every tensor through the `gguf`
package and undoing llama.cpp's q/k permutation) and generates greedily in fp32; `flora generate`
runs the same prompts, greedy, with the weights kept in their blocks. Both start from the ids
Flora's tokenizer gives (transformers' tokenizer is checked to agree). Prints one line per prompt
and exits 1 when any continuation differs, 0 when all agree.

Usage: kquant_check.py --flora FLORA --model FILE.gguf [--tokens 32]
Run with the fixtures virtualenv (scripts/fixtures/requirements.txt: torch, transformers, gguf).
"""

import argparse
import json
import os
import subprocess
import sys

PROMPTS = [
    "def fibonacci(n):",
    "The capital of France is",
    "<|im_start|>user\nWrite a haiku about the sea.<|im_end|>\n<|im_start|>assistant\n",
    "import numpy as np\n\ndef softmax(x):",
]


def flora_greedy(flora, model, prompt, tokens):
    run = subprocess.run(
        [flora, "generate", "--model", model, "--prompt", prompt, "--max-tokens", str(tokens), "--format", "json"],
        check=True, capture_output=True, text=True)
    out = json.loads(run.stdout.strip().splitlines()[-1])
    return out["prompt_ids"], out["token_ids"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flora", required=True)
    parser.add_argument("--model", required=True, help="a GGUF file of the Llama family")
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(2)
    folder, name = os.path.split(os.path.abspath(args.model))
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    failures = 0
    for prompt in PROMPTS:
        prompt_ids, flora_ids = flora_greedy(args.flora, args.model, prompt, args.tokens)
        hf_prompt = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([prompt_ids])
        with torch.no_grad():
            # An explicit mask: without one, generate masks out prompt tokens equal to the pad id,
            # and ChatML prompts hold <|im_end|>, which is also the end-of-sequence id.
            generated = model.generate(
                ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.tokens, do_sample=False,
                eos_token_id=None, pad_token_id=tokenizer.eos_token_id or 0)
        hf_ids = generated[0, len(prompt_ids):].tolist()
        agree = hf_ids[: len(flora_ids)] == flora_ids
        if not agree:
            failures += 1
        first = next((i for i, (a, b) in enumerate(zip(hf_ids, flora_ids)) if a != b), None)
        print(json.dumps({
            "prompt": prompt, "tokenizers_agree": hf_prompt == prompt_ids, "same_greedy_tokens": agree,
            "first_difference": first, "flora": flora_ids, "transformers": hf_ids,
            "text": tokenizer.decode(flora_ids)}, ensure_ascii=False))
    print(f"{args.model}: {len(PROMPTS) - failures} of {len(PROMPTS)} prompts give the same greedy tokens")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
