#!/usr/bin/python3
"""The labeler demo's training loop in PyTorch on seqpipe's cached features.

  bench_train.py CACHE_DIR THREADS EPOCHS HIDDEN BATCH TBPTT [wall|cpu]

Same model (LSTM of HIDDEN, linear head over 5 classes, inputs normalised), the same
batch, truncated BPTT chunks with the state carried (detached), Adam and gradient-norm
clipping at 5.  Labels are drawn at random: only the speed is measured.  Prints the
training frames per second (valid frames over the timed epochs), by the wall clock or
by the process's CPU time."""
import glob
import os
import sys
import time

import numpy as np
import torch

cache, threads, epochs, H, B, K = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
clock = time.process_time if len(sys.argv) > 7 and sys.argv[7] == "cpu" else time.perf_counter
torch.set_num_threads(threads)
torch.manual_seed(1)
seqs = [np.load(f) for f in sorted(glob.glob(os.path.join(cache, "*.npy")))
        if not f.endswith(".frames.npy")]
allx = np.concatenate(seqs)
mean, std = allx.mean(0), np.maximum(allx.std(0), 1e-6)
seqs = [torch.from_numpy((s - mean) / std).float() for s in seqs]
labels = [torch.randint(0, 5, (len(s),)) for s in seqs]
D, C = seqs[0].shape[1], 5
lstm, head = torch.nn.LSTM(D, H), torch.nn.Linear(H, C)
params = list(lstm.parameters()) + list(head.parameters())
opt = torch.optim.Adam(params, lr=0.005)


def epoch():
    order = torch.randperm(len(seqs)).tolist()
    frames = 0
    for i in range(0, len(order), B):
        idx = order[i:i + B]
        T = max(len(seqs[j]) for j in idx)
        x = torch.zeros(T, len(idx), D)
        y = torch.full((T, len(idx)), -100, dtype=torch.long)
        for b, j in enumerate(idx):
            x[:len(seqs[j]), b] = seqs[j]
            y[:len(seqs[j]), b] = labels[j]
        state = None
        for t0 in range(0, T, K):
            out, state = lstm(x[t0:t0 + K], state)
            state = tuple(s.detach() for s in state)
            loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, C),
                                                     y[t0:t0 + K].reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
        frames += sum(len(seqs[j]) for j in idx)
    return frames


epoch()   # warm-up
t = clock()
frames = sum(epoch() for _ in range(epochs))
print("%.1f" % (frames / (clock() - t)))
