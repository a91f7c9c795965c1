#!/usr/bin/env python3
"""Check an adapter trained by Flora against Hugging Face transformers + PEFT.

Loads the base GGUF with transformers (which dequantizes it and undoes llama.cpp's q/k
permutation), applies the adapter folder (LoRA, IA3, DoRA (a LoRA config with "use_dora": true)
and RoAd through PEFT; fLoRA, which PEFT does not know, by merging W <- W * (B A) / r into the
base weights), runs the token ids that Flora ran, and
prints the largest |logit difference| against Flora's logits. Flora's logits come from
`flora eval --dump-logits FILE` (run here unless --logits names an existing dump).

Exits 0 with "skipped: ..." when torch, transformers, peft or gguf are not installed; 1 when the
logits differ by more than --tolerance (relative to the largest |logit|); 0 otherwise.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile

SNIPPET = """package Counter;
use strict;
use warnings;

sub new {
    my ($class, %args) = @_;
    my $self = { count => $args{start} // 0 };
    return bless $self, $class;
}
"""


def read_safetensors(path):
    """Tensors (numpy arrays, F32/F16/BF16) and metadata of a safetensors file, without the safetensors package."""
    import numpy as np

    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        raw = data[start:end]
        if info["dtype"] == "F32":
            array = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "F16":
            array = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: {name}: unsupported dtype {info['dtype']}")
        tensors[name] = array.reshape(info["shape"])
    return tensors, metadata


def flora_logits(args, workdir):
    if args.logits and os.path.exists(args.logits):
        return args.logits
    data = args.data
    if data is None:
        data = os.path.join(workdir, "snippet.pm")
        with open(data, "w") as f:
            f.write(SNIPPET)
    dump = args.logits or os.path.join(workdir, "flora_logits.safetensors")
    command = [args.flora, "eval", "--model", args.model, "--adapter", args.adapter, "--data", data, "--all",
               "--max-sequences", "1", "--dump-logits", dump, "--dump-tokens", str(args.tokens)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"flora eval failed ({' '.join(command)}):\n{result.stderr}")
    return dump


def apply_flora(model, adapter_dir):
    """fLoRA (DESIGN.md section 1): W_i = W * (B A) / r, merged densely into the base weights."""
    import torch

    config = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    tensors, _ = read_safetensors(os.path.join(adapter_dir, "adapter_model.safetensors"))
    prefix = "base_model.model."
    for name, a in tensors.items():
        if not name.endswith(".flora_A.weight"):
            continue
        module_path = name[len(prefix):-len(".flora_A.weight")]
        b = tensors[name.replace(".flora_A.", ".flora_B.")]
        rank = a.shape[0]
        module = model.get_submodule(module_path)
        with torch.no_grad():
            scale = torch.from_numpy(b.copy()) @ torch.from_numpy(a.copy()) / rank
            module.weight.mul_(scale.to(module.weight.dtype))
    return model, config


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the base model's .gguf file")
    parser.add_argument("--adapter", required=True, help="a PEFT folder written by flora train (LoRA, IA3, DoRA, RoAd or fLoRA)")
    parser.add_argument("--logits", help="Flora's logits dump (flora eval --dump-logits); made here when absent")
    parser.add_argument("--flora", default=".build/release/flora", help="the flora binary that makes the dump")
    parser.add_argument("--data", help="text whose first tokens are run (default: a small Perl snippet)")
    parser.add_argument("--tokens", type=int, default=32, help="tokens to compare")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest allowed |difference| / max |logit|")
    args = parser.parse_args()

    try:
        import numpy as np
        import torch
        import transformers  # noqa: F401
        import peft  # noqa: F401
        import gguf  # noqa: F401  (transformers' GGUF loader needs it)
    except ImportError as error:
        print(f"skipped: torch/transformers/peft/gguf not installed ({error.name} is missing)")
        return 0

    from transformers import AutoModelForCausalLM
    from peft import PeftModel

    with tempfile.TemporaryDirectory() as workdir:
        dump = flora_logits(args, workdir)
        tensors, metadata = read_safetensors(dump)
        ids = json.loads(metadata["input_ids"])
        ours = tensors["logits"]

    torch.set_num_threads(2)
    model = AutoModelForCausalLM.from_pretrained(
        os.path.dirname(os.path.abspath(args.model)), gguf_file=os.path.basename(args.model), torch_dtype=torch.float32)
    peft_type = json.load(open(os.path.join(args.adapter, "adapter_config.json"))).get("peft_type")
    if peft_type == "FLORA":
        model, _ = apply_flora(model, args.adapter)
    else:
        model = PeftModel.from_pretrained(model, args.adapter)
    model.eval()
    with torch.no_grad():
        theirs = model(torch.tensor([ids])).logits[0].float().numpy()
    if theirs.shape != ours.shape:
        print(f"shape mismatch: Flora {ours.shape}, transformers {theirs.shape}")
        return 1
    difference = float(np.abs(theirs - ours).max())
    scale = float(np.abs(theirs).max())
    if peft_type == "LORA" and json.load(open(os.path.join(args.adapter, "adapter_config.json"))).get("use_dora"):
        peft_type = "LORA (DoRA)"
    print(f"{peft_type} adapter {args.adapter}: {len(ids)} tokens, max |logit difference| {difference:.3e} "
          f"(max |logit| {scale:.2f}, relative {difference / scale:.2e})")
    return 0 if difference <= args.tolerance * scale else 1


if __name__ == "__main__":
    sys.exit(main())
