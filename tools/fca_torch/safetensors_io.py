"""Read and write the safetensors format without the `safetensors` package.

Layout: an 8-byte little-endian header length, a JSON header mapping each
tensor name to {dtype, shape, data_offsets}, then the raw little-endian bytes.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Dict

import numpy as np
import torch

_NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
_SAVE_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path: str | Path) -> Dict[str, torch.Tensor]:
    """Load every tensor of a safetensors file; F16 and BF16 come back as float32."""
    data = Path(path).read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors: Dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = data[base + start : base + end]
        dtype, shape = info["dtype"], info["shape"]
        if dtype == "BF16":
            # BF16 is the upper half of a float32: shift it back into place.
            halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = halves.view(np.float32)
        elif dtype in _NUMPY_DTYPES:
            array = np.frombuffer(raw, dtype=np.dtype(_NUMPY_DTYPES[dtype]).newbyteorder("<"))
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}; expected F32, F16, BF16, I32 or I64")
        tensor = torch.from_numpy(array.copy()).reshape(shape)
        tensors[name] = tensor.float() if tensor.is_floating_point() else tensor
    return tensors


def save_safetensors(tensors: Dict[str, torch.Tensor], path: str | Path, dtype: str = "F32") -> None:
    """Write floating-point tensors as `dtype` (F32, F16 or BF16) in sorted name order."""
    if dtype not in _SAVE_DTYPES:
        raise ValueError(f"invalid dtype {dtype!r}; expected one of {sorted(_SAVE_DTYPES)}")
    header: Dict[str, dict] = {"__metadata__": {"format": "pt"}}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous().to(_SAVE_DTYPES[dtype])
        if dtype == "BF16":
            raw = tensor.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = tensor.numpy().astype(tensor.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(header_bytes)))
        out.write(header_bytes)
        for raw in chunks:
            out.write(raw)
