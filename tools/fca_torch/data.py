"""SST-2 loading, tokenization caching, batching and dev-set evaluation."""
from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import torch

from .bert import BertForSequenceClassification, FcaSettings, encoder_flops
from .tokenizer import BertTokenizer

Example = Tuple[List[int], int]


def load_sst2(path: str | Path, tokenizer: BertTokenizer, max_length: int = 64,
              cache: Optional[str | Path] = None) -> List[Example]:
    """Tokenize an SST-2 TSV file (columns sentence, label); cache the ids in `cache` if given."""
    if cache is not None and Path(cache).exists():
        return torch.load(cache)
    examples: List[Example] = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            ids, _ = tokenizer.encode(row["sentence"], max_length=max_length)
            examples.append((ids, int(row["label"])))
    if cache is not None:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        torch.save(examples, cache)
    return examples


def collate(examples: List[Example]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a list of examples to the longest one; return (input_ids, attention_mask, labels)."""
    width = max(len(ids) for ids, _ in examples)
    input_ids = torch.zeros(len(examples), width, dtype=torch.long)
    mask = torch.zeros(len(examples), width, dtype=torch.long)
    for row, (ids, _) in enumerate(examples):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
    labels = torch.tensor([label for _, label in examples])
    return input_ids, mask, labels


def batches(examples: List[Example], batch_size: int, rng: random.Random) -> Iterator[List[Example]]:
    """Yield shuffled batches forever, reshuffling at each pass."""
    order = list(range(len(examples)))
    while True:
        rng.shuffle(order)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield [examples[i] for i in order[start : start + batch_size]]


@torch.no_grad()
def evaluate(model: BertForSequenceClassification, examples: List[Example], fca: Optional[FcaSettings] = None,
             batch_size: int = 128) -> dict:
    """Return accuracy, correct count and the FLOPs ratio (total FCA over total dense encoder FLOPs)."""
    model.eval()
    config = model.config
    correct = 0
    flops = 0
    dense_flops = 0
    layers = config.num_hidden_layers
    # Sorting by length keeps padding small; FCA results do not depend on the padding.
    ordered = sorted(examples, key=lambda example: len(example[0]))
    for start in range(0, len(ordered), batch_size):
        chunk = ordered[start : start + batch_size]
        input_ids, mask, labels = collate(chunk)
        out = model(input_ids, mask, fca=fca)
        correct += int((out["logits"].argmax(dim=1) == labels).sum())
        for (ids, _), tokens in zip(chunk, out["tokens_per_layer"].tolist()):
            flops += encoder_flops(len(ids), tokens, config.hidden_size, config.intermediate_size)
            dense_flops += encoder_flops(len(ids), [len(ids)] * layers, config.hidden_size, config.intermediate_size)
    return {"accuracy": correct / len(examples), "correct": correct, "total": len(examples),
            "flops_ratio": flops / dense_flops}
