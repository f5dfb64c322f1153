"""Search per-layer retention fractions with PoWER-BERT's soft extraction, then retrain hard.

Usage (from the repository root):
  /usr/bin/python3 -m tools.fca_torch.search --steps 300 --penalty 0.05 --out runs/search \
      [--clusters 1 --retrain-steps 1000 -- <extra finetune options>]

Each layer gets a learned mask of `--buckets` values in [0, 1] over score ranks.
After the attention sub-layer, tokens are ranked by attention received, with
[CLS] first. The token of rank k in a sequence of n0 real tokens is scaled by
the value of bucket floor(k * buckets / n0). Training minimises the task loss plus
`penalty` * sum over layers of the mean mask value (an L1 penalty, since the
values are kept in [0, 1]). Ranks are relative to each sentence's length, so
the read-off is a retention fraction per layer: the mean mask value, made
non-increasing over layers and at least 1 / buckets. PoWER-BERT uses absolute
rank positions and counts instead. With --retrain-steps, finetune.py then
retrains the starting model with the hard FCA selection at those fractions.
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import torch
import torch.nn.functional as F

from .bert import FcaSettings, load_model
from .data import batches, collate, evaluate, load_sst2
from .finetune import DATA_DIR
from .tokenizer import BertTokenizer


def read_fractions(masks: List[torch.Tensor]) -> List[float]:
    """Turn soft masks into non-increasing retention fractions in [1/buckets, 1]."""
    fractions = []
    previous = 1.0
    for mask in masks:
        buckets = mask.shape[0]
        value = float(mask.detach().clamp(0, 1).mean())
        value = min(previous, max(1.0 / buckets, value))
        fractions.append(round(value, 4))
        previous = value
    return fractions


def main() -> None:
    parser = argparse.ArgumentParser(description="PoWER-BERT style retention search for FCA.")
    parser.add_argument("--model", default="models/sst2-bert-mini")
    parser.add_argument("--out", required=True, help="folder for search.json and the retrained model")
    parser.add_argument("--steps", type=int, default=300, help="soft-extraction training steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-5, help="learning rate of the model weights")
    parser.add_argument("--mask-lr", type=float, default=1e-2, help="learning rate of the soft masks")
    parser.add_argument("--penalty", type=float, default=0.05, help="L1 weight on the mean mask value per layer")
    parser.add_argument("--buckets", type=int, default=20, help="mask values per layer")
    parser.add_argument("--clusters", type=int, default=0, help="K used when evaluating and retraining the found fractions")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--retrain-steps", type=int, default=0, help="if > 0, run finetune.py with the found fractions")
    parser.add_argument("finetune_args", nargs="*", help="extra finetune.py options after --")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)

    tokenizer = BertTokenizer(Path(args.model) / "vocab.txt")
    train = [e for e in load_sst2(DATA_DIR / "train.tsv", tokenizer, cache=Path("runs/cache/sst2_train.pt"))
             if len(e[0]) <= args.max_length]
    dev = load_sst2(DATA_DIR / "dev.tsv", tokenizer, cache=Path("runs/cache/sst2_dev.pt"))
    model = load_model(args.model)
    layers = model.config.num_hidden_layers
    masks = [torch.nn.Parameter(torch.ones(args.buckets)) for _ in range(layers)]
    optimizer = torch.optim.AdamW([{"params": list(model.parameters()), "lr": args.lr, "weight_decay": 0.01},
                                   {"params": masks, "lr": args.mask_lr, "weight_decay": 0.0}])
    stream = batches(train, args.batch_size, rng)
    model.train()
    started = time.time()
    for step in range(1, args.steps + 1):
        input_ids, mask, labels = collate(next(stream))
        logits = model(input_ids, mask, soft_masks=masks)["logits"]
        task = F.cross_entropy(logits, labels)
        sparsity = sum(m.mean() for m in masks)
        loss = task + args.penalty * sparsity
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            for m in masks:
                m.clamp_(0.0, 1.0)
        if step % 50 == 0 or step == args.steps:
            print(f"step {step}: task loss {task.item():.4f}, fractions {read_fractions(masks)}", flush=True)
    search_seconds = time.time() - started

    fractions = read_fractions(masks)
    settings = FcaSettings(fractions=fractions, clusters=args.clusters)
    start_model = load_model(args.model)
    before = evaluate(start_model, dev, settings)
    print(f"found fractions {fractions}; starting model with hard FCA (K={args.clusters}): "
          f"{before['correct']}/{before['total']}, FLOPs ratio {before['flops_ratio']:.3f}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"recipe": vars(args), "search_seconds": round(search_seconds, 1), "fractions": fractions,
              "masks": [m.detach().tolist() for m in masks], "dev_start_model_hard_fca": before}
    (out / "search.json").write_text(json.dumps(record, indent=2) + "\n")

    if args.retrain_steps > 0:
        command = [sys.executable, "-m", "tools.fca_torch.finetune", "--model", args.model,
                   "--out", str(out / "retrained"), "--fractions", ",".join(str(f) for f in fractions),
                   "--clusters", str(args.clusters), "--steps", str(args.retrain_steps), *args.finetune_args]
        print("retraining:", " ".join(command), flush=True)
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
