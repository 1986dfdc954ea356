#!/usr/bin/python3
"""I/O fault sweep of `seqpipe run` and `seqpipe train` (the SQLite method: make the
Nth I/O call fail, for every N, and check each run ends in the right result or the
expected error, never a crash or a half-written file).

    sweep.py SEQPIPE FAULTFS_SO [--errno EIO|ENOSPC|both] [--large] [--keep]

SEQPIPE is the built executable, FAULTFS_SO the LD_PRELOAD library of faultfs.c.
Inputs are made here: two (T, D) float32 .npy feature files with .txt label files.

run:   a labeler checkpoint is trained once without faults; `seqpipe run` on the two
       inputs with csv, segments and npy sinks is then run clean, its calls under the
       output directory counted, and run again with call N failing, for every N.
       Each case must exit 0 (the call did not matter), 1 or 2 with a `seqpipe:`
       message; every final file must be byte-identical to the clean run's or absent;
       no temporary (`.tmp-`, `.part`) may remain.
train: `seqpipe train` of a few epochs, counted the same way, with call N failing.
       Each case must exit 0 or 1 (with a `seqpipe:` message), never die by a signal;
       the checkpoint, when present, must load (`seqpipe run` with it succeeds), the
       previous good checkpoint written before the fault (a copy is placed before
       the run) is either intact or replaced by a complete one, no temporary may
       remain, and NAME.last.safetensors with NAME.last.state.safetensors must either
       come from the same step (`--resume` finishes the training with exit 0) or be
       refused by `--resume` with exit 1 and a `seqpipe:` message.

--errno both (the default) sweeps EIO for a single failing call and ENOSPC for every
call from N on (a full disk stays full).  --large uses longer inputs and more epochs,
for benchmarks (many more calls; minutes, not seconds).  Prints the counts per case
kind and exits 1 when any case failed.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

TEMP_MARKS = (".tmp-", ".part")


def write_npy(path, rows):
    """A version 1.0 (T, D) little-endian float32 .npy file."""
    t, d = len(rows), len(rows[0])
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (t, d)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        for r in rows:
            f.write(struct.pack("<%df" % d, *r))


def make_data(root, frames, dim):
    """Two inputs whose label follows the sign of their first feature."""
    data = os.path.join(root, "data")
    os.makedirs(data)
    names = []
    for k, stem in enumerate(("a", "b")):
        rows, labels = [], []
        for t in range(frames):
            v = 1.0 if (t // 5 + k) % 2 == 0 else -1.0
            rows.append([v] + [0.1 * ((t * (j + 3) + k) % 7 - 3) for j in range(dim - 1)])
            labels.append("up" if v > 0 else "down")
        write_npy(os.path.join(data, stem + ".npy"), rows)
        with open(os.path.join(data, stem + ".txt"), "w") as f:
            f.write("\n".join(labels) + "\n")
        names.append(stem)
    with open(os.path.join(data, "train.csv"), "w") as f:
        f.write("path,labels\n" + "".join("%s.npy,%s.txt\n" % (s, s) for s in names))
    with open(os.path.join(data, "labels.txt"), "w") as f:
        f.write("down\nup\n")
    return data


def write_config(root, data, out, ckpt, epochs):
    path = os.path.join(root, "sweep.ini")
    with open(path, "w") as f:
        f.write(f"""[pipeline]
inputs = {data}/a.npy;{data}/b.npy
output-dir = {out}
jobs = 1
on-error = skip

[decoder]
plugin = npy

[model]
cell = lstm
hidden = 8
checkpoint = {ckpt}

[head]
plugin = labeler
labels = {data}/labels.txt

[train]
manifest = {data}/train.csv
epochs = {epochs}
batch = 2
lr = 0.01
seed = 1
threads = 1
cache-dir = {root}/cache

[sink:csv]
path = {{stem}}.labels.csv

[sink:segments]
path = {{stem}}.segments.csv

[sink:npy]
path = {{stem}}.features.npy
""")
    return path


def snapshot(d):
    """relative path -> bytes of every file under d"""
    files = {}
    for top, _, names in os.walk(d):
        for n in names:
            p = os.path.join(top, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, d)] = f.read()
    return files


def run(args, env_extra, faultfs, timeout=60):
    env = dict(os.environ)
    env.update(env_extra)
    env["LD_PRELOAD"] = faultfs
    env.pop("SEQPIPE_PLUGIN_PATH", None)
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def count_calls(log):
    with open(log) as f:
        return sum(1 for _ in f)


class Sweep:
    def __init__(self):
        self.counts = {}
        self.failures = []

    def note(self, kind, outcome, problem=None):
        key = (kind, outcome)
        self.counts[key] = self.counts.get(key, 0) + 1
        if problem:
            self.failures.append("%s: %s" % (kind, problem))


def check_common(p, allowed):
    """exit status and message; returns a problem or None"""
    if p.returncode < 0:
        return "died by signal %d" % -p.returncode
    if p.returncode not in allowed:
        return "exit %d (expected one of %s): %s" % (p.returncode, allowed, p.stderr.strip()[-300:])
    if p.returncode != 0 and "seqpipe:" not in p.stderr:
        return "exit %d without a 'seqpipe:' message: %r" % (p.returncode, p.stderr[-300:])
    return None


def temporaries(d):
    return [n for n in snapshot(d) if any(m in os.path.basename(n) for m in TEMP_MARKS)]


def sweep_run(sw, seqpipe, faultfs, root, config, modes):
    clean_out = os.path.join(root, "run-clean")
    log = os.path.join(root, "calls.log")
    p = run([seqpipe, "run", config, "-o", clean_out, "-q"],
            {"SP_FAULT_PREFIX": clean_out, "SP_FAULT_LOG": log}, faultfs)
    if p.returncode != 0:
        sys.exit("sweep.py: the clean run failed (%d): %s" % (p.returncode, p.stderr))
    golden = snapshot(clean_out)
    golden.pop("summary.json", None)      # holds timings; checked for presence only
    n_calls = count_calls(log)
    for errno_name, sticky in modes:
        kind = "run/%s%s" % (errno_name, "+" if sticky else "")
        for n in range(1, n_calls + 1):
            out = os.path.join(root, "run-%s-%d" % (errno_name, n))
            p = run([seqpipe, "run", config, "-o", out, "-q"],
                    {"SP_FAULT_PREFIX": out, "SP_FAULT_FAIL": str(n),
                     "SP_FAULT_ERRNO": errno_name, "SP_FAULT_STICKY": "1" if sticky else "0"},
                    faultfs)
            problem = check_common(p, (0, 1, 2))
            got = snapshot(out) if os.path.isdir(out) else {}
            for name, data in got.items():
                if problem:
                    break
                if any(m in os.path.basename(name) for m in TEMP_MARKS):
                    problem = "a temporary remains: %s" % name
                elif name == "summary.json":
                    continue
                elif name not in golden:
                    problem = "an unexpected file: %s" % name
                elif data != golden[name]:
                    problem = "%s differs from the clean run's (%d bytes, clean %d)" % (
                        name, len(data), len(golden[name]))
            if not problem and p.returncode == 0 and set(golden) - set(got):
                problem = "exit 0 but %s missing" % sorted(set(golden) - set(got))
            sw.note(kind, "exit %d" % p.returncode if not problem else "FAIL", problem and
                    "N=%d: %s" % (n, problem))
            shutil.rmtree(out, ignore_errors=True)
    return n_calls


def loads(seqpipe, faultfs, config, ckpt, root):
    """the checkpoint is complete: `seqpipe run` with it succeeds"""
    out = os.path.join(root, "probe")
    p = run([seqpipe, "run", config, "-o", out, "-q", "--set", "model.checkpoint=" + ckpt],
            {}, faultfs)
    shutil.rmtree(out, ignore_errors=True)
    return p.returncode == 0


def sweep_train(sw, seqpipe, faultfs, root, data, epochs, modes):
    log = os.path.join(root, "train-calls.log")
    models = os.path.join(root, "train-clean")
    os.makedirs(models)
    config = write_config(root, data, os.path.join(root, "unused"),
                          os.path.join(models, "m.safetensors"), epochs)
    p = run([seqpipe, "train", config, "-q"], {"SP_FAULT_PREFIX": models, "SP_FAULT_LOG": log},
            faultfs, timeout=120)
    if p.returncode != 0:
        sys.exit("sweep.py: the clean training failed (%d): %s" % (p.returncode, p.stderr))
    good = os.path.join(root, "good.safetensors")
    shutil.copy(os.path.join(models, "m.safetensors"), good)
    n_calls = count_calls(log)
    for errno_name, sticky in modes:
        kind = "train/%s%s" % (errno_name, "+" if sticky else "")
        for n in range(1, n_calls + 1):
            d = os.path.join(root, "train-%s-%d" % (errno_name, n))
            os.makedirs(d)
            ckpt = os.path.join(d, "m.safetensors")
            shutil.copy(good, ckpt)
            with open(good, "rb") as f:
                good_bytes = f.read()
            cfg = write_config(d, data, os.path.join(d, "out"), ckpt, epochs)
            p = run([seqpipe, "train", cfg, "-q"],
                    {"SP_FAULT_PREFIX": d, "SP_FAULT_FAIL": str(n), "SP_FAULT_ERRNO": errno_name,
                     "SP_FAULT_STICKY": "1" if sticky else "0"}, faultfs, timeout=120)
            problem = check_common(p, (0, 1))
            if not problem:
                stray = temporaries(d)
                if stray:
                    problem = "temporaries remain: %s" % stray
            if not problem and not os.path.exists(ckpt):
                problem = "the previous checkpoint is gone"
            if not problem:
                with open(ckpt, "rb") as f:
                    now = f.read()
                if now != good_bytes and not loads(seqpipe, faultfs, cfg, ckpt, d):
                    problem = "the checkpoint was replaced by one that does not load"
            outcome = "exit %d" % p.returncode
            last = os.path.join(d, "m.last.safetensors")
            if not problem and os.path.exists(last):
                r = run([seqpipe, "train", cfg, "-q", "--resume", last], {}, faultfs, timeout=120)
                if r.returncode == 0:
                    outcome += ", resumed"
                elif r.returncode == 1 and "seqpipe:" in r.stderr:
                    outcome += ", resume refused"
                else:
                    problem = "--resume of the pair: exit %d: %s" % (r.returncode,
                                                                    r.stderr.strip()[-300:])
            sw.note(kind, outcome if not problem else "FAIL",
                    problem and "N=%d: %s" % (n, problem))
            shutil.rmtree(d, ignore_errors=True)
    return n_calls


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seqpipe")
    ap.add_argument("faultfs")
    ap.add_argument("--errno", choices=("EIO", "ENOSPC", "both"), default="both")
    ap.add_argument("--large", action="store_true", help="a longer sweep, for benchmarks")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    a = ap.parse_args()
    seqpipe, faultfs = os.path.abspath(a.seqpipe), os.path.abspath(a.faultfs)
    modes = {"EIO": [("EIO", False)], "ENOSPC": [("ENOSPC", True)],
             "both": [("EIO", False), ("ENOSPC", True)]}[a.errno]
    frames, epochs = (400, 6) if a.large else (30, 2)

    root = os.path.realpath(tempfile.mkdtemp(prefix="seqpipe-faults-"))
    t0 = time.time()
    try:
        data = make_data(root, frames, 4)
        ckpt = os.path.join(root, "model.safetensors")
        config = write_config(root, data, os.path.join(root, "out"), ckpt, epochs)
        p = run([seqpipe, "train", config, "-q"], {}, faultfs, timeout=120)
        if p.returncode != 0:
            sys.exit("sweep.py: training the run's model failed (%d): %s" % (p.returncode, p.stderr))
        sw = Sweep()
        n_run = sweep_run(sw, seqpipe, faultfs, root, config, modes)
        n_train = sweep_train(sw, seqpipe, faultfs, root, data, epochs, modes)
    finally:
        if a.keep:
            print("scratch directory:", root)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("counted calls: run %d, train %d; %.1f s" % (n_run, n_train, time.time() - t0))
    for (kind, outcome), k in sorted(sw.counts.items()):
        print("  %-14s %-24s %d" % (kind, outcome, k))
    for f in sw.failures:
        print("FAIL", f)
    total = sum(sw.counts.values())
    print("%d cases, %d failed" % (total, len(sw.failures)))
    return 1 if sw.failures else 0


if __name__ == "__main__":
    sys.exit(main())
