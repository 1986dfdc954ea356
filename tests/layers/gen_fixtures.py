#!/usr/bin/python3
"""Writes the PyTorch reference fixtures of the recurrent core (tests/layers/fixtures/).

For each cell (LSTM, RNN) and depth (1, 3 layers): torch.nn.LSTM / torch.nn.RNN
(batch_first=False) over sequences of unequal lengths (pack_padded_sequence), with
non-zero h0/c0, and the gradients of
    L = sum(y * dy) + sum(h_n * dh_n) [+ sum(c_n * dc_n)]
for a fixed upstream gradient (dy, dh_n, dc_n).  Parameters and inputs are drawn in
float32; the reference is computed in float64 from those same float32 values and
stored as F32.

File layout (safetensors, written by hand: 8-byte LE header size, JSON, raw F32):
  x [T,B,D]  lengths [B]  h0, c0 [L,B,H]  dy [T,B,H]  dhn, dcn [L,B,H]
  y [T,B,H]  hn, cn [L,B,H]
  weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}
  grad.x, grad.h0, grad.c0, grad.weight_ih_l{k}, ...
__metadata__: cell, layers, T, B, D, H.

Run: /usr/bin/python3 tests/layers/gen_fixtures.py
"""
import json
import os
import struct

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
T, B, D, H = 6, 3, 5, 4
LENGTHS = [6, 2, 4]


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        data = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def make(cell, layers, seed):
    torch.manual_seed(seed)
    cls = torch.nn.LSTM if cell == "lstm" else torch.nn.RNN
    mod = cls(D, H, num_layers=layers, batch_first=False)
    with torch.no_grad():
        for p in mod.parameters():
            p.uniform_(-0.6, 0.6)
    x32 = torch.randn(T, B, D)
    h032 = 0.5 * torch.randn(layers, B, H)
    c032 = 0.5 * torch.randn(layers, B, H)
    dy = torch.randn(T, B, H)
    dhn = torch.randn(layers, B, H)
    dcn = torch.randn(layers, B, H)

    mod64 = mod.double()
    x = x32.double().requires_grad_()
    h0 = h032.double().requires_grad_()
    c0 = c032.double().requires_grad_()
    packed = pack_padded_sequence(x, torch.tensor(LENGTHS), enforce_sorted=False)
    if cell == "lstm":
        out, (hn, cn) = mod64(packed, (h0, c0))
    else:
        out, hn = mod64(packed, h0)
    y, _ = pad_packed_sequence(out, total_length=T)
    loss = (y * dy.double()).sum() + (hn * dhn.double()).sum()
    if cell == "lstm":
        loss = loss + (cn * dcn.double()).sum()
    loss.backward()

    t = {"x": x32, "lengths": torch.tensor(LENGTHS, dtype=torch.float32), "h0": h032}
    if cell == "lstm":
        t["c0"] = c032
    t["dy"] = dy
    t["dhn"] = dhn
    if cell == "lstm":
        t["dcn"] = dcn
    t["y"] = y
    t["hn"] = hn
    if cell == "lstm":
        t["cn"] = cn
    for name, p in mod64.named_parameters():
        t[name] = p
    t["grad.x"] = x.grad
    t["grad.h0"] = h0.grad
    if cell == "lstm":
        t["grad.c0"] = c0.grad
    for name, p in mod64.named_parameters():
        t["grad." + name] = p.grad
    meta = {"cell": cell, "layers": str(layers), "T": str(T), "B": str(B),
            "D": str(D), "H": str(H)}
    path = os.path.join(HERE, "fixtures", f"{cell}-l{layers}.safetensors")
    write_safetensors(path, t, meta)
    print(path)


if __name__ == "__main__":
    os.makedirs(os.path.join(HERE, "fixtures"), exist_ok=True)
    torch.set_num_threads(1)
    for i, (cell, layers) in enumerate([("lstm", 1), ("lstm", 3), ("rnn", 1), ("rnn", 3)]):
        make(cell, layers, 1234 + i)
