#!/usr/bin/python3
"""models/torch/seqpipe_torch.py against the built seqpipe.

Makes (T, D) feature files and label files with numpy, trains a tiny model of each head
with `seqpipe train` (labeler LSTM, labeler RNN with 2 layers, classifier pool = last
and pool = mean, captioner; all with norm tensors), loads every checkpoint with
seqpipe_torch.load (strict) and compares with `seqpipe run` on the same inputs:
labeler per-frame probabilities and classifier probabilities of the csv sink
(probs = true, 6 decimals) within 1e-5, captioner captions (beam 1 and 3) equal.
Then: a checkpoint without norm tensors loads strictly; randomly initialised modules
written with seqpipe_torch.save run in seqpipe with the same probabilities; hand-made
CNN state_dicts (arch small and torchvision resnet18 names) load strictly and give the
right shapes.

Needs Debian's /usr/bin/python3 with python3-torch, python3-torchvision and
python3-numpy (tests/install-deps.sh installs them).  SEQPIPE_BIN names the seqpipe
executable (default build/pipeline/seqpipe).  Prints "N passed, N failed"; exits
non-zero on any failure.
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

try:
    import numpy as np
    import torch
except ImportError as e:
    print("torch-mirror: FAILED: %s; this test needs Debian's python3-torch, "
          "python3-torchvision and python3-numpy (apt-get install python3-torch "
          "python3-torchvision python3-numpy, or tests/install-deps.sh)" % e)
    sys.exit(1)

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "models", "torch"))
import seqpipe_torch as st  # noqa: E402

SEQPIPE = os.environ.get("SEQPIPE_BIN") or os.path.join(ROOT, "build", "pipeline", "seqpipe")
PROB_TOL = 1e-5           # csv probabilities carry 6 decimals: rounding alone is 5e-7
D = 5
LABELS = ["calm", "jump", "spin"]
torch.set_num_threads(1)

measured = {}             # check name -> largest difference seen


def note(name, diff):
    measured[name] = max(measured.get(name, 0.0), float(diff))


# ---- data ----------------------------------------------------------------------

def class_means():
    rng = np.random.default_rng(7)
    return rng.normal(0, 2, size=(len(LABELS), D)) + np.array([3.0, -1.0, 0.5, 2.0, -2.0])


def make_labeler_data(root):
    """Sequences of runs of three classes (each with its own feature mean), one label
    per row in a .txt file; features offset and scaled so that norm matters."""
    rng = np.random.default_rng(1)
    mu = class_means()
    rows = []
    os.makedirs(os.path.join(root, "lab"), exist_ok=True)
    for i in range(8):
        T = int(rng.integers(18, 40))
        y, t = [], 0
        while t < T:
            n = min(int(rng.integers(3, 10)), T - t)
            y += [int(rng.integers(0, len(LABELS)))] * n
            t += n
        x = mu[y] + rng.normal(0, 0.7, size=(T, D))
        name = "lab/s%d" % i
        np.save(os.path.join(root, name + ".npy"), (x * 4.0 + 10.0).astype(np.float32))
        with open(os.path.join(root, name + ".txt"), "w") as f:
            f.write("".join(LABELS[k] + "\n" for k in y))
        rows.append((name + ".npy", name + ".txt"))
    write_manifest(os.path.join(root, "lab.csv"), ("path", "labels"), rows[:6])
    return [os.path.join(root, r[0]) for r in rows[5:]]


def make_sequence_data(root):
    """Whole sequences of one class (classifier) with a caption of two words
    (captioner); the held-out ones are the test inputs."""
    rng = np.random.default_rng(2)
    mu = class_means()
    words = {0: "quiet room", 1: "a jump", 2: "a fast spin"}
    os.makedirs(os.path.join(root, "seq"), exist_ok=True)
    cls_rows, cap_rows, test = [], [], []
    for i in range(15):
        k = i % len(LABELS)
        T = int(rng.integers(8, 30))
        x = mu[k] + rng.normal(0, 1.0, size=(T, D))
        x[: T // 3] += rng.normal(0, 2.0, size=D)      # a start unlike the class
        name = "seq/v%d.npy" % i
        np.save(os.path.join(root, name), (x * 0.5 - 3.0).astype(np.float64))
        if i < 12:
            cls_rows.append((name, LABELS[k]))
            cap_rows.append((name, words[k]))
        else:
            test.append(os.path.join(root, name))
    write_manifest(os.path.join(root, "cls.csv"), ("path", "label"), cls_rows)
    write_manifest(os.path.join(root, "cap.csv"), ("path", "caption"), cap_rows)
    return test


def write_manifest(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def features(path):
    return torch.from_numpy(np.load(path).astype(np.float32))


# ---- seqpipe -------------------------------------------------------------------

def seqpipe(*args):
    r = subprocess.run([SEQPIPE] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("seqpipe %s: exit %d\n%s%s" % (" ".join(args), r.returncode,
                                                            r.stdout, r.stderr))
    return r


def config(root, name, head, extra_head="", model="", train=None):
    text = ("[pipeline]\noutput-dir = out/%s\n[decoder]\nplugin = npy\n"
            "[model]\ncheckpoint = %s.safetensors\n%s[head]\nplugin = %s\n%s"
            "[sink:csv]\npath = {stem}.csv\nprobs = true\n" % (name, name, model, head, extra_head))
    if train:
        text += ("[train]\nmanifest = %s\nepochs = %d\nbatch = 3\nlr = 0.02\ntbptt = %d\n"
                 "threads = 1\nseed = 3\ncache-dir = cache\n" % train)
    path = os.path.join(root, name + ".ini")
    with open(path, "w") as f:
        f.write(text)
    return path


def run(ini, inputs, *sets):
    args = ["run", "-q", ini, "--set", "pipeline.inputs=" + ";".join(inputs)]
    for s in sets:
        args += ["--set", s]
    seqpipe(*args)
    out = os.path.join(os.path.dirname(ini), "out", os.path.splitext(os.path.basename(ini))[0])
    return {p: read_csv(os.path.join(out, os.path.splitext(os.path.basename(p))[0] + ".csv"))
            for p in inputs}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def prob_columns(rows, labels):
    assert rows, "no rows"
    for lab in labels:
        assert "p:" + lab in rows[0], "no column p:%s in %s" % (lab, list(rows[0]))
    return torch.tensor([[float(r["p:" + lab]) for lab in labels] for r in rows],
                        dtype=torch.float64)


def compare_labeler(name, model, outputs):
    for path, rows in outputs.items():
        x = features(path)
        with torch.no_grad():
            p = torch.softmax(model(x[None])[0].double(), -1)
        got = prob_columns(rows, model.labels)
        assert got.shape == p.shape, "%s: seqpipe %s, mirror %s" % (path, got.shape, p.shape)
        assert [int(r["frame"]) for r in rows] == list(range(len(rows)))
        diff = (got - p).abs().max().item()
        note(name, diff)
        assert diff <= PROB_TOL, "%s: max |seqpipe - mirror| = %.3g" % (path, diff)
        labels = [model.labels[k] for k in p.argmax(-1).tolist()]
        margin = (p.sort(-1).values[:, -1] - p.sort(-1).values[:, -2])
        for t, r in enumerate(rows):
            if margin[t] > 1e-4:
                assert r["label"] == labels[t], "%s frame %d: %s vs %s" % (path, t, r["label"],
                                                                         labels[t])


def compare_classifier(name, model, outputs):
    for path, rows in outputs.items():
        assert len(rows) == 1, "%s: %d rows" % (path, len(rows))
        x = features(path)
        with torch.no_grad():
            p = torch.softmax(model(x[None])[0].double(), -1)
        got = prob_columns(rows, model.labels)[0]
        diff = (got - p).abs().max().item()
        note(name, diff)
        assert diff <= PROB_TOL, "%s: max |seqpipe - mirror| = %.3g" % (path, diff)
        assert rows[0]["label"] == model.labels[int(p.argmax())]


# ---- checks --------------------------------------------------------------------

class Ctx:
    pass


def check_labeler(ctx, name, cell, layers):
    ini = config(ctx.root, name, "labeler",
                 model="cell = %s\nhidden = 8\nlayers = %d\n" % (cell, layers),
                 train=("lab.csv", 4, 16))
    seqpipe("train", "-q", ini)
    ck = os.path.join(ctx.root, name + ".safetensors")
    tensors = st.load_file(ck)
    assert "norm.mean" in tensors and "norm.std" in tensors, "trained without norm tensors"
    m = st.load(ck)
    assert isinstance(m, st.Labeler) and m.labels == LABELS and not m.training
    assert m.cell == cell and m.layers == layers and isinstance(m.norm, st.Norm)
    assert set(m.state_dict()) == set(tensors), "keys differ"
    compare_labeler(name, m, run(ini, ctx.lab_test))
    ctx.checkpoints[name] = (ini, ck)


def check_labeler_lstm(ctx):
    check_labeler(ctx, "labeler-lstm", "lstm", 1)


def check_labeler_rnn2(ctx):
    check_labeler(ctx, "labeler-rnn2", "rnn", 2)


def check_classifier(ctx, pool):
    name = "classifier-" + pool
    ini = config(ctx.root, name, "classifier", extra_head="pool = %s\n" % pool,
                 model="cell = lstm\nhidden = 8\nlayers = 1\n", train=("cls.csv", 6, 0))
    seqpipe("train", "-q", ini)
    ck = os.path.join(ctx.root, name + ".safetensors")
    assert st.metadata(ck)["pool"] == pool
    assert "norm.mean" in st.load_file(ck), "trained without norm tensors"
    m = st.load(ck)
    assert isinstance(m, st.Classifier) and m.pool == pool and m.labels == LABELS
    compare_classifier(name, m, run(ini, ctx.seq_test))
    # the other pooling gives other probabilities: the pool really is followed
    x = features(ctx.seq_test[0])[None]
    other = "mean" if pool == "last" else "last"
    with torch.no_grad():
        assert (m(x) - m(x, pool=other)).abs().max() > 1e-6
    ctx.checkpoints[name] = (ini, ck)


def check_classifier_last(ctx):
    check_classifier(ctx, "last")


def check_classifier_mean(ctx):
    check_classifier(ctx, "mean")


def check_classifier_lengths(ctx):
    """padding with lengths gives each sequence's own logits"""
    m = st.load(ctx.checkpoints["classifier-mean"][1])
    xs = [features(p) for p in ctx.seq_test]
    T = max(len(x) for x in xs)
    batch = torch.zeros(len(xs), T, D)
    for i, x in enumerate(xs):
        batch[i, : len(x)] = x
    with torch.no_grad():
        for pool in ("last", "mean"):
            together = m(batch, lengths=[len(x) for x in xs], pool=pool)
            for i, x in enumerate(xs):
                diff = (together[i] - m(x[None], pool=pool)[0]).abs().max().item()
                assert diff < 1e-5, "pool %s, sequence %d: %.3g" % (pool, i, diff)


def check_captioner(ctx):
    name = "captioner"
    ini = config(ctx.root, name, "captioner", extra_head="beam = 1\nmax-length = 6\n",
                 model="cell = lstm\nhidden = 12\nlayers = 2\n", train=("cap.csv", 40, 0))
    seqpipe("train", "-q", ini)
    ck = os.path.join(ctx.root, name + ".safetensors")
    m = st.load(ck)
    assert isinstance(m, st.Captioner) and m.vocab[:4] == ["<null>", "<start>", "<end>", "<unk>"]
    assert "norm.mean" in st.load_file(ck)
    texts = set()
    for beam in (1, 3):
        outputs = run(ini, ctx.seq_test, "head.beam=%d" % beam)
        for path, rows in outputs.items():
            f = features(path).mean(0)
            assert len(rows) == 1
            if beam == 1:
                toks, words = m.greedy(f, 6)
                text = " ".join(words)
                assert m.caption(f, 1, 6)[0] == text
            else:
                text, score = m.caption(f, beam, 6)
                note("captioner-score", abs(float(rows[0]["score"]) - score))
                assert abs(float(rows[0]["score"]) - score) <= PROB_TOL
            assert rows[0]["caption"] == text, "%s beam %d: seqpipe %r, mirror %r" % (
                path, beam, rows[0]["caption"], text)
            texts.add(text)
    assert texts != {""}, "every caption empty: nothing compared"
    # teacher-forced logits equal step-by-step decoding
    f = features(ctx.seq_test[0]).mean(0)
    toks = torch.tensor([[st.TOK_START] + m.greedy(f, 6)[0]])
    with torch.no_grad():
        logits = m(f[None], toks)[0]
    assert logits.argmax(-1)[:-1].tolist() == toks[0, 1:].tolist()


def check_no_norm(ctx):
    """a checkpoint made elsewhere without norm tensors: strict load into a module
    without norm, refused by one with norm; seqpipe runs it the same"""
    ini, ck = ctx.checkpoints["labeler-lstm"]
    tensors, md = st.read(ck)
    plain = {k: v for k, v in tensors.items() if not k.startswith("norm.")}
    keep = {k: md[k] for k in ("format", "head", "labels")}
    path = os.path.join(ctx.root, "nonorm.safetensors")
    st.save_file(plain, path, keep)
    m = st.Labeler(D, 8, LABELS, norm=False)
    r = m.load_state_dict(st.load_file(path), strict=True)
    assert not r.missing_keys and not r.unexpected_keys
    assert "norm.mean" not in m.state_dict()
    with_norm = st.Labeler(D, 8, LABELS)
    try:
        with_norm.load_state_dict(st.load_file(path), strict=True)
        raise AssertionError("a module with norm accepted a state_dict without it")
    except RuntimeError as e:
        assert "norm.mean" in str(e)
    loaded = st.load(path)
    assert loaded.norm is None and loaded.labels == LABELS
    compare_labeler("no-norm", loaded,
                    run(ini, ctx.lab_test[:1], "model.checkpoint=" + path))


def randomise(m, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.6)
        if m.norm is not None:
            m.norm.mean.copy_(torch.randn(m.norm.mean.shape, generator=g) + 2.0)
            m.norm.std.copy_(torch.rand(m.norm.std.shape, generator=g) + 0.5)


def check_round_trip(ctx):
    """modules made in PyTorch, saved with save, give seqpipe the same probabilities"""
    cases = [
        ("rt-labeler", st.Labeler(D, 7, ["x", "y", "z", "w"], cell="lstm", layers=2), "labeler",
         ctx.lab_test),
        ("rt-labeler-rnn", st.Labeler(D, 6, ["x", "y"], cell="rnn", norm=False), "labeler",
         ctx.lab_test),
        ("rt-classifier", st.Classifier(D, 9, ["u", "v", "w"], cell="rnn", layers=2,
                                        pool="mean"), "classifier", ctx.seq_test),
        ("rt-classifier-last", st.Classifier(D, 5, ["u", "v"], pool="last"), "classifier",
         ctx.seq_test),
    ]
    for i, (name, m, head, inputs) in enumerate(cases):
        randomise(m, 11 + i)
        m.eval()
        path = os.path.join(ctx.root, name + ".safetensors")
        st.save(m, path)
        again = st.load(path)
        for k, v in m.state_dict().items():
            assert torch.equal(v, again.state_dict()[k]), k
        ini = config(ctx.root, name, head)
        outputs = run(ini, inputs)
        (compare_labeler if head == "labeler" else compare_classifier)(name, m, outputs)
    cap = st.Captioner(D, 10, ["<null>", "<start>", "<end>", "<unk>", "one", "two", "three"],
                       cell="rnn", layers=2, embed_dim=4)
    randomise(cap, 5)
    path = os.path.join(ctx.root, "rt-captioner.safetensors")
    st.save(cap, path)
    ini = config(ctx.root, "rt-captioner", "captioner", extra_head="max-length = 5\n")
    inputs = ctx.seq_test + ctx.lab_test
    by_beam = {}
    for beam in (1, 2, 4):
        for path_in, rows in run(ini, inputs, "head.beam=%d" % beam).items():
            text, score = cap.caption(features(path_in).mean(0), beam, 5)
            assert rows[0]["caption"] == text, "%s beam %d: seqpipe %r, mirror %r" % (
                path_in, beam, rows[0]["caption"], text)
            note("rt-captioner-score", abs(float(rows[0]["score"]) - score))
            assert abs(float(rows[0]["score"]) - score) <= PROB_TOL
            by_beam.setdefault(beam, []).append((text, score))
    # beam search found better sentences than greedy somewhere: its own path was compared
    assert any(b[1] > g[1] + 1e-9 for g, b in zip(by_beam[1], by_beam[4])), by_beam


def check_pool_argument(ctx):
    """a classifier checkpoint without pool takes last, or the caller's pool; one with
    pool refuses another"""
    tensors, md = st.read(ctx.checkpoints["classifier-mean"][1])
    del md["pool"]
    path = os.path.join(ctx.root, "nopool.safetensors")
    st.save_file(tensors, path, md)
    assert st.load(path).pool == "last"
    assert st.load(path, pool="mean").pool == "mean"
    try:
        st.load(ctx.checkpoints["classifier-mean"][1], pool="last")
        raise AssertionError("pool last accepted for a pool = mean checkpoint")
    except ValueError as e:
        assert "mean" in str(e)


def check_formats(ctx):
    """the reader: every dtype back as written, clear errors on other files"""
    path = os.path.join(ctx.root, "dtypes.safetensors")
    t = {"a": torch.randn(3, 2), "b": torch.randn(4).double(), "c": torch.randn(5).half(),
         "d": torch.randn(2, 3).bfloat16(), "n": torch.tensor(7, dtype=torch.long)}
    st.save_file(t, path, {"k": "v"})
    back = st.load_file(path)
    for k in t:
        assert back[k].dtype == t[k].dtype and torch.equal(back[k], t[k]), k
    assert st.metadata(path) == {"k": "v"}
    # a checkpoint stored in F16/F64 loads (as float32 parameters)
    tensors, md = st.read(ctx.checkpoints["labeler-lstm"][1])
    path = os.path.join(ctx.root, "half.safetensors")
    st.save_file({k: v.half() for k, v in tensors.items()}, path, md)
    assert st.load(path).head.weight.dtype == torch.float32
    bad = os.path.join(ctx.root, "bad.bin")
    for data, words in ((b"abc", "not a safetensors"), (b"\xff" * 16, "not a safetensors"),
                        (b"\x02\0\0\0\0\0\0\0[]", "not a safetensors")):
        with open(bad, "wb") as f:
            f.write(data)
        expect_error(bad, words)
    st.save_file({"head.weight": torch.zeros(2, 2)}, bad, {"format": "other"})
    expect_error(bad, "not a seqpipe checkpoint")
    st.save_file({"head.weight": torch.zeros(2, 2)}, bad, {"format": "seqpipe-1",
                                                         "head": "labeler"})
    expect_error(bad, "missing")
    tensors, md = st.read(ctx.checkpoints["labeler-lstm"][1])
    tensors["extra.weight"] = torch.zeros(1)
    st.save_file(tensors, bad, md)
    expect_error(bad, "extra.weight")


def expect_error(path, words):
    try:
        st.load(path)
    except st.SeqpipeFormatError as e:
        assert words in str(e) and path in str(e), "message %r lacks %r" % (str(e), words)
        return
    raise AssertionError("%s loaded" % path)


def cnn_checkpoint(ctx, name, cnn_tensors, D_cnn, extractor, layers=1):
    m = st.Labeler(D_cnn, 6, ["a", "b", "c"], layers=layers, norm=False)
    tensors = {k: v for k, v in m.state_dict().items()}
    tensors.update({"cnn." + k: v for k, v in cnn_tensors.items()})
    md = {"format": "seqpipe-1", "head": "labeler", "labels": json.dumps(["a", "b", "c"])}
    if extractor:
        md["extractor"] = json.dumps(extractor)
    path = os.path.join(ctx.root, name + ".safetensors")
    st.save_file(tensors, path, md)
    return path, tensors


def check_cnn_small(ctx):
    g = torch.Generator().manual_seed(3)
    chans = [4, 6, 8]
    sd, c_in = {}, 3
    for k, c in enumerate(chans):
        sd["features.%d.weight" % (4 * k)] = torch.randn(c, c_in, 3, 3, generator=g) * 0.3
        sd["features.%d.weight" % (4 * k + 1)] = torch.rand(c, generator=g) + 0.5
        sd["features.%d.bias" % (4 * k + 1)] = torch.randn(c, generator=g) * 0.1
        sd["features.%d.running_mean" % (4 * k + 1)] = torch.randn(c, generator=g) * 0.1
        sd["features.%d.running_var" % (4 * k + 1)] = torch.rand(c, generator=g) + 0.5
        c_in = c
    for extractor in (None, {"plugin": "cnn", "arch": "small", "channels": "4;6;8"}):
        path, tensors = cnn_checkpoint(ctx, "cnn-small", sd, chans[-1], extractor)
        m = st.load(path)
        assert isinstance(m.cnn, st.SmallCNN) and m.cnn.channels == chans
        assert set(m.state_dict()) - set(tensors) == {
            "cnn.features.%d.num_batches_tracked" % (4 * k + 1) for k in range(len(chans))}
        frames = torch.rand(2, 3, 3, 16, 12, generator=g)
        with torch.no_grad():
            out = m(frames)
            assert out.shape == (2, 3, 3), out.shape
            # the CNN sees torchvision-normalised frames, D = the last block's channels
            v = (frames.reshape(6, 3, 16, 12) - torch.tensor(st.IMAGE_MEAN).view(3, 1, 1)) \
                / torch.tensor(st.IMAGE_STD).view(3, 1, 1)
            x = m.cnn.features(v).mean((2, 3)).reshape(2, 3, 8)
            assert torch.allclose(m.features(frames), x, atol=1e-6)
            assert torch.allclose(out, m.head(m.lstm(x)[0]), atol=1e-6)
    # a module built by hand takes the same state_dict strictly, with or without
    # num_batches_tracked; a classifier over the same CNN pools to (B, C)
    full = {"cnn." + k: v for k, v in sd.items()}
    c = st.Classifier(hidden=5, labels=["p", "q"], cnn=("small", chans), norm=False)
    full.update({k: v for k, v in c.state_dict().items() if not k.startswith("cnn.")})
    c.load_state_dict(full, strict=True)
    c.load_state_dict(c.state_dict(), strict=True)
    with torch.no_grad():
        assert c.eval()(torch.rand(3, 4, 3, 8, 8)).shape == (3, 2)
    # a captioner over the CNN starts from the mean of the frames' features
    cap = st.Captioner(hidden=5, vocab=["<null>", "<start>", "<end>", "<unk>", "w"],
                       cnn=("small", chans), norm=False).eval()
    cap.load_state_dict(cap.state_dict(), strict=True)
    frames = torch.rand(4, 3, 8, 8, generator=g)
    with torch.no_grad():
        h0, _ = cap.initial_state(frames)
        f = cap.encode_frames(frames[None]).mean(1)
        assert h0.shape == (1, 1, 5) and torch.allclose(h0[0], cap.proj(f), atol=1e-6)
        assert cap(frames[None], torch.tensor([[st.TOK_START, 4]])).shape == (1, 2, 5)
    assert len(cap.greedy(frames, 3)[0]) <= 3
    try:
        c.load_state_dict({k: v for k, v in full.items() if k != "cnn.features.5.bias"})
        raise AssertionError("a state_dict without cnn.features.5.bias loaded")
    except RuntimeError as e:
        assert "cnn.features.5.bias" in str(e)


def check_cnn_resnet18(ctx):
    import torchvision
    ref = torchvision.models.resnet18(weights=None).eval()
    sd = {k: v for k, v in ref.state_dict().items()
          if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
    path, tensors = cnn_checkpoint(ctx, "cnn-resnet18", sd, 512, {"plugin": "cnn",
                                                                "arch": "resnet18"}, layers=2)
    m = st.load(path)
    assert "cnn.conv1.weight" in tensors and "cnn.layer2.0.downsample.0.weight" in tensors
    assert not any(k.startswith("cnn.fc.") for k in m.state_dict())
    frames = torch.rand(1, 2, 3, 32, 32)
    with torch.no_grad():
        assert m(frames).shape == (1, 2, 3)
        ref.fc = torch.nn.Identity()
        v = (frames[0] - torch.tensor(st.IMAGE_MEAN).view(3, 1, 1)) \
            / torch.tensor(st.IMAGE_STD).view(3, 1, 1)
        assert torch.allclose(m.features(frames)[0], ref(v), atol=1e-5)
    # the tensor names alone say resnet18; num_batches_tracked (I64) may be present
    path, _ = cnn_checkpoint(ctx, "cnn-resnet18b", {
        k: v for k, v in ref.state_dict().items()}, 512, None)
    assert not isinstance(st.load(path).cnn, st.SmallCNN)


CHECKS = [check_labeler_lstm, check_labeler_rnn2, check_classifier_last, check_classifier_mean,
          check_classifier_lengths, check_captioner, check_no_norm, check_round_trip,
          check_pool_argument, check_formats, check_cnn_small, check_cnn_resnet18]


def main():
    if not os.access(SEQPIPE, os.X_OK):
        print("torch-mirror: FAILED: no seqpipe executable at %s (set SEQPIPE_BIN)" % SEQPIPE)
        return 1
    t0 = time.time()
    ctx = Ctx()
    ctx.root = tempfile.mkdtemp(prefix="seqpipe-torch-")
    ctx.checkpoints = {}
    ctx.lab_test = make_labeler_data(ctx.root)
    ctx.seq_test = make_sequence_data(ctx.root)
    passed = failed = 0
    for check in CHECKS:
        t = time.time()
        try:
            check(ctx)
            passed += 1
            print("ok   %-26s %5.1f s" % (check.__name__[6:], time.time() - t))
        except Exception:
            failed += 1
            print("FAIL %s" % check.__name__[6:])
            traceback.print_exc(file=sys.stdout)
    for name, diff in sorted(measured.items()):
        print("max |seqpipe - mirror| %-20s %.3g" % (name, diff))
    print("%d passed, %d failed (%.1f s)" % (passed, failed, time.time() - t0))
    if failed:
        print("data and checkpoints kept in", ctx.root)
    else:
        shutil.rmtree(ctx.root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
