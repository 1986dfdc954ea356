"""PyTorch mirror of the seqpipe models (DESIGN §7, §8).

The modules here carry the attribute names of seqpipe's checkpoint tensors, so
``load_state_dict(..., strict=True)`` accepts every checkpoint ``seqpipe train`` writes,
and their forward passes compute what ``seqpipe run`` computes:

* ``Labeler``:    ``module(x)`` with features x (B, T, D) -> logits (B, T, C);
                  ``softmax(logits, -1)`` are the ``p:<label>`` columns of the csv sink.
* ``Classifier``: ``module(x)`` -> logits (B, C), from the last step (``pool = last``)
                  or the mean of h_t over the steps (``pool = mean``); ``lengths`` (B,)
                  marks padding when sequences of a batch differ in length.
* ``Captioner``:  ``module(f, tokens)`` -> next-token logits (B, T, V) from
                  h_0 = proj(f) in every layer, c_0 = 0, inputs embed(tokens);
                  ``greedy(f, max_len)``, ``beam_search(f, beam, max_len)`` and
                  ``caption(f, beam, max_len)`` decode as seqpipe's captioner head
                  (f: the mean of the input's frame features, or with a CNN the
                  frames (T, 3, H, W) themselves).

Submodules and their checkpoint names:

* ``lstm`` (nn.LSTM) or ``rnn`` (nn.RNN, tanh), batch_first, L layers:
  ``lstm.weight_ih_l0``, ...;
* ``head`` (nn.Linear): ``head.weight``, ``head.bias``;
* captioner: ``embed`` (nn.Embedding) and ``proj`` (nn.Linear, D -> H);
* ``norm`` (``Norm``), when the checkpoint has ``norm.mean``/``norm.std``: two buffers;
  features enter the core as ``(x - norm.mean) / norm.std``.  Without them ``norm`` is
  None and features enter as they are.
* ``cnn``, when the checkpoint holds a CNN extractor: ``SmallCNN`` (``cnn.features.{4k}``
  conv, ``cnn.features.{4k+1}`` BatchNorm2d) or torchvision's resnet18 without ``fc``
  (``cnn.conv1.weight``, ``cnn.layer1.0.conv1.weight``, ...).  A module with a CNN takes
  frames (B, T, 3, H, W), float RGB in [0, 1], normalised with torchvision's mean and std
  before the CNN.

BatchNorm's ``num_batches_tracked``: seqpipe neither writes nor reads it.  The modules keep
PyTorch's BatchNorm2d (with running statistics, so torchvision's own state_dicts load too)
and a load hook of the top module supplies a missing ``*.num_batches_tracked`` as 0 before
PyTorch compares keys; every other key stays strict (a missing or unexpected tensor, or a
wrong shape, is an error).  ``save`` leaves ``num_batches_tracked`` out, as seqpipe does.

Recipe, seqpipe -> PyTorch::

    seqpipe train labeler.ini                       # writes [model] checkpoint
    import sys; sys.path.insert(0, "models/torch")
    import torch, seqpipe_torch
    m = seqpipe_torch.load("out/labeler/labeler.safetensors")   # strict, eval mode
    probs = torch.softmax(m(torch.from_numpy(x)[None]), -1)     # x: (T, D) features
    m.labels                                        # class names, in column order

PyTorch -> seqpipe::

    m = seqpipe_torch.Labeler(feature_dim=D, hidden=64, labels=["a", "b"], cell="lstm")
    ... train m in PyTorch (set m.norm.mean / m.norm.std to the training features'
        statistics, or build with norm=False) ...
    seqpipe_torch.save(m, "mine.safetensors")       # [model] checkpoint = mine.safetensors

``save`` writes the metadata seqpipe reads and keeps the loaded checkpoint's other
entries (``decoder``/``extractor``, the feature settings ``seqpipe run`` checks);
``save(m, path, metadata={...})`` adds more.  The features must be those of the config's
extractor (size D).  A module with ``cnn`` saves its ``cnn.*`` tensors under the names
above, which need seqpipe's cnn extractor to run.

The safetensors reader and writer are here too (``load_file``, ``metadata``,
``save_file``), so nothing beyond torch and numpy is needed; torchvision only for
resnet18.
"""

import json
import math
import os
import struct

import numpy as np
import torch
from torch import nn

__all__ = [
    "SeqpipeFormatError", "load_file", "metadata", "save_file", "read",
    "Norm", "SmallCNN", "resnet18_trunk", "Labeler", "Classifier", "Captioner",
    "build", "load", "save", "IMAGE_MEAN", "IMAGE_STD",
    "TOK_NULL", "TOK_START", "TOK_END", "TOK_UNK",
]

FORMAT = "seqpipe-1"
HEADS = ("labeler", "classifier", "captioner")
TOK_NULL, TOK_START, TOK_END, TOK_UNK = 0, 1, 2, 3
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)
RESNET18_DIM = 512


class SeqpipeFormatError(ValueError):
    """A file that is not a safetensors file, or not a seqpipe checkpoint."""


# ---- safetensors ---------------------------------------------------------------

# dtype name -> (numpy little-endian dtype of the stored bytes, torch dtype)
_DTYPES = {
    "F32": ("<f4", torch.float32),
    "F64": ("<f8", torch.float64),
    "F16": ("<f2", torch.float16),
    "BF16": ("<u2", torch.bfloat16),
    "I64": ("<i8", torch.int64),
    "I32": ("<i4", torch.int32),
    "U8": ("u1", torch.uint8),
}
_NAMES = {t: n for n, (_, t) in _DTYPES.items()}


def _header(path, data):
    if len(data) < 8:
        raise SeqpipeFormatError("%s: not a safetensors file (%d bytes, shorter than the "
                                 "8-byte header size)" % (path, len(data)))
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise SeqpipeFormatError("%s: not a safetensors file (header size %d, but only %d "
                                 "bytes follow)" % (path, n, len(data) - 8))
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SeqpipeFormatError("%s: not a safetensors file (header is not JSON: %s)"
                                 % (path, e)) from None
    if not isinstance(header, dict):
        raise SeqpipeFormatError("%s: not a safetensors file (header is not a JSON object)"
                                 % path)
    md = header.pop("__metadata__", None) or {}
    if not isinstance(md, dict) or not all(isinstance(v, str) for v in md.values()):
        raise SeqpipeFormatError("%s: __metadata__ must map names to strings" % path)
    return header, md, 8 + n


def _tensor(path, name, entry, region):
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise SeqpipeFormatError("%s: tensor '%s': needs exactly dtype, shape and data_offsets"
                                 % (path, name))
    dt, shape, offs = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dt not in _DTYPES:
        raise SeqpipeFormatError("%s: tensor '%s': dtype %r is not supported (%s)"
                                 % (path, name, dt, ", ".join(_DTYPES)))
    if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
            or not isinstance(offs, list) or len(offs) != 2
            or not all(isinstance(o, int) for o in offs)):
        raise SeqpipeFormatError("%s: tensor '%s': malformed shape or data_offsets" % (path, name))
    np_dt, t_dt = _DTYPES[dt]
    numel = math.prod(shape)
    begin, end = offs
    if not 0 <= begin <= end <= len(region) or end - begin != numel * np.dtype(np_dt).itemsize:
        raise SeqpipeFormatError("%s: tensor '%s': data_offsets [%d, %d] do not hold %s %s %s "
                                 "inside the %d-byte data region"
                                 % (path, name, begin, end, numel, dt, shape, len(region)))
    a = np.frombuffer(region, dtype=np_dt, count=numel, offset=begin)
    if dt == "BF16":
        t = torch.from_numpy(a.astype(np.uint16).view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(a.astype(np.dtype(np_dt).newbyteorder("=")))
    return t.reshape(shape)


def read(path):
    """(tensors, metadata) of a safetensors file: every tensor in its stored dtype."""
    with open(path, "rb") as f:
        data = f.read()
    header, md, start = _header(path, data)
    region = memoryview(data)[start:]
    tensors = {name: _tensor(path, name, entry, region) for name, entry in header.items()}
    return tensors, dict(md)


def load_file(path):
    """dict name -> Tensor of a safetensors file (as safetensors.torch.load_file)."""
    return read(path)[0]


def metadata(path):
    """The string metadata (``__metadata__``) of a safetensors file, {} when it has none."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise SeqpipeFormatError("%s: not a safetensors file" % path)
        (n,) = struct.unpack("<Q", head)
        if n > os.fstat(f.fileno()).st_size - 8:
            raise SeqpipeFormatError("%s: not a safetensors file (header size %d)" % (path, n))
        data = head + f.read(n)
    return _header(path, data)[1]


def save_file(tensors, path, metadata=None):
    """Writes dict name -> Tensor as safetensors (as safetensors.torch.save_file): the
    header padded with spaces to a multiple of 8 bytes, tensors in name order, written
    to a temporary file and renamed."""
    header, blobs, off = {}, [], 0
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("save_file: metadata must map str to str")
        header["__metadata__"] = dict(metadata)
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _NAMES:
            raise TypeError("save_file: tensor '%s' has dtype %s, not one of %s"
                            % (name, t.dtype, ", ".join(_DTYPES)))
        dt = _NAMES[t.dtype]
        if dt == "BF16":
            b = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            b = t.numpy().astype(_DTYPES[dt][0]).tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---- modules -------------------------------------------------------------------

class Norm(nn.Module):
    """Feature normalisation (x - mean) / std with the statistics as buffers
    (``norm.mean``, ``norm.std``: saved and loaded, not trained)."""

    def __init__(self, dim):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def forward(self, x):
        return (x - self.mean) / self.std


class SmallCNN(nn.Module):
    """arch small: per c of channels Conv2d(c_in, c, 3, padding=1, bias=False),
    BatchNorm2d(c), ReLU, MaxPool2d(2); then the mean over height and width.
    (N, 3, H, W) -> (N, channels[-1])."""

    def __init__(self, channels):
        super().__init__()
        layers, c_in = [], 3
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = c
        self.channels = list(channels)
        self.features = nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3))


def resnet18_trunk():
    """torchvision's ResNet-18 up to its global average pool: (N, 3, H, W) -> (N, 512).
    ``fc`` is an nn.Identity, so the state_dict has no ``fc.*``."""
    import torchvision
    m = torchvision.models.resnet18(weights=None)
    m.fc = nn.Identity()
    return m


def _make_cnn(cnn):
    """cnn: None, "resnet18", ("small", channels) or a ready nn.Module; -> (module, D)."""
    if cnn is None:
        return None, None
    if isinstance(cnn, nn.Module):
        if isinstance(cnn, SmallCNN):
            return cnn, cnn.channels[-1]
        return cnn, RESNET18_DIM
    if cnn == "resnet18":
        return resnet18_trunk(), RESNET18_DIM
    if isinstance(cnn, (tuple, list)) and len(cnn) == 2 and cnn[0] == "small":
        channels = [int(c) for c in cnn[1]]
        if not channels:
            raise ValueError("cnn small: needs at least one block")
        return SmallCNN(channels), channels[-1]
    raise ValueError("cnn: expected None, \"resnet18\" or (\"small\", channels), not %r" % (cnn,))


def _fill_num_batches_tracked(module, state_dict, prefix, *args):
    """load_state_dict pre-hook: seqpipe writes no ``num_batches_tracked``; supply 0 for
    every BatchNorm that lacks it, so the strict comparison covers the other keys."""
    for name, sub in module.named_modules():
        if isinstance(sub, nn.modules.batchnorm._BatchNorm) and sub.track_running_stats:
            key = prefix + (name + "." if name else "") + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = torch.tensor(0, dtype=torch.long)


class _Model(nn.Module):
    head_kind = None

    def __init__(self, feature_dim, hidden, layers, core_input, n_out, cell, norm, cnn, dropout):
        super().__init__()
        if cell not in ("lstm", "rnn"):
            raise ValueError("cell: expected lstm or rnn, not %r" % (cell,))
        if not 1 <= int(layers) <= 8:
            raise ValueError("layers: expected 1..8, not %r" % (layers,))
        self.cnn, cnn_dim = _make_cnn(cnn)
        if feature_dim is None:
            feature_dim = cnn_dim
        if cnn_dim is not None and feature_dim != cnn_dim:
            raise ValueError("feature_dim %d differs from the CNN's output size %d"
                             % (feature_dim, cnn_dim))
        self.cell, self.feature_dim = cell, int(feature_dim)
        self.hidden, self.layers = int(hidden), int(layers)
        self.dropout = float(dropout)
        if core_input is None:
            core_input = self.feature_dim
        core_cls = nn.LSTM if cell == "lstm" else nn.RNN
        kw = {} if cell == "lstm" else {"nonlinearity": "tanh"}
        core = core_cls(core_input, self.hidden, num_layers=self.layers, batch_first=True,
                        dropout=self.dropout if self.layers > 1 else 0.0, **kw)
        setattr(self, cell, core)
        self.head = nn.Linear(self.hidden, n_out)
        self.norm = Norm(self.feature_dim) if norm else None
        self.metadata = {}
        if self.cnn is not None:
            self.register_buffer("image_mean", torch.tensor(IMAGE_MEAN).view(3, 1, 1),
                                 persistent=False)
            self.register_buffer("image_std", torch.tensor(IMAGE_STD).view(3, 1, 1),
                                 persistent=False)
        self._register_load_state_dict_pre_hook(_fill_num_batches_tracked, with_module=True)

    @property
    def core(self):
        return getattr(self, self.cell)

    def encode_frames(self, frames):
        """The CNN's features of frames (B, T, 3, H, W), float RGB in [0, 1], normalised
        with torchvision's mean and std first.  -> (B, T, D)."""
        if self.cnn is None:
            raise ValueError("this model has no CNN: it takes features, not frames")
        if frames.dim() != 5 or frames.shape[2] != 3:
            raise ValueError("a model with a CNN takes frames (B, T, 3, H, W), not %s"
                             % (tuple(frames.shape),))
        B, T = frames.shape[:2]
        v = (frames.reshape(B * T, *frames.shape[2:]) - self.image_mean) / self.image_std
        return self.cnn(v).reshape(B, T, -1)

    def features(self, x):
        """Per-step features: x (B, T, D) as given, or frames (B, T, 3, H, W) in [0, 1]
        through the CNN; then the norm when present.  -> (B, T, D)."""
        if self.cnn is not None:
            x = self.encode_frames(x)
        elif x.dim() != 3 or x.shape[-1] != self.feature_dim:
            raise ValueError("expected features (B, T, %d), not %s"
                             % (self.feature_dim, tuple(x.shape)))
        return self.norm(x) if self.norm is not None else x


class Labeler(_Model):
    """One label per step: x (B, T, D) (or frames with a CNN) -> logits (B, T, C)."""
    head_kind = "labeler"

    def __init__(self, feature_dim=None, hidden=64, labels=(), cell="lstm", layers=1,
                 norm=True, cnn=None, dropout=0.0):
        super().__init__(feature_dim, hidden, layers, None, len(labels), cell, norm, cnn, dropout)
        self.labels = list(labels)

    def forward(self, x):
        h, _ = self.core(self.features(x))
        return self.head(h)


class Classifier(_Model):
    """One label per sequence: x (B, T, D) (or frames) -> logits (B, C) from h_T
    (pool last) or the mean of h_t (pool mean), over the first lengths[b] steps."""
    head_kind = "classifier"

    def __init__(self, feature_dim=None, hidden=64, labels=(), cell="lstm", layers=1,
                 pool="last", norm=True, cnn=None, dropout=0.0):
        super().__init__(feature_dim, hidden, layers, None, len(labels), cell, norm, cnn, dropout)
        if pool not in ("last", "mean"):
            raise ValueError("pool: expected last or mean, not %r" % (pool,))
        self.labels = list(labels)
        self.pool = pool

    def forward(self, x, lengths=None, pool=None):
        pool = pool or self.pool
        if pool not in ("last", "mean"):
            raise ValueError("pool: expected last or mean, not %r" % (pool,))
        h, _ = self.core(self.features(x))
        B, T = h.shape[:2]
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=h.device)
        lengths = torch.as_tensor(lengths, dtype=torch.long, device=h.device)
        if pool == "last":
            pooled = h[torch.arange(B, device=h.device), lengths - 1]
        else:
            mask = (torch.arange(T, device=h.device)[None, :] < lengths[:, None]).to(h.dtype)
            pooled = (h * mask[..., None]).sum(1) / lengths[:, None].to(h.dtype)
        return self.head(pooled)


class Captioner(_Model):
    """Next-token logits: f (B, D) (a video's mean frame features), tokens (B, T) from
    <start> -> (B, T, V); h_0 = proj(norm(f)) in every layer, c_0 = 0.  With a CNN, f
    may be frames (B, T, 3, H, W) or (T, 3, H, W): the mean of their CNN features."""
    head_kind = "captioner"

    def __init__(self, feature_dim=None, hidden=64, vocab=(), cell="lstm", layers=1,
                 embed_dim=None, norm=True, dropout=0.0, cnn=None):
        vocab = list(vocab)
        if len(vocab) <= TOK_UNK:
            raise ValueError("vocab: needs the four specials <null> <start> <end> <unk> and words")
        E = int(embed_dim or hidden)
        super().__init__(feature_dim, hidden, layers, E, len(vocab), cell, norm, cnn, dropout)
        self.vocab = vocab
        self.embed_dim = E
        self.embed = nn.Embedding(len(vocab), E)
        self.proj = nn.Linear(self.feature_dim, self.hidden)

    def initial_state(self, f):
        """(h_0, c_0) of the core for features f (B, D) or (D,) (or frames with a CNN);
        c_0 is None for an RNN."""
        f = torch.as_tensor(f, dtype=self.proj.weight.dtype)
        if self.cnn is not None and f.dim() in (4, 5):
            f = self.encode_frames(f if f.dim() == 5 else f[None]).mean(1)
        if f.dim() == 1:
            f = f[None]
        if self.norm is not None:
            f = self.norm(f)
        h0 = self.proj(f)[None].expand(self.layers, -1, -1).contiguous()
        if self.cell == "lstm":
            return h0, torch.zeros_like(h0)
        return h0, None

    def _step(self, tokens, state):
        h, c = state
        y, s = self.core(self.embed(tokens), (h, c) if self.cell == "lstm" else h)
        return self.head(y), (s if self.cell == "rnn" else s[0],
                              None if self.cell == "rnn" else s[1])

    def forward(self, f, tokens):
        logits, _ = self._step(tokens, self.initial_state(f))
        return logits

    def _logp(self, tokens, state):
        logits, state = self._step(tokens[:, None], state)
        z = logits[:, 0].double()
        return z - torch.logsumexp(z, dim=-1, keepdim=True), state

    @torch.no_grad()
    def beam_search(self, f, beam=3, max_len=16):
        """seqpipe's beam search (models/caption.c) for one feature vector f (D,):
        extensions ranked by their total log-probability (earlier hypothesis, then lower
        word index on ties), <null> and <start> never produced, an extension by <end>
        finished, stop when none is live, at max_len words, or when the best finished
        total is at least the best live one.  beam = 1 is greedy.
        -> (tokens without <start>/<end>, total log-probability)."""
        K = max(int(beam), 1)
        h, c = self.initial_state(f)
        state = (h[:, :1], c[:, :1] if c is not None else None)
        V = len(self.vocab)
        producible = [v for v in range(V) if v not in (TOK_NULL, TOK_START)]
        hyps, scores = [[]], [0.0]
        last = [TOK_START]
        best, best_toks = -math.inf, []
        length = 0
        while hyps and length < max_len:
            logp, state = self._logp(torch.tensor(last), state)
            lp = logp.tolist()
            cand = []   # (score, b, v) in the order seqpipe visits them
            for b in range(len(hyps)):
                for v in producible:
                    cand.append((scores[b] + lp[b][v], b, v))
            # stable sort on the score alone keeps (b, v) order on ties
            cand.sort(key=lambda e: -e[0])
            cand = cand[:K]
            nh, ns, nl, frm = [], [], [], []
            for s, b, v in cand:
                if v == TOK_END:
                    if s > best:
                        best, best_toks = s, list(hyps[b])
                    continue
                nh.append(hyps[b] + [v])
                ns.append(s)
                nl.append(v)
                frm.append(b)
            idx = torch.tensor(frm, dtype=torch.long)
            state = (state[0][:, idx], state[1][:, idx] if state[1] is not None else None)
            hyps, scores, last = nh, ns, nl
            length += 1
            if hyps and not scores[0] > best:
                hyps = []
        for b in range(len(hyps)):
            if scores[b] > best:
                best, best_toks = scores[b], list(hyps[b])
        return best_toks, best

    def greedy(self, f, max_len=16):
        """The argmax word at every step (never <null>/<start>) until <end> or max_len
        words: (tokens, words)."""
        toks, _ = self.beam_search(f, 1, max_len)
        return toks, self.words(toks)

    def words(self, tokens):
        """The words of tokens as seqpipe writes them: specials below <unk> left out."""
        return [self.vocab[t] for t in tokens if TOK_UNK <= t < len(self.vocab)]

    def caption(self, f, beam=3, max_len=16):
        """(text, score) as the captioner head's record: words joined by spaces and the
        sentence's probability."""
        toks, total = self.beam_search(f, beam, max_len)
        return " ".join(self.words(toks)), math.exp(total)


# ---- checkpoints ---------------------------------------------------------------

def _int_meta(path, md, key, default):
    s = md.get(key)
    if s is None:
        return default
    try:
        v = int(s)
    except ValueError:
        v = 0
    if v < 1:
        raise SeqpipeFormatError("%s: metadata '%s' is %r, expected a positive integer"
                                 % (path, key, s))
    return v


def _cnn_of(path, tensors, md):
    """None, "resnet18" or ("small", channels) from the cnn.* tensors and the
    extractor metadata."""
    names = [n for n in tensors if n.startswith("cnn.")]
    arch = None
    try:
        ex = json.loads(md.get("extractor", "null"))
        if isinstance(ex, dict) and isinstance(ex.get("arch"), str):
            arch = ex["arch"]
    except ValueError:
        pass
    if not names:
        return None
    if arch is None:
        arch = "small" if any(n.startswith("cnn.features.") for n in names) else "resnet18"
    if arch == "resnet18":
        return "resnet18"
    if arch != "small":
        raise SeqpipeFormatError("%s: extractor arch %r, expected small or resnet18" % (path, arch))
    channels = []
    while "cnn.features.%d.weight" % (4 * len(channels)) in tensors:
        w = tensors["cnn.features.%d.weight" % (4 * len(channels))]
        if w.dim() != 4:
            raise SeqpipeFormatError("%s: tensor 'cnn.features.%d.weight' has shape %s, expected "
                                     "c_out x c_in x 3 x 3" % (path, 4 * len(channels),
                                                               list(w.shape)))
        channels.append(int(w.shape[0]))
    if not channels:
        raise SeqpipeFormatError("%s: tensor 'cnn.features.0.weight' is missing" % path)
    return ("small", channels)


def _shape(tensors, name, dim):
    t = tensors.get(name)
    return int(t.shape[dim]) if t is not None and t.dim() == 2 else None


def build(tensors, md, path="checkpoint", pool=None):
    """The module (untrained) that a checkpoint's tensors and metadata describe."""
    fmt = md.get("format")
    if fmt != FORMAT:
        raise SeqpipeFormatError("%s: not a seqpipe checkpoint (metadata 'format' is %s, "
                                 "expected \"%s\")" % (path, repr(fmt) if fmt else "missing",
                                                       FORMAT))
    head = md.get("head")
    if head not in HEADS:
        raise SeqpipeFormatError("%s: metadata 'head' is %s, expected labeler, classifier or "
                                 "captioner" % (path, repr(head) if head else "missing"))
    cell = md.get("cell")
    if cell is None:
        has = [c for c in ("lstm", "rnn") if c + ".weight_ih_l0" in tensors]
        if len(has) != 1:
            raise SeqpipeFormatError("%s: tensor 'lstm.weight_ih_l0' (or 'rnn.weight_ih_l0') %s"
                                     % (path, "is missing" if not has else
                                        "both present and no metadata 'cell'"))
        cell = has[0]
    if cell not in ("lstm", "rnn"):
        raise SeqpipeFormatError("%s: metadata 'cell' is %r, expected lstm or rnn" % (path, cell))
    n_layers = 0
    while "%s.weight_ih_l%d" % (cell, n_layers) in tensors:
        n_layers += 1
    layers = _int_meta(path, md, "layers", n_layers)
    hidden = _int_meta(path, md, "hidden", _shape(tensors, cell + ".weight_hh_l0", 1))
    if not layers or not hidden:
        raise SeqpipeFormatError("%s: tensor '%s.weight_%s_l0' is missing"
                                 % (path, cell, "ih" if not layers else "hh"))
    key = "vocab" if head == "captioner" else "labels"
    if key not in md:
        raise SeqpipeFormatError("%s: metadata '%s' is missing" % (path, key))
    try:
        names = json.loads(md[key])
    except ValueError as e:
        raise SeqpipeFormatError("%s: metadata '%s' is not JSON: %s" % (path, key, e)) from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or not names:
        raise SeqpipeFormatError("%s: metadata '%s' must be a JSON array of strings" % (path, key))
    has_norm = "norm.mean" in tensors or "norm.std" in tensors
    dropout = float(md.get("dropout", "0") or 0)
    cnn = _cnn_of(path, tensors, md)
    if head == "captioner":
        D = _int_meta(path, md, "feature_dim", _shape(tensors, "proj.weight", 1))
        E = _shape(tensors, "embed.weight", 1)
        if not D or not E:
            raise SeqpipeFormatError("%s: tensor '%s' is missing"
                                     % (path, "proj.weight" if not D else "embed.weight"))
        m = Captioner(D, hidden, names, cell, layers, E, has_norm, dropout, cnn)
    else:
        D = _int_meta(path, md, "feature_dim", _shape(tensors, cell + ".weight_ih_l0", 1))
        if not D:
            raise SeqpipeFormatError("%s: tensor '%s.weight_ih_l0' is missing" % (path, cell))
        if head == "labeler":
            m = Labeler(D, hidden, names, cell, layers, has_norm, cnn, dropout)
        else:
            saved = md.get("pool")
            if saved is not None and saved not in ("last", "mean"):
                raise SeqpipeFormatError("%s: metadata 'pool' is %r, expected last or mean"
                                         % (path, saved))
            if pool is not None and saved is not None and pool != saved:
                raise ValueError("pool %r, but the checkpoint %s was trained with pool = %s"
                                 % (pool, path, saved))
            m = Classifier(D, hidden, names, cell, layers, saved or pool or "last", has_norm,
                           cnn, dropout)
    m.metadata = dict(md)
    return m


def load(path, pool=None, map_location="cpu"):
    """The seqpipe checkpoint at path as a module: built from its metadata (format
    seqpipe-1, head, cell, hidden, layers, feature_dim, labels | vocab, pool) and the
    tensor shapes, weights loaded with strict=True, in eval mode, with .labels or
    .vocab and .metadata set.  pool: the classifier's pooling when the checkpoint does
    not say (default last); when it does, pool must agree."""
    tensors, md = read(path)
    m = build(tensors, md, path, pool)
    sd = {k: v.to(map_location) for k, v in tensors.items()}
    try:
        m.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise SeqpipeFormatError("%s: %s" % (path, e)) from None
    return m.eval()


_CORE_KEYS = ("format", "head", "cell", "hidden", "layers", "feature_dim", "labels", "vocab",
              "pool", "dropout")


def save(module, path, metadata=None):
    """Writes module as a seqpipe checkpoint: its state_dict in float32 (without
    num_batches_tracked) and the metadata seqpipe reads (format, head, cell, hidden,
    layers, feature_dim, labels | vocab, pool, dropout), plus module.metadata's and
    metadata's other entries (e.g. decoder / extractor settings)."""
    if not isinstance(module, _Model):
        raise TypeError("save: expected a Labeler, Classifier or Captioner, not %s"
                        % type(module).__name__)
    names = module.vocab if module.head_kind == "captioner" else module.labels
    if len(names) != module.head.out_features:
        raise ValueError("save: %d %s for %d outputs" % (
            len(names), "words" if module.head_kind == "captioner" else "labels",
            module.head.out_features))
    md = {k: v for k, v in getattr(module, "metadata", {}).items() if k not in _CORE_KEYS}
    md.update(metadata or {})
    md.update({
        "format": FORMAT, "head": module.head_kind, "cell": module.cell,
        "hidden": str(module.hidden), "layers": str(module.layers),
        "feature_dim": str(module.feature_dim),
        "vocab" if module.head_kind == "captioner" else "labels": json.dumps(list(names)),
        "dropout": repr(float(module.dropout)),
    })
    if module.head_kind == "classifier":
        md["pool"] = module.pool
    tensors = {k: v.float() if v.is_floating_point() else v
               for k, v in module.state_dict().items() if not k.endswith(".num_batches_tracked")}
    save_file(tensors, path, md)
