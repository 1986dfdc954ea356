#!/usr/bin/python3
"""Writes fixtures/reference.safetensors and fixtures/reference.json.

The .safetensors file is laid out as the reference safetensors library lays out
torch tensors: data sorted by dtype size (largest first) then by name, the
header padded with spaces to a multiple of 8.  Its header keys are deliberately
not in data order and __metadata__ comes last, as writers that serialise a hash
map produce, so the reader is tested on key order it cannot rely on.
The .json file holds what a reader must return: each tensor's shape and its
values converted to float32 (non-finite values as the strings nan/inf/-inf).

Run: /usr/bin/python3 tests/formats/gen_safetensors_fixture.py
"""
import json
import math
import os
import struct

import torch

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DTYPES = {torch.float32: ("F32", 4), torch.float64: ("F64", 8),
          torch.float16: ("F16", 2), torch.bfloat16: ("BF16", 2)}


def tensors():
    g = torch.Generator().manual_seed(7)
    special = [0.0, -0.0, 1.0, -2.5, float("inf"), float("-inf"), float("nan")]
    return {
        "lstm.weight_ih_l0": torch.randn(4, 3, generator=g),
        "head.bias": torch.tensor(special, dtype=torch.float32),
        "f64.values": torch.tensor([1 / 3, 1e-50, 1e300, -1e-300, 0.1] + special,
                                   dtype=torch.float64),
        "f16.values": torch.tensor([65504.0, 6.1e-5, 5.96e-8, 3e-6, 0.333] + special,
                                   dtype=torch.float16).reshape(3, 4),
        "bf16.values": torch.tensor([1e38, 1e-38, 3.14159, -0.007, 9.2e-41] + special,
                                    dtype=torch.bfloat16).reshape(2, 1, 6),
        "empty": torch.zeros(0, 4),
    }


def raw_bytes(t):
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
    return t.contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def as_json_value(x):
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def main():
    ts = tensors()
    metadata = {"format": "seqpipe-1", "head": "labeler", "labels": json.dumps(["a", "b"])}
    order = sorted(ts, key=lambda n: (-DTYPES[ts[n].dtype][1], n))
    entries, data, at = {}, b"", 0
    for name in order:
        b = raw_bytes(ts[name])
        entries[name] = {"dtype": DTYPES[ts[name].dtype][0], "shape": list(ts[name].shape),
                         "data_offsets": [at, at + len(b)]}
        data += b
        at += len(b)
    header = {name: entries[name] for name in sorted(entries, reverse=True)}
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(HERE, "reference.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)

    expect = {"tensors": {}, "metadata": metadata}
    for name, t in ts.items():
        vals = t.to(torch.float32).reshape(-1).tolist()
        expect["tensors"][name] = {"shape": list(t.shape),
                                   "values": [as_json_value(v) for v in vals]}
    with open(os.path.join(HERE, "reference.json"), "w") as f:
        json.dump(expect, f, indent=1, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
