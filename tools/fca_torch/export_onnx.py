"""Export a model folder's dense BERT classifier to ONNX (opset 14).

Usage: /usr/bin/python3 -m tools.fca_torch.export_onnx MODEL_DIR [--output MODEL_DIR/onnx/model.onnx]

Inputs input_ids, attention_mask and token_type_ids (int64, dynamic batch and
length), output logits. The export is the dense model: FCA's data-dependent
sequence lengths are not exported. The graph is checked with onnx.checker and,
where onnx provides the reference evaluator (onnx >= 1.13), its logits on two
padded sentences are compared with PyTorch's.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import onnx
import torch

from .bert import BertForSequenceClassification, load_model


class LogitsOnly(torch.nn.Module):
    """Wrap the classifier so the exported graph has the single output `logits`."""

    def __init__(self, model: BertForSequenceClassification) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids, attention_mask, token_type_ids)["logits"]


def main() -> int:
    parser = argparse.ArgumentParser(description="Export a BERT classifier folder to ONNX.")
    parser.add_argument("model_dir")
    parser.add_argument("--output", help="output path (default MODEL_DIR/onnx/model.onnx)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max absolute logit difference in the check")
    args = parser.parse_args()
    torch.set_num_threads(1)

    folder = Path(args.model_dir)
    output = Path(args.output) if args.output else folder / "onnx" / "model.onnx"
    output.parent.mkdir(parents=True, exist_ok=True)
    model = LogitsOnly(load_model(folder).eval())

    input_ids = torch.tensor([[101, 2009, 1005, 1055, 1037, 11951, 102], [101, 4895, 10258, 102, 0, 0, 0]])
    attention_mask = (input_ids != 0).long()
    token_type_ids = torch.zeros_like(input_ids)
    dynamic = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
               "token_type_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}
    torch.onnx.export(model, (input_ids, attention_mask, token_type_ids), str(output), opset_version=14,
                      input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
                      dynamic_axes=dynamic, do_constant_folding=True)
    graph = onnx.load(str(output))
    onnx.checker.check_model(graph)
    for value in list(graph.graph.input) + list(graph.graph.output):
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        print(f"{value.name}: {onnx.TensorProto.DataType.Name(value.type.tensor_type.elem_type)} {dims}")
    names = ([value.name for value in graph.graph.input], [value.name for value in graph.graph.output])
    if names != (["input_ids", "attention_mask", "token_type_ids"], ["logits"]):
        print(f"unexpected graph inputs and outputs {names}")
        return 1
    print(f"wrote {output}; onnx.checker passed")

    try:
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        print(f"onnx {onnx.__version__} has no reference evaluator; logits not compared")
        return 0
    with torch.no_grad():
        expected = model(input_ids, attention_mask, token_type_ids).numpy()
    feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy(), "token_type_ids": token_type_ids.numpy()}
    (actual,) = ReferenceEvaluator(graph).run(None, feeds)
    diff = float(np.abs(actual - expected).max())
    print(f"reference evaluator vs PyTorch: max logit difference {diff:.2e}")
    return 0 if diff <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
