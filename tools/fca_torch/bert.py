"""BERT for sequence classification with FCA token reduction in the forward pass.

The module tree mirrors Hugging Face `BertForSequenceClassification`, so its
state dict uses the same names (`bert.embeddings...`, `bert.encoder.layer.N...`,
`bert.pooler.dense`, `classifier`). The model is post-LayerNorm with erf GELU.

FCA (fine- and coarse-granularity hybrid self-attention) runs inside each
encoder layer between the attention sub-layer and the feed-forward sub-layer.
Every token is scored by the attention it receives from the other real tokens
(mean over heads, diagonal excluded). [CLS] and the best `r - 1` tokens stay
as they are in their current order. The remaining T real tokens (the tail)
are merged into `min(K, T)` contiguous groups whose members are averaged with
softmax(score) weights renormalised per group. A layer whose output would not
be shorter leaves the sequence unchanged. Each sequence of a batch is reduced
on its own, and padding is never selected or merged.
"""
from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .safetensors_io import load_safetensors, save_safetensors

TOKENIZER_FILES = ("vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json")


@dataclass
class BertConfig:
    """The config.json fields this model reads."""

    vocab_size: int = 30522
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    num_labels: int = 2
    raw: Dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, path: str | Path) -> "BertConfig":
        raw = json.loads(Path(path).read_text())
        act = raw.get("hidden_act", "gelu")
        if act != "gelu":
            raise ValueError(f"{path}: hidden_act {act!r} is not supported; expected 'gelu' (erf form)")
        names = [name for name in cls.__dataclass_fields__ if name != "raw"]
        values = {name: raw[name] for name in names if name in raw}
        if "num_labels" not in raw and "id2label" in raw:
            values["num_labels"] = len(raw["id2label"])
        return cls(**values, raw=raw)


@dataclass
class FcaSettings:
    """Retention per layer (fractions of each sequence's real length, or counts) and cluster count K."""

    fractions: Optional[List[float]] = None
    counts: Optional[List[int]] = None
    clusters: int = 0
    weighted: bool = True

    def __post_init__(self) -> None:
        if (self.fractions is None) == (self.counts is None):
            raise ValueError("FcaSettings needs exactly one of fractions or counts; both or neither were given")
        if self.fractions is not None:
            for value in self.fractions:
                if not 0.0 < value <= 1.0:
                    raise ValueError(f"invalid retention fraction {value}; fractions must lie in (0, 1]")
        if self.counts is not None:
            for value in self.counts:
                if value < 1:
                    raise ValueError(f"invalid retention count {value}; counts must be at least 1")
        if self.clusters < 0:
            raise ValueError(f"invalid cluster count {self.clusters}; K must be 0 or more")

    @property
    def num_layers(self) -> int:
        return len(self.fractions if self.fractions is not None else self.counts)

    def retention_counts(self, lengths: Sequence[int]) -> torch.Tensor:
        """Return r per sequence and layer, shape (batch, layers), from real input lengths n0.

        A fraction f keeps max(1, ceil(f * n0 - 1e-6)) tokens, computed in double
        precision so that 0.7 of 10 keeps 7.
        """
        rows = []
        for n0 in lengths:
            if self.fractions is not None:
                rows.append([max(1, math.ceil(f * n0 - 1e-6)) for f in self.fractions])
            else:
                rows.append(list(self.counts))
        return torch.tensor(rows, dtype=torch.long)


def encoder_flops(tokens_in: int, tokens_per_layer: Sequence[int], hidden: int, ffn: int) -> int:
    """Count encoder FLOPs (2 per multiply-add) for one sequence given each layer's output length."""
    total = 0
    n_in = tokens_in
    for n_out in tokens_per_layer:
        total += 8 * n_in * hidden * hidden + 4 * n_in * n_in * hidden + 4 * n_out * hidden * ffn
        n_in = n_out
    return total


def token_scores(probs: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Score each key position by the attention it receives from the other real query rows.

    probs: (batch, heads, n, n) attention probabilities; valid: (batch, n) real-token mask.
    Returns (batch, n): mean over heads of the column sum over real rows minus the diagonal.
    """
    real_rows = valid[:, None, :, None].to(probs.dtype)
    received = (probs * real_rows).sum(dim=2)
    diagonal = probs.diagonal(dim1=2, dim2=3) * valid[:, None, :].to(probs.dtype)
    return (received - diagonal).mean(dim=1)


def rank_tokens(scores: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Return each position's rank (0 = best): [CLS] first, then by score, ties to the lower position, padding last."""
    key = scores.detach().clone()
    key[:, 0] = float("inf")
    key = key.masked_fill(~valid, float("-inf"))
    order = torch.sort(-key, dim=1, stable=True).indices
    ranks = torch.empty_like(order)
    positions = torch.arange(order.shape[1], device=order.device).expand_as(order)
    ranks.scatter_(1, order, positions)
    return ranks


def fca_reduce(hidden: torch.Tensor, valid: torch.Tensor, probs: torch.Tensor, retention: torch.Tensor,
               clusters: int, weighted: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Shorten each sequence to its fine tokens plus at most `clusters` weighted tail averages.

    hidden: (batch, n, D); valid: (batch, n) bool; probs: (batch, heads, n, n);
    retention: (batch,) fine-token count r per sequence, [CLS] included.
    Returns the new hidden states (batch, n', D) and their real-token mask.
    The output is a fixed linear map of the input per sequence (a 0/1 row per
    fine token, a convex combination per cluster), built as a matrix so the
    whole batch reduces in one batched matmul.
    """
    batch, n, _ = hidden.shape
    scores = token_scores(probs, valid)
    ranks = rank_tokens(scores, valid)

    lengths = valid.sum(dim=1)
    kept = torch.minimum(retention.to(lengths.device), lengths)
    tail_size = lengths - kept
    num_clusters = torch.clamp(tail_size, max=clusters)
    reduces = kept + num_clusters < lengths
    new_lengths = torch.where(reduces, kept + num_clusters, lengths)

    fine = valid & ((ranks < kept[:, None]) | ~reduces[:, None])
    tail = valid & ~fine
    merged = tail & (num_clusters[:, None] > 0)

    fine_slot = torch.cumsum(fine.long(), dim=1) - 1
    tail_index = torch.cumsum(tail.long(), dim=1) - 1
    group = (tail_index * num_clusters[:, None]) // torch.clamp(tail_size, min=1)[:, None]
    cluster_slot = kept[:, None] + group

    if weighted:
        tail_scores = scores.masked_fill(~merged, float("-inf"))
        shift = tail_scores.max(dim=1, keepdim=True).values.detach()
        shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
        weights = torch.exp(tail_scores - shift)
    else:
        weights = merged.to(hidden.dtype)
    weights = weights * merged.to(hidden.dtype)
    group_index = torch.where(merged, group, torch.zeros_like(group))
    group_sums = torch.zeros(batch, max(clusters, 1), dtype=hidden.dtype, device=hidden.device)
    group_sums = group_sums.scatter_add(1, group_index, weights)
    weights = weights / torch.gather(group_sums, 1, group_index).clamp_min(1e-30)

    out_len = int(new_lengths.max())
    spare = out_len  # an extra row that collects padding and dropped tokens, sliced off below
    slot = torch.where(fine, fine_slot, torch.where(merged, cluster_slot, torch.full_like(fine_slot, spare)))
    value = torch.where(fine, torch.ones_like(weights), weights)
    combine = torch.zeros(batch, out_len + 1, n, dtype=hidden.dtype, device=hidden.device)
    combine = combine.scatter(1, slot[:, None, :], value[:, None, :])[:, :out_len]
    new_hidden = torch.bmm(combine, hidden)
    new_valid = torch.arange(out_len, device=hidden.device)[None, :] < new_lengths[:, None]
    return new_hidden, new_valid


def soft_extract(hidden: torch.Tensor, valid: torch.Tensor, probs: torch.Tensor, lengths0: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
    """Scale each token by a learned mask value indexed by its score rank (PoWER-BERT soft extraction).

    mask: (buckets,) values in [0, 1]; the token of rank k in a sequence of n0
    real input tokens uses bucket floor(k * buckets / n0), so the mask is a
    retention profile over fractions of the sequence's own length. [CLS] is
    never scaled.
    """
    buckets = mask.shape[0]
    scores = token_scores(probs, valid)
    ranks = rank_tokens(scores, valid)
    bucket = torch.clamp((ranks * buckets) // lengths0[:, None], max=buckets - 1)
    scale = mask[bucket]
    scale = torch.where(ranks == 0, torch.ones_like(scale), scale) * valid.to(hidden.dtype)
    return hidden * scale[..., None]


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None, :]
        summed = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(summed))


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.heads = config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, hidden: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the context vectors (batch, n, D) and the attention probabilities before dropout."""
        batch, n, width = hidden.shape
        head_dim = width // self.heads

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(batch, n, self.heads, head_dim).transpose(1, 2)

        query, key, value = split(self.query(hidden)), split(self.key(hidden)), split(self.value(hidden))
        logits = query @ key.transpose(-1, -2) / math.sqrt(head_dim)
        logits = logits.masked_fill(~valid[:, None, None, :], float("-inf"))
        probs = torch.softmax(logits, dim=-1)
        context = (self.dropout(probs) @ value).transpose(1, 2).reshape(batch, n, width)
        return context, probs


class BertDenseOutput(nn.Module):
    """Dense projection, dropout, residual add and LayerNorm (`attention.output` and `output` in HF)."""

    def __init__(self, in_size: int, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(in_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertDenseOutput(config.hidden_size, config)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertDenseOutput(config.intermediate_size, config)

    def forward(self, hidden: torch.Tensor, valid: torch.Tensor, retention: Optional[torch.Tensor] = None,
                clusters: int = 0, weighted: bool = True, soft_mask: Optional[torch.Tensor] = None,
                lengths0: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Run attention, the optional FCA reduction (or soft extraction), then the feed-forward sub-layer."""
        context, probs = self.attention.self(hidden, valid)
        hidden = self.attention.output(context, hidden)
        if retention is not None:
            hidden, valid = fca_reduce(hidden, valid, probs, retention, clusters, weighted)
        elif soft_mask is not None:
            hidden = soft_extract(hidden, valid, probs, lengths0, soft_mask)
        ffn = F.gelu(self.intermediate.dense(hidden))
        return self.output(ffn, hidden), valid


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)


class BertModel(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)


class BertForSequenceClassification(nn.Module):
    """BERT classifier whose forward pass optionally applies FCA or soft extraction per layer."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None, fca: Optional[FcaSettings] = None,
                soft_masks: Optional[Sequence[torch.Tensor]] = None) -> Dict[str, torch.Tensor]:
        """Return {"logits": (batch, labels), "tokens_per_layer": (batch, layers)}.

        With `fca`, each layer keeps its retention count of fine tokens plus
        clusters. With `soft_masks` (one per layer), tokens are scaled by rank
        instead and no sequence shrinks.
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        valid = attention_mask.bool()
        lengths0 = valid.sum(dim=1)
        layers = self.bert.encoder.layer
        retention = None
        if fca is not None:
            if fca.num_layers != len(layers):
                raise ValueError(f"FCA settings give {fca.num_layers} layers but the model has {len(layers)}; give one retention value per layer")
            retention = fca.retention_counts(lengths0.tolist()).to(input_ids.device)

        hidden = self.bert.embeddings(input_ids, token_type_ids)
        tokens_per_layer = []
        for index, layer in enumerate(layers):
            hidden, valid = layer(
                hidden, valid,
                retention=None if retention is None else retention[:, index],
                clusters=fca.clusters if fca is not None else 0,
                weighted=fca.weighted if fca is not None else True,
                soft_mask=None if soft_masks is None else soft_masks[index],
                lengths0=lengths0,
            )
            tokens_per_layer.append(valid.sum(dim=1))
        pooled = torch.tanh(self.bert.pooler.dense(hidden[:, 0]))
        logits = self.classifier(self.dropout(pooled))
        return {"logits": logits, "tokens_per_layer": torch.stack(tokens_per_layer, dim=1)}


def load_model(folder: str | Path) -> BertForSequenceClassification:
    """Load a Hugging Face BERT classification folder (config.json, model.safetensors) as float32."""
    folder = Path(folder)
    config = BertConfig.from_json(folder / "config.json")
    model = BertForSequenceClassification(config)
    tensors = load_safetensors(folder / "model.safetensors")
    state = {}
    for name, tensor in tensors.items():
        if name.endswith("position_ids"):
            continue
        if not name.startswith("bert.") and not name.startswith("classifier."):
            name = "bert." + name
        state[name] = tensor
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{folder}/model.safetensors: missing weights {missing[:5]}, unexpected weights {unexpected[:5]}")
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(f"{folder}: weight {name} has shape {tuple(tensor.shape)}, expected {tuple(expected[name].shape)}")
    model.load_state_dict(state)
    return model


def save_model(model: BertForSequenceClassification, folder: str | Path, source: str | Path, dtype: str = "F16") -> None:
    """Write config.json (copied from `source`), model.safetensors as `dtype` and the tokenizer files of `source`."""
    folder, source = Path(folder), Path(source)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "config.json", folder / "config.json")
    for name in TOKENIZER_FILES:
        if (source / name).exists():
            shutil.copyfile(source / name, folder / name)
    save_safetensors(model.state_dict(), folder / "model.safetensors", dtype=dtype)
