"""Fine-tune a BERT classifier on SST-2 with FCA in the forward pass.

Usage (from the repository root):
  /usr/bin/python3 -m tools.fca_torch.finetune --model models/sst2-bert-mini \
      --fractions 0.1,0.05,0.05,0.05 --clusters 0 --distill 0.9 --temperature 2 \
      --vary-spread 2 --steps 1000 --out runs/example

The teacher for distillation is the starting model run dense and frozen.
Loss = (1 - distill) * cross-entropy + distill * T^2 * KL(teacher_T || student_T).
At the end the script evaluates dense and FCA accuracy on the SST-2 dev set
(after rounding to the saved dtype), and writes the model folder, training.json
and retention.json to --out.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import random
import time
from pathlib import Path
from typing import List, Optional

import torch
import torch.nn.functional as F

from .bert import FcaSettings, load_model, save_model
from .data import batches, collate, evaluate, load_sst2
from .tokenizer import BertTokenizer

DATA_DIR = Path("/work/shared/data/glue/SST-2")


def parse_floats(text: str) -> List[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def sample_settings(target: FcaSettings, spread: float, dense_prob: float, rng: random.Random) -> Optional[FcaSettings]:
    """Draw this batch's FCA settings: dense with probability `dense_prob`, else the target
    fractions times one log-uniform factor in [1/spread, spread], clipped to (0, 1]."""
    if rng.random() < dense_prob:
        return None
    if spread <= 1.0:
        return target
    factor = math.exp(rng.uniform(-math.log(spread), math.log(spread)))
    fractions = [min(1.0, max(1e-3, f * factor)) for f in target.fractions]
    return FcaSettings(fractions=fractions, clusters=target.clusters, weighted=target.weighted)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Fine-tune with FCA in place on SST-2.")
    parser.add_argument("--model", default="models/sst2-bert-mini", help="starting model folder (also the teacher)")
    parser.add_argument("--out", required=True, help="output folder for the model, training.json and retention.json")
    parser.add_argument("--fractions", required=True, help="target retention fractions per layer, comma-separated")
    parser.add_argument("--clusters", type=int, default=0, help="clusters K per layer")
    parser.add_argument("--unweighted", action="store_true", help="plain mean clusters instead of score-softmax weights")
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4, help="peak AdamW learning rate")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--warmup", type=float, default=0.06, help="warm-up share of the steps")
    parser.add_argument("--distill", type=float, default=0.0, help="weight of the distillation loss in [0, 1]")
    parser.add_argument("--temperature", type=float, default=2.0, help="distillation temperature")
    parser.add_argument("--vary-spread", type=float, default=1.0,
                        help="per batch, scale the fractions by a log-uniform factor in [1/S, S]; 1 disables")
    parser.add_argument("--dense-prob", type=float, default=0.0, help="share of batches trained dense")
    parser.add_argument("--max-length", type=int, default=64, help="drop training sentences longer than this many tokens")
    parser.add_argument("--train-limit", type=int, default=0, help="use only the first N shuffled training sentences; 0 = all")
    parser.add_argument("--dropout", type=float, default=None, help="override hidden and attention dropout")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dtype", default="F16", choices=["F16", "F32", "BF16"], help="saved weight dtype")
    parser.add_argument("--log-every", type=int, default=100)
    return parser


def main() -> None:
    args = build_parser().parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    started = time.time()

    target = FcaSettings(fractions=parse_floats(args.fractions), clusters=args.clusters, weighted=not args.unweighted)
    tokenizer = BertTokenizer(Path(args.model) / "vocab.txt")
    train = load_sst2(DATA_DIR / "train.tsv", tokenizer, cache=Path("runs/cache/sst2_train.pt"))
    dev = load_sst2(DATA_DIR / "dev.tsv", tokenizer, cache=Path("runs/cache/sst2_dev.pt"))
    train = [example for example in train if len(example[0]) <= args.max_length]
    if args.train_limit:
        rng.shuffle(train)
        train = train[: args.train_limit]

    student = load_model(args.model)
    if args.dropout is not None:
        for module in student.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = args.dropout
    teacher = copy.deepcopy(student).eval() if args.distill > 0 else None
    for parameter in (teacher.parameters() if teacher else []):
        parameter.requires_grad_(False)

    decay = [p for n, p in student.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in student.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    warmup_steps = max(1, int(args.warmup * args.steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: step / warmup_steps if step < warmup_steps
        else max(0.0, (args.steps - step) / max(1, args.steps - warmup_steps)))

    print(f"training on {len(train)} sentences for {args.steps} steps of {args.batch_size}", flush=True)
    stream = batches(train, args.batch_size, rng)
    student.train()
    running = 0.0
    train_started = time.time()
    for step in range(1, args.steps + 1):
        input_ids, mask, labels = collate(next(stream))
        settings = sample_settings(target, args.vary_spread, args.dense_prob, rng)
        logits = student(input_ids, mask, fca=settings)["logits"]
        loss = F.cross_entropy(logits, labels) * (1.0 - args.distill)
        if teacher is not None:
            with torch.no_grad():
                teacher_logits = teacher(input_ids, mask)["logits"]
            t = args.temperature
            kl = F.kl_div(F.log_softmax(logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1),
                          log_target=True, reduction="batchmean")
            loss = loss + args.distill * t * t * kl
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        running += loss.item()
        if step % args.log_every == 0:
            rate = step / (time.time() - train_started)
            print(f"step {step}: loss {running / args.log_every:.4f}, {rate:.2f} steps/s", flush=True)
            running = 0.0
    train_seconds = time.time() - train_started

    out = Path(args.out)
    save_model(student, out, args.model, dtype=args.dtype)
    saved = load_model(out)
    dense = evaluate(saved, dev)
    fca = evaluate(saved, dev, target)
    print(f"dev dense {dense['accuracy']:.4f} ({dense['correct']}/{dense['total']}), "
          f"FCA {fca['accuracy']:.4f} ({fca['correct']}/{fca['total']}), FLOPs ratio {fca['flops_ratio']:.3f}", flush=True)
    record = {
        "start_model": str(args.model),
        "recipe": {key: value for key, value in vars(args).items() if key not in ("out", "log_every")},
        "train_sentences": len(train),
        "epochs": args.steps * args.batch_size / len(train),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.time() - started, 1),
        "dev_dense": dense,
        "dev_fca": fca,
        "evaluated_with": f"PyTorch float32 from the saved {args.dtype} weights, SST-2 dev",
    }
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    retention = {"retention": target.fractions, "clusters": target.clusters, "weighted": target.weighted,
                 "flops_ratio": round(fca["flops_ratio"], 4), "flops_ratio_data": "SST-2 dev (872 sentences)"}
    (out / "retention.json").write_text(json.dumps(retention, indent=2) + "\n")


if __name__ == "__main__":
    main()
