"""Check the PyTorch BERT, FCA and tokenizer against a model folder's golden.jsonl.

Usage: /usr/bin/python3 -m tools.fca_torch.check_golden [MODEL_DIR] [--tolerance 1e-4]

For every record it compares the tokenizer's input_ids with the stored ones
and, for each setting below, the logits (max absolute difference within the
tolerance), the sequence length after each layer and the encoder FLOPs.
Exits with status 1 on any mismatch.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .bert import FcaSettings, encoder_flops, load_model
from .tokenizer import BertTokenizer

SETTINGS = {
    "dense": None,
    "r50-k2": FcaSettings(fractions=[0.5] * 4, clusters=2),
    "r70-50-40-30-k1": FcaSettings(fractions=[0.7, 0.5, 0.4, 0.3], clusters=1),
    "r60-40-30-20-k3": FcaSettings(fractions=[0.6, 0.4, 0.3, 0.2], clusters=3),
    "r50-drop": FcaSettings(fractions=[0.5] * 4, clusters=0),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", nargs="?", default="../shared/models/sst2-bert-mini")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max absolute logit difference")
    args = parser.parse_args()
    torch.set_num_threads(1)

    folder = Path(args.model_dir)
    model = load_model(folder).eval()
    tokenizer = BertTokenizer(folder / "vocab.txt")
    config = model.config
    failures = 0
    worst = {name: 0.0 for name in SETTINGS}
    records = [json.loads(line) for line in (folder / "golden.jsonl").read_text().splitlines() if line.strip()]
    for index, record in enumerate(records):
        ids, types = tokenizer.encode(record["text"], record.get("text_pair"))
        if ids != record["input_ids"] or types != record["token_type_ids"]:
            failures += 1
            print(f"record {index}: tokenizer ids {ids} differ from golden {record['input_ids']}")
        input_ids = torch.tensor([record["input_ids"]])
        token_types = torch.tensor([record["token_type_ids"]])
        for name, fca in SETTINGS.items():
            expected = record[name]
            with torch.no_grad():
                out = model(input_ids, torch.ones_like(input_ids), token_types, fca=fca)
            diff = (out["logits"][0] - torch.tensor(expected["logits"])).abs().max().item()
            worst[name] = max(worst[name], diff)
            tokens = out["tokens_per_layer"][0].tolist()
            flops = encoder_flops(len(record["input_ids"]), tokens, config.hidden_size, config.intermediate_size)
            if diff > args.tolerance or tokens != expected["tokens_per_layer"] or flops != expected["flops"]:
                failures += 1
                print(f"record {index} {name}: logit diff {diff:.2e}, tokens {tokens} vs {expected['tokens_per_layer']}, "
                      f"flops {flops} vs {expected['flops']}")

    # The same records as one padded batch must give the same logits as one by one.
    batch = torch.nn.utils.rnn.pad_sequence([torch.tensor(r["input_ids"]) for r in records], batch_first=True)
    batch_types = torch.nn.utils.rnn.pad_sequence([torch.tensor(r["token_type_ids"]) for r in records], batch_first=True)
    mask = (torch.arange(batch.shape[1])[None, :] < torch.tensor([len(r["input_ids"]) for r in records])[:, None]).long()
    for name, fca in SETTINGS.items():
        with torch.no_grad():
            out = model(batch, mask, batch_types, fca=fca)
        expected = torch.tensor([r[name]["logits"] for r in records])
        diff = (out["logits"] - expected).abs().max().item()
        tokens_ok = out["tokens_per_layer"].tolist() == [r[name]["tokens_per_layer"] for r in records]
        print(f"{name}: max logit diff one by one {worst[name]:.2e}, padded batch {diff:.2e}, batch tokens_per_layer equal: {tokens_ok}")
        if diff > args.tolerance or not tokens_ok:
            failures += 1
    print(f"{len(records)} records, {failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
