#!/usr/bin/python3
"""Writes the PyTorch reference fixtures of the CNN layers and nets (tests/layers/fixtures/).

Layer fixtures (inputs drawn in float32, references computed in float64 from those
values and stored as F32).  Activations are stored channel-major, [C][N][H][W], the
layout of seqpipe's layers (spm-conv.h); weights in PyTorch's layout.
  cnn-conv.safetensors   per case cK: x, w, [b], dy, y, dx, dw, [db]
                         __metadata__ cK = "N Cin H W Cout kh kw sh sw ph pw bias"
  cnn-bn.safetensors     x [C][N][H][W], gamma, beta, rm, rv, dy;
                         train.{y,rm,rv,dx,dgamma,dbeta}, eval.{y,dx,dgamma,dbeta}
  cnn-pool.safetensors   per case pK: x (integer values: ties), dy, y, dx;
                         __metadata__ pK = "P H W k s p"
Whole nets, eval mode (torchvision's resnet18 without fc, and `small`): the weights
and the uint8 RGB frames come from a counter-based hash that the C test computes
too (test-cnn.c: hash_uniform), so only the expected features are stored:
  cnn-nets.safetensors   {small,resnet18}.{64,224} [2][D]
Train step of resnet18 (hash weights) on hash frames [2][64][64] (the first of
frames.train.K without a near-tie in the max pool; metadata "frames"), loss = sum(out * g),
g = hash "g" (2u - 1): the gradients of a subset of the tensors (45 MB in all):
  cnn-resnet-train.safetensors  out, grad.<name>, after.<name> (every running stat)
Train step of a tiny `small` (channels 4, 6) on x [2][3][12][10], loss = sum(out * g):
  cnn-train.safetensors  x, g, out, p.<name> (every state_dict tensor before the step),
                         grad.<name> (trainable), after.<name> (running stats after)

Run: /usr/bin/python3 tests/layers/gen_cnn_fixtures.py
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
M64 = (1 << 64) - 1


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


def cnhw(t):
    return t.transpose(0, 1).contiguous()


# ---- the counter-based hash shared with test-cnn.c ----

def fnv1a64(s):
    h = 0xcbf29ce484222325
    for c in s.encode():
        h = ((h ^ c) * 0x100000001b3) & M64
    return h


def mix(z):
    """splitmix64's finaliser over a uint64 array"""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xbf58476d1ce4e5b9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94d049bb133111eb)
    return z ^ (z >> np.uint64(31))


def hash_bits(name, n):
    i = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return mix(np.uint64(fnv1a64(name)) + i * np.uint64(0x9e3779b97f4a7c15))


def hash_uniform(name, n):
    """u in [0, 1) with 24 bits: exact in float32"""
    return ((hash_bits(name, n) >> np.uint64(40)).astype(np.float32) *
            np.float32(2.0 ** -24))


def hash_frames(name, shape):
    n = int(np.prod(shape))
    return (hash_bits(name, n) >> np.uint64(56)).astype(np.uint8).reshape(shape)


def hash_value(name, shape):
    """The value formula per tensor kind (test-cnn.c: hash_tensor)"""
    n = int(np.prod(shape))
    t = np.float32(2.0) * hash_uniform(name, n) - np.float32(1.0)   # exact
    if len(shape) == 4:
        s = np.float32(math.sqrt(6.0 / (shape[1] * shape[2] * shape[3])))
        v = t * s
    elif name.endswith("running_var"):
        v = np.float32(1.0) + np.float32(0.5) * t
    elif name.endswith("running_mean"):
        v = np.float32(0.2) * t
    elif name.endswith("weight"):
        v = np.float32(1.0) + np.float32(0.25) * t
    else:
        v = np.float32(0.1) * t
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def hash_load(module):
    sd = module.state_dict()
    new = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            new[k] = v
        else:
            new[k] = hash_value(k, tuple(v.shape))
    module.load_state_dict(new)


def normalise(frames):
    """uint8 [N][H][W][3] -> float32 [N][3][H][W] as ToTensor + Normalize"""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).to(torch.float32) / 255.0
    m = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - m) / s


class Small(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        layers = []
        cin = 3
        for c in channels:
            layers += [torch.nn.Conv2d(cin, c, 3, padding=1, bias=False),
                       torch.nn.BatchNorm2d(c), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            cin = c
        self.features = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3))


def resnet18_features():
    m = torchvision.models.resnet18()
    m.fc = torch.nn.Identity()
    return m


# ---- layers ----

CONV_CASES = [  # N Cin H W Cout kh kw sh sw ph pw bias
    (2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 1),
    (2, 3, 9, 8, 5, 3, 3, 2, 2, 0, 0, 1),
    (1, 4, 6, 6, 3, 1, 1, 1, 1, 0, 0, 0),
    (2, 3, 11, 10, 4, 7, 7, 2, 2, 3, 3, 1),
    (2, 4, 5, 7, 6, 1, 1, 2, 2, 0, 0, 0),
    (2, 3, 6, 7, 2, 2, 3, 1, 2, 0, 1, 1),
    (3, 2, 5, 5, 3, 3, 3, 2, 2, 1, 1, 0),
]


def gen_conv():
    torch.manual_seed(1)
    tensors, meta = {}, {}
    for k, (N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, bias) in enumerate(CONV_CASES):
        x = torch.randn(N, Ci, H, W)
        w = 0.5 * torch.randn(Co, Ci, kh, kw)
        b = torch.randn(Co) if bias else None
        x64 = x.double().requires_grad_()
        w64 = w.double().requires_grad_()
        b64 = b.double().requires_grad_() if bias else None
        y = torch.nn.functional.conv2d(x64, w64, b64, stride=(sh, sw), padding=(ph, pw))
        dy = torch.randn(y.shape)
        (y * dy.double()).sum().backward()
        p = "c%d." % k
        tensors[p + "x"] = cnhw(x)
        tensors[p + "w"] = w
        tensors[p + "dy"] = cnhw(dy)
        tensors[p + "y"] = cnhw(y)
        tensors[p + "dx"] = cnhw(x64.grad)
        tensors[p + "dw"] = w64.grad
        if bias:
            tensors[p + "b"] = b
            tensors[p + "db"] = b64.grad
        meta["c%d" % k] = " ".join(str(v) for v in (N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, bias))
    meta["cases"] = str(len(CONV_CASES))
    write_safetensors(os.path.join(OUT, "cnn-conv.safetensors"), tensors, meta)


def gen_bn():
    torch.manual_seed(2)
    N, C, H, W = 3, 4, 5, 3
    x = 1.5 * torch.randn(N, C, H, W) + 0.7
    gamma = torch.rand(C) + 0.5
    beta = 0.3 * torch.randn(C)
    rm = 0.2 * torch.randn(C)
    rv = torch.rand(C) + 0.5
    dy = torch.randn(N, C, H, W)
    t = {"x": cnhw(x), "gamma": gamma, "beta": beta, "rm": rm, "rv": rv, "dy": cnhw(dy)}
    for mode in ("train", "eval"):
        bn = torch.nn.BatchNorm2d(C).double()
        with torch.no_grad():
            bn.weight.copy_(gamma)
            bn.bias.copy_(beta)
            bn.running_mean.copy_(rm)
            bn.running_var.copy_(rv)
        bn.train(mode == "train")
        x64 = x.double().requires_grad_()
        y = bn(x64)
        (y * dy.double()).sum().backward()
        t[mode + ".y"] = cnhw(y)
        t[mode + ".dx"] = cnhw(x64.grad)
        t[mode + ".dgamma"] = bn.weight.grad
        t[mode + ".dbeta"] = bn.bias.grad
        if mode == "train":
            t["train.rm"] = bn.running_mean
            t["train.rv"] = bn.running_var
    write_safetensors(os.path.join(OUT, "cnn-bn.safetensors"), t,
                      {"N": str(N), "C": str(C), "H": str(H), "W": str(W)})


def gen_pool():
    torch.manual_seed(3)
    t, meta = {}, {}
    for k, (N, C, H, W, ks, s, p) in enumerate([(2, 3, 7, 6, 2, 2, 0), (2, 3, 9, 8, 3, 2, 1),
                                                (1, 2, 5, 5, 3, 2, 1)]):
        x = torch.randint(-3, 4, (N, C, H, W)).float()      # many ties
        x64 = x.double().requires_grad_()
        y = torch.nn.functional.max_pool2d(x64, ks, s, p)
        dy = torch.randn(y.shape)
        (y * dy.double()).sum().backward()
        q = "p%d." % k
        t[q + "x"] = cnhw(x)
        t[q + "dy"] = cnhw(dy)
        t[q + "y"] = cnhw(y)
        t[q + "dx"] = cnhw(x64.grad)
        meta["p%d" % k] = "%d %d %d %d %d %d" % (C * N, H, W, ks, s, p)
    meta["cases"] = "3"
    write_safetensors(os.path.join(OUT, "cnn-pool.safetensors"), t, meta)


# ---- nets ----

SMALL_CHANNELS = (32, 64, 128, 128)


def gen_nets():
    t = {}
    for arch in ("small", "resnet18"):
        m = Small(SMALL_CHANNELS) if arch == "small" else resnet18_features()
        hash_load(m)
        m = m.double().eval()
        for size in (64, 224):
            frames = hash_frames("frames.%d" % size, (2, size, size, 3))
            x = normalise(frames)
            with torch.no_grad():
                out = m(x.double())
            t["%s.%d" % (arch, size)] = out
            print("%s %d: |out| mean %.4g max %.4g" % (arch, size, out.abs().mean(), out.abs().max()))
    write_safetensors(os.path.join(OUT, "cnn-nets.safetensors"), t,
                      {"small_channels": ";".join(str(c) for c in SMALL_CHANNELS)})


def gen_train():
    torch.manual_seed(4)
    m = Small((4, 6))
    with torch.no_grad():
        for name, v in m.state_dict().items():
            if name.endswith("running_mean"):
                v.copy_(0.3 * torch.randn(v.shape))
            elif name.endswith("running_var"):
                v.copy_(torch.rand(v.shape) + 0.5)
            elif name.endswith("bias"):
                v.copy_(0.2 * torch.randn(v.shape))
            elif name.endswith("weight") and v.dim() == 1:
                v.copy_(torch.rand(v.shape) + 0.5)
    t = {}
    for name, v in m.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            t["p." + name] = v.clone()
    x = torch.randn(2, 3, 12, 10)
    g = torch.randn(2, 6)
    m = m.double().train()
    out = m(x.double())
    (out * g.double()).sum().backward()
    t["x"] = x
    t["g"] = g
    t["out"] = out
    for name, p in m.named_parameters():
        t["grad." + name] = p.grad
    for name, v in m.state_dict().items():
        if "running" in name:
            t["after." + name] = v
    write_safetensors(os.path.join(OUT, "cnn-train.safetensors"), t, {"channels": "4;6"})


RESNET_GRADS = ("conv1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight")


def gen_resnet_train():
    m = resnet18_features()
    hash_load(m)
    m = m.double().train()
    # Frames whose stem max pool has no near-tie: a window whose two largest values
    # differ by less than float32 resolves may pick the other one in float32, moving
    # a large gradient to a neighbour (seen: a gap of 1e-7 changed conv1's gradient by 2%).
    for k in range(1000):
        frames_name = "frames.train.%d" % k
        frames = hash_frames(frames_name, (2, 64, 64, 3))
        with torch.no_grad():
            z = torch.relu(m.bn1(m.conv1(normalise(frames).double())))
        u = torch.nn.functional.unfold(torch.nn.functional.pad(z, (1, 1, 1, 1), value=-1e9), 3,
                                       stride=2).view(2, 64, 9, -1)
        top = u.topk(2, dim=2).values
        gap = torch.where(top[:, :, 0] > 0, top[:, :, 0] - top[:, :, 1], torch.tensor(1e9))
        if gap.min() > 1e-5:
            break
    m = resnet18_features()
    hash_load(m)
    m = m.double().train()
    g = torch.from_numpy(2 * hash_uniform("g", 2 * 512) - 1).view(2, 512)
    out = m(normalise(frames).double())
    (out * g.double()).sum().backward()
    t = {"out": out}
    for name, p in m.named_parameters():
        if p.dim() == 1 or name in RESNET_GRADS:
            t["grad." + name] = p.grad
    for name, v in m.state_dict().items():
        if "running" in name:
            t["after." + name] = v
    write_safetensors(os.path.join(OUT, "cnn-resnet-train.safetensors"), t, {"frames": frames_name})


if __name__ == "__main__":
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    gen_conv()
    gen_bn()
    gen_pool()
    gen_nets()
    gen_train()
    gen_resnet_train()
