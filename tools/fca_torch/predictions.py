"""Write PyTorch's SST-2 dev predictions, dense and at one FCA setting, as JSON.

Usage: /usr/bin/python3 -m tools.fca_torch.predictions MODEL_DIR --setting 0.05,0.05,0.05,0.05:0 --output preds.json

The output maps "dense" and "fca" to lists of predicted label ids in dev.tsv
order, for comparing PyTorch with the engine's `classify` sentence by sentence.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from .bert import FcaSettings, load_model
from .data import collate, load_sst2
from .finetune import DATA_DIR, parse_floats
from .tokenizer import BertTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description="Write SST-2 dev predictions, dense and with FCA, as JSON.")
    parser.add_argument("model_dir")
    parser.add_argument("--setting", required=True, help="FRACTIONS:K, for example 0.05,0.05,0.05,0.05:0")
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    fractions, _, clusters = args.setting.partition(":")
    if not clusters:
        raise SystemExit(f"invalid --setting {args.setting!r}; expected FRACTIONS:K, for example 0.05,0.05,0.05,0.05:0")
    folder = Path(args.model_dir)
    model = load_model(folder)
    model.eval()
    dev = load_sst2(DATA_DIR / "dev.tsv", BertTokenizer(folder / "vocab.txt"))

    predictions = {}
    for name, fca in [("dense", None), ("fca", FcaSettings(fractions=parse_floats(fractions), clusters=int(clusters)))]:
        labels = []
        with torch.no_grad():
            for start in range(0, len(dev), 64):
                input_ids, mask, _ = collate(dev[start : start + 64])
                labels += model(input_ids, mask, fca=fca)["logits"].argmax(dim=1).tolist()
        predictions[name] = labels
    Path(args.output).write_text(json.dumps(predictions))


if __name__ == "__main__":
    main()
