#!/usr/bin/python3
"""Reference fixtures of the trainer, the optimizers and clipping, made with PyTorch 1.13.

    /usr/bin/python3 tests/train/gen_fixtures.py            # write fixtures/*.safetensors
    /usr/bin/python3 tests/train/gen_fixtures.py --check    # only check the seqpipe-written
                                                            # checkpoints against torch

Files (safetensors written by hand below, float32):
  optim-adam / optim-sgd:  p0 [N], g1..g10 [N] gradients, p1..p10 parameters after each
                           torch.optim step; metadata lr, momentum, weight_decay.
  clip:                    a [N], b [N] (two cases), max norms, clipped gradients, norms.
  tbptt-NAME.model:        a seqpipe checkpoint (the initial weights, torch's init).
  tbptt-NAME.data:         the batch (x / f, targets, lengths), the training settings, and
                           step{i}.{tensor}: every weight after update i of the detach loop,
                           loss{i}: the loss of update i.  The weighted-* cases add
                           class_weights [C] (cross_entropy(weight=...)) and an lr schedule
                           (lr_schedule, epochs: the torch scheduler stepped after each
                           epoch), and epoch_loss{e}: the weighted mean loss of epoch e.
  xent-weighted:           logits [N][C], targets [N] (-1 ignored), weights [C]; loss =
                           cross_entropy(weight, ignore_index=-1, mean) and its gradient
                           dlogits, computed in float64 from the float32 inputs.
  lr-schedules:            metadata "{cosine|step}.{E}.{lr}": the lr of every epoch (repr of
                           the Python floats, comma-separated) that CosineAnnealingLR(T_max=E)
                           and MultiStepLR([E//2, 3E//4], 0.1) give, stepped once per epoch.
The torch side runs the same masked recurrence as seqpipe: a padded step leaves (h, c)
as they were and outputs 0; each chunk of k steps is one update, the state entering it
is detached; the loss is the mean cross-entropy over the chunk's valid targets.

Finally, when fixtures/seqpipe-*.safetensors exist (written by seqpipe's test
`test-train-checkpoint --write-fixtures`), each is loaded with load_state_dict(strict=True)
into the matching torch module, run on the input stored beside it, and compared with the
outputs seqpipe stored.
"""
import json
import os
import struct
import sys

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    # the check of seqpipe-written checkpoints needs PyTorch; without it there is nothing to do
    print("PyTorch is not present (use /usr/bin/python3 with torch 1.13)", file=sys.stderr)
    sys.exit(0 if "--check" in sys.argv else 1)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")


# ---- safetensors by hand -----------------------------------------------------------
def write_st(path, tensors, meta=None):
    header = {}
    if meta:
        header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    blobs, off = [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_st(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, d in header.items():
        assert d["dtype"] == "F32", name
        b, e = d["data_offsets"]
        buf = bytearray(data[8 + n + b:8 + n + e])
        out[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(d["shape"]).clone()
    return out, meta


# ---- the model -------------------------------------------------------------------
class Norm(nn.Module):
    def __init__(self, D):
        super().__init__()
        self.register_buffer("mean", torch.zeros(D))
        self.register_buffer("std", torch.ones(D))


class Net(nn.Module):
    """Attribute names give DESIGN §8's tensor names in state_dict()."""

    def __init__(self, head, cell, D, H, L, C, E=0, norm=False, pool="last"):
        super().__init__()
        self.head_kind, self.cell, self.pool, self.L, self.H = head, cell, pool, L, H
        D_in = (E or H) if head == "captioner" else D
        core = nn.LSTM if cell == "lstm" else nn.RNN
        setattr(self, cell, core(D_in, H, L))
        self.head = nn.Linear(H, C)
        if head == "captioner":
            self.embed = nn.Embedding(C, E or H)
            self.proj = nn.Linear(D, H)
        if norm:
            self.norm = Norm(D)

    def core(self):
        return getattr(self, self.cell)

    def normed(self, x):
        return (x - self.norm.mean) / self.norm.std if hasattr(self, "norm") else x

    def step(self, l, x, h, c):
        """one masked-free step of layer l: x [B][in], h, c [B][H]"""
        m = self.core()
        g = (x @ getattr(m, f"weight_ih_l{l}").T + getattr(m, f"bias_ih_l{l}")
             + h @ getattr(m, f"weight_hh_l{l}").T + getattr(m, f"bias_hh_l{l}"))
        if self.cell == "rnn":
            return torch.tanh(g), c
        i, f, gg, o = g.chunk(4, 1)
        c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
        return torch.sigmoid(o) * torch.tanh(c2), c2

    def chunk(self, xs, valid, h, c):
        """xs [k][B][in] layer-0 inputs; valid [k][B]; h, c lists of [B][H].
        Returns top outputs [k][B][H] (0 at padding) and the new state."""
        h, c, ys = list(h), list(c), []
        for t in range(xs.shape[0]):
            inp = xs[t]
            m = valid[t][:, None].float()
            for l in range(self.L):
                hn, cn = self.step(l, inp, h[l], c[l])
                h[l] = m * hn + (1 - m) * h[l]
                c[l] = m * cn + (1 - m) * c[l]
                inp = m * hn
            ys.append(inp)
        return torch.stack(ys), h, c


def check_step_matches_torch(net, D_in):
    """the hand-written recurrence equals nn.LSTM / nn.RNN on an unpadded sequence"""
    x = torch.randn(5, 2, D_in)
    ref, _ = net.core()(x)
    z = [torch.zeros(2, net.H) for _ in range(net.L)]
    ours, _, _ = net.chunk(x, torch.ones(5, 2, dtype=torch.bool), z, list(z))
    assert torch.allclose(ours, ref, atol=1e-6), "masked recurrence differs from torch"


# ---- the detach loop ---------------------------------------------------------------
def tbptt(net, batch, k, opt, clip, weight=None, sums=None):
    """batch: dict with lens [B] and x [B][T][D] (+ y [B][T] labeler, y [B] classifier,
    f [B][D] and tokens [B][N] captioner).  One update per chunk with a valid target.
    Returns the list of (loss, {name: tensor}) after every update."""
    lens = batch["lens"]
    B, T = len(lens), max(lens)
    H = net.H
    cap = net.head_kind == "captioner"
    h = [torch.zeros(B, H) for _ in range(net.L)]
    c = [torch.zeros(B, H) for _ in range(net.L)]
    pool = torch.zeros(B, H)
    steps = []
    for t0 in range(0, T, k):
        kc = min(k, T - t0)
        valid = torch.tensor([[t0 + s < lens[b] for b in range(B)] for s in range(kc)])
        if cap:
            if t0 == 0:
                h0 = net.proj(net.normed(batch["f"]))
                h = [h0 for _ in range(net.L)]
            tok = torch.stack([torch.tensor([batch["tokens"][b][t0 + s] if valid[s, b] else 0
                                             for b in range(B)]) for s in range(kc)])
            xs = net.embed(tok)
            tgt = torch.tensor([[batch["tokens"][b][t0 + s + 1] if valid[s, b] else -1
                                 for b in range(B)] for s in range(kc)])
        else:
            xs = net.normed(batch["x"][:, t0:t0 + kc].transpose(0, 1)) * valid[:, :, None]
        ys, hn, cn = net.chunk(xs, valid, h, c)
        if net.head_kind == "classifier":
            ends = [t0 <= lens[b] - 1 < t0 + kc for b in range(B)]
            chunk_sum = ys.sum(0)
            total = pool.detach() + chunk_sum
            rows = []
            for b in range(B):
                if not ends[b]:
                    continue
                v = ys[lens[b] - 1 - t0, b] if net.pool == "last" else total[b] / lens[b]
                rows.append(v)
            pool = total.detach()
            logits = net.head(torch.stack(rows)) if rows else None
            targets = torch.tensor([int(batch["y"][b]) for b in range(B) if ends[b]])
        else:
            if not cap:
                tgt = torch.stack([torch.tensor([int(batch["y"][b][t0 + s]) if valid[s, b] else -1
                                                 for b in range(B)]) for s in range(kc)])
            logits = net.head(ys.reshape(-1, H))
            targets = tgt.reshape(-1)
            keep = targets >= 0
            logits, targets = (logits[keep], targets[keep]) if keep.any() else (None, None)
        if logits is not None:
            loss = F.cross_entropy(logits, targets, weight=weight)
            if sums is not None:   # the epoch's Σ w nll and Σ w
                w = weight[targets] if weight is not None else torch.ones(len(targets))
                sums[0] += loss.item() * w.sum().item()
                sums[1] += w.sum().item()
            opt.zero_grad()
            loss.backward()
            if clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
            steps.append((loss.item(), {n: p.detach().clone() for n, p in net.named_parameters()}))
        h = [v.detach() for v in hn]
        c = [v.detach() for v in cn]
    return steps


def checkpoint_meta(net, head, cell, names, D):
    meta = {"format": "seqpipe-1", "head": head, "cell": cell, "hidden": net.H,
            "layers": net.L, "feature_dim": D,
            ("vocab" if head == "captioner" else "labels"): json.dumps(names)}
    if head == "classifier":
        meta["pool"] = net.pool
    return meta


def tbptt_case(name, head, cell, D, H, L, C, lens, k, optim, clip, E=0, norm=False,
               pool="last", seed=0, weights=None, schedule=None, epochs=2):
    torch.manual_seed(seed)
    net = Net(head, cell, D, H, L, C, E, norm, pool)
    check_step_matches_torch(net, (E or H) if head == "captioner" else D)
    if norm:
        net.norm.mean.copy_(torch.randn(D) * 0.5)
        net.norm.std.copy_(torch.rand(D) + 0.5)
    names = ["<null>", "<start>", "<end>", "<unk>"] + [f"w{i}" for i in range(C - 4)] \
        if head == "captioner" else [f"class{i}" for i in range(C)]
    write_st(os.path.join(OUT, f"tbptt-{name}.model.safetensors"),
             {n: t for n, t in net.state_dict().items()}, checkpoint_meta(net, head, cell, names, D))

    B, T = len(lens), max(lens)
    batch = {"lens": lens}
    data = {"lens": torch.tensor(lens, dtype=torch.float32)}
    if head == "captioner":
        batch["f"] = torch.randn(B, D)
        toks = torch.zeros(B, T + 1, dtype=torch.long)
        for b, n in enumerate(lens):   # <start> w.. <end>: n inputs, n targets
            toks[b, 0] = 1
            toks[b, 1:n] = torch.randint(3, C, (n - 1,))
            toks[b, n] = 2
        batch["tokens"] = toks.tolist()
        data["f"] = batch["f"]
        data["tokens"] = toks.float()
    else:
        x = torch.randn(B, T, D)
        for b, n in enumerate(lens):
            x[b, n:] = 0
        batch["x"] = x
        data["x"] = x
        if head == "labeler":
            y = torch.randint(0, C, (B, T))
            y[torch.rand(B, T) < 0.2] = -1   # unlabelled frames
            batch["y"] = y.tolist()
            data["y"] = y.float()
        else:
            y = torch.randint(0, C, (B,))
            batch["y"] = y.tolist()
            data["y"] = y.float()

    kind, kw = optim
    opt = (torch.optim.Adam if kind == "adam" else torch.optim.SGD)(net.parameters(), **kw)
    sched = None
    if schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=0)
    elif schedule == "step":
        sched = torch.optim.lr_scheduler.MultiStepLR(
            opt, milestones=[epochs // 2, (3 * epochs) // 4], gamma=0.1)
    w = torch.tensor(weights, dtype=torch.float32) if weights is not None else None
    steps = []
    for e in range(epochs):
        sums = [0.0, 0.0]
        steps += tbptt(net, batch, k, opt, clip, w, sums)
        if weights is not None:
            data[f"epoch_loss{e}"] = torch.tensor([sums[0] / sums[1]])
        if sched is not None:
            sched.step()
    for i, (loss, params) in enumerate(steps, 1):
        data[f"loss{i}"] = torch.tensor([loss])
        for n, p in params.items():
            data[f"step{i}.{n}"] = p
    meta = {"optimizer": kind, "lr": kw["lr"], "momentum": kw.get("momentum", 0),
            "weight_decay": kw.get("weight_decay", 0), "clip": clip, "tbptt": k,
            "steps": len(steps), "epochs": epochs}
    if weights is not None:
        data["class_weights"] = w
    if schedule is not None:
        meta["lr_schedule"] = schedule
    write_st(os.path.join(OUT, f"tbptt-{name}.data.safetensors"), data, meta)
    print(f"tbptt-{name}: {len(steps)} updates")


# ---- optimizers and clipping ---------------------------------------------------------
def optim_case(name, kind, **kw):
    torch.manual_seed(7)
    N = 64
    p = nn.Parameter(torch.randn(N))
    out = {"p0": p.detach().clone()}
    opt = (torch.optim.Adam if kind == "adam" else torch.optim.SGD)([p], **kw)
    for i in range(1, 11):
        g = torch.randn(N) * (0.1 * i)
        out[f"g{i}"] = g
        p.grad = g.clone()
        opt.step()
        out[f"p{i}"] = p.detach().clone()
    meta = {"lr": kw["lr"], "momentum": kw.get("momentum", 0),
            "weight_decay": kw.get("weight_decay", 0)}
    write_st(os.path.join(OUT, f"optim-{name}.safetensors"), out, meta)


def clip_case():
    torch.manual_seed(11)
    out, meta = {}, {}
    for case, scale, max_norm in (("a", 3.0, 1.0), ("b", 0.01, 5.0)):
        parts = [torch.randn(n) * scale for n in (10, 7, 30)]
        flat = torch.cat(parts)
        ps = [nn.Parameter(torch.zeros(n)) for n in (10, 7, 30)]
        for q, g in zip(ps, parts):
            q.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
        out[f"{case}.g"] = flat
        out[f"{case}.clipped"] = torch.cat([q.grad for q in ps])
        out[f"{case}.norm"] = torch.tensor([total.item()])
        meta[f"{case}.max_norm"] = max_norm
    write_st(os.path.join(OUT, "clip.safetensors"), out, meta)


# ---- weighted cross-entropy and lr schedules ----------------------------------------
def xent_weighted_case():
    torch.manual_seed(21)
    N, C = 9, 4
    logits = torch.randn(N, C) * 2
    logits[2, 1] = 40.0                     # a confident row stays finite
    targets = torch.tensor([1, -1, 3, 0, 2, -1, 3, 1, 0])
    weights = torch.tensor([0.5, 2.0, 0.0, 1.25])   # class 2 weighs nothing
    l64 = logits.double().requires_grad_(True)
    loss = F.cross_entropy(l64, targets, weight=weights.double(), ignore_index=-1)
    loss.backward()
    write_st(os.path.join(OUT, "xent-weighted.safetensors"),
             {"logits": logits, "targets": targets.float(), "weights": weights,
              "loss": torch.tensor([loss.item()]), "dlogits": l64.grad})


def lr_schedule_case():
    meta = {}
    for E in (1, 2, 3, 4, 5, 7, 8, 10, 20):
        for base in (0.001, 0.05):
            for kind in ("cosine", "step"):
                p = [nn.Parameter(torch.zeros(1))]
                opt = torch.optim.SGD(p, lr=base)
                sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=E, eta_min=0)
                         if kind == "cosine" else
                         torch.optim.lr_scheduler.MultiStepLR(opt, [E // 2, (3 * E) // 4], 0.1))
                lrs = []
                for _ in range(E + 3):      # 3 epochs past the schedule's length too
                    lrs.append(opt.param_groups[0]["lr"])
                    opt.step()
                    sched.step()
                meta[f"{kind}.{E}.{base!r}"] = ",".join(repr(v) for v in lrs)
    write_st(os.path.join(OUT, "lr-schedules.safetensors"), {"unused": torch.zeros(1)}, meta)


# ---- seqpipe-written checkpoints in torch ------------------------------------------------
def check_seqpipe_checkpoints():
    found = 0
    for fn in sorted(os.listdir(OUT)):
        if not (fn.startswith("seqpipe-") and fn.endswith(".safetensors")) or ".io." in fn:
            continue
        sd, meta = read_st(os.path.join(OUT, fn))
        io, _ = read_st(os.path.join(OUT, fn.replace(".safetensors", ".io.safetensors")))
        head, cell = meta["head"], meta["cell"]
        H, L, D = int(meta["hidden"]), int(meta["layers"]), int(meta["feature_dim"])
        names = json.loads(meta["labels" if head != "captioner" else "vocab"])
        E = sd["embed.weight"].shape[1] if head == "captioner" else 0
        net = Net(head, cell, D, H, L, len(names), E, "norm.mean" in sd, meta.get("pool", "last"))
        net.load_state_dict(sd, strict=True)
        with torch.no_grad():
            x = net.normed(io["x"])[:, None, :]                 # [T][1][D]
            y, _ = net.core()(x)
            if head == "labeler":
                got = torch.softmax(net.head(y[:, 0]), -1)      # [T][C]
            else:
                pooled = y[-1, 0] if net.pool == "last" else y[:, 0].mean(0)
                got = torch.softmax(net.head(pooled), -1)[None]
        want = io["probs"]
        err = ((got - want).abs() - (1e-5 + 1e-4 * want.abs())).max().item()
        if err > 0:
            sys.exit(f"{fn}: torch's outputs differ from seqpipe's (excess {err:g})")
        print(f"{fn}: load_state_dict(strict=True) and outputs match torch")
        found += 1
    return found


def main():
    torch.set_default_dtype(torch.float32)
    if "--check" not in sys.argv:
        os.makedirs(OUT, exist_ok=True)
        optim_case("adam", "adam", lr=0.01, weight_decay=0.01)
        optim_case("sgd", "sgd", lr=0.05, momentum=0.9, weight_decay=0.01)
        clip_case()
        tbptt_case("labeler-lstm", "labeler", "lstm", D=4, H=5, L=2, C=3, lens=[11, 8, 3], k=3,
                   optim=("adam", dict(lr=0.01, weight_decay=0.01)), clip=0.5, norm=True, seed=1)
        tbptt_case("labeler-rnn", "labeler", "rnn", D=3, H=4, L=1, C=4, lens=[6, 6, 3], k=4,
                   optim=("sgd", dict(lr=0.1, momentum=0.9)), clip=0, seed=2)
        tbptt_case("classifier-mean-rnn", "classifier", "rnn", D=3, H=4, L=2, C=3,
                   lens=[6, 4, 5], k=2, optim=("sgd", dict(lr=0.1, momentum=0.9, weight_decay=1e-3)),
                   clip=0, pool="mean", seed=3)
        tbptt_case("classifier-last-lstm", "classifier", "lstm", D=4, H=3, L=1, C=2,
                   lens=[5, 3, 7], k=3, optim=("adam", dict(lr=0.02)), clip=1.0, pool="last", seed=4)
        tbptt_case("captioner-lstm", "captioner", "lstm", D=3, H=5, L=2, C=8, E=4,
                   lens=[4, 6, 2], k=2, optim=("sgd", dict(lr=0.2, momentum=0.5)), clip=2.0,
                   norm=True, seed=5)
        xent_weighted_case()
        lr_schedule_case()
        tbptt_case("weighted-labeler-lstm", "labeler", "lstm", D=3, H=4, L=2, C=3,
                   lens=[7, 5, 4], k=3, optim=("sgd", dict(lr=0.25, momentum=0.5)), clip=0,
                   norm=True, seed=6, weights=[0.5, 2.0, 1.25], schedule="cosine", epochs=3)
        tbptt_case("weighted-classifier-rnn", "classifier", "rnn", D=3, H=4, L=1, C=3,
                   lens=[6, 4, 5, 3], k=2, optim=("sgd", dict(lr=0.5)), clip=0, pool="last",
                   seed=7, weights=[3.0, 0.75, 1.5], schedule="step", epochs=4)
        tbptt_case("weighted-classifier-mean-lstm", "classifier", "lstm", D=4, H=3, L=2, C=4,
                   lens=[5, 7, 3, 6], k=3, optim=("adam", dict(lr=0.03125, weight_decay=0.01)),
                   clip=0.5, pool="mean", norm=True, seed=8, weights=[0.25, 1.0, 2.5, 1.5],
                   schedule="cosine", epochs=3)
    n = check_seqpipe_checkpoints()
    print(f"{n} seqpipe-written checkpoint(s) checked")


if __name__ == "__main__":
    main()
