"""Evaluate a model folder on SST-2 dev, dense and at FCA settings.

Usage: /usr/bin/python3 -m tools.fca_torch.evaluate MODEL_DIR [--setting 0.1,0.05,0.05,0.05:0 ...]

Each --setting is FRACTIONS:K. Without --setting the script uses the grid of
fractions (0.6,0.4,0.3,0.2), (0.4,0.3,0.3,0.3), (0.2,0.1,0.1,0.1),
(0.1,0.05,0.05,0.05) and (0.05,0.05,0.05,0.05) with K = 0, 1 and 2. Prints a
Markdown table: fractions, K, FLOPs ratio on dev, accuracy and counts.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from .bert import FcaSettings, load_model
from .data import evaluate, load_sst2
from .finetune import DATA_DIR, parse_floats
from .tokenizer import BertTokenizer

GRID = ["0.6,0.4,0.3,0.2", "0.4,0.3,0.3,0.3", "0.2,0.1,0.1,0.1", "0.1,0.05,0.05,0.05", "0.05,0.05,0.05,0.05"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Evaluate a model folder on SST-2 dev.")
    parser.add_argument("model_dir")
    parser.add_argument("--setting", action="append", default=[], help="FRACTIONS:K, for example 0.1,0.05,0.05,0.05:0")
    args = parser.parse_args()
    torch.set_num_threads(1)

    folder = Path(args.model_dir)
    model = load_model(folder)
    dev = load_sst2(DATA_DIR / "dev.tsv", BertTokenizer(folder / "vocab.txt"), cache=Path("runs/cache/sst2_dev.pt"))
    settings = args.setting or [f"{fractions}:{k}" for fractions in GRID for k in (0, 1, 2)]
    dense = evaluate(model, dev)
    print("| retention fractions per layer | clusters K | FLOPs / dense | dev accuracy |")
    print("|---|---|---|---|")
    print(f"| dense | - | 1.000 | {100 * dense['accuracy']:.2f}% ({dense['correct']}/{dense['total']}) |")
    for setting in settings:
        fractions, _, clusters = setting.partition(":")
        if not clusters:
            raise SystemExit(f"invalid --setting {setting!r}; expected FRACTIONS:K, for example 0.1,0.05,0.05,0.05:0")
        result = evaluate(model, dev, FcaSettings(fractions=parse_floats(fractions), clusters=int(clusters)))
        print(f"| {fractions.replace(',', ', ')} | {clusters} | {result['flops_ratio']:.3f} | "
              f"{100 * result['accuracy']:.2f}% ({result['correct']}/{result['total']}) |")


if __name__ == "__main__":
    main()
