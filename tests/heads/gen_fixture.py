#!/usr/bin/python3
"""Writes the labeler reference fixture: tests/heads/fixtures/
  features.npy       float32 (T, D) input features
  labeler.safetensors a 2-layer LSTM labeler with norm tensors, made by PyTorch
  expected.csv       per-frame probabilities of PyTorch's forward pass (T rows, C columns)
Run with /usr/bin/python3 (torch 1.13).  The safetensors file is written by hand (the
format is an 8-byte little-endian header size, a JSON header, raw data)."""
import json
import os
import struct

import numpy as np
import torch

T, D, H, L, C = 37, 6, 8, 2, 3
LABELS = ["walk", "run", "sit"]
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
os.makedirs(out, exist_ok=True)
torch.manual_seed(5)


class Labeler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(D, H, num_layers=L)
        self.head = torch.nn.Linear(H, C)


m = Labeler()
mean = torch.randn(D) * 0.5
std = torch.rand(D) + 0.5
x = (torch.randn(T, D) * std + mean).float()
with torch.no_grad():
    y, _ = m.lstm(((x - mean) / std).unsqueeze(1))
    probs = torch.softmax(m.head(y.squeeze(1)), dim=1)

np.save(os.path.join(out, "features.npy"), x.numpy().astype(np.float32))
with open(os.path.join(out, "expected.csv"), "w") as f:
    for row in probs.numpy():
        f.write(",".join("%.9g" % v for v in row) + "\n")

tensors = dict(m.state_dict())
tensors["norm.mean"] = mean
tensors["norm.std"] = std
header = {"__metadata__": {"format": "seqpipe-1", "head": "labeler", "cell": "lstm",
                           "hidden": str(H), "layers": str(L), "feature_dim": str(D),
                           "labels": json.dumps(LABELS)}}
blobs, off = [], 0
for name, t in tensors.items():
    b = t.detach().contiguous().float().numpy().astype("<f4").tobytes()
    header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(out, "labeler.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
print("fixture written to", out)
