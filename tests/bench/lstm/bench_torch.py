#!/usr/bin/python3
"""PyTorch's nn.LSTM on the shapes of bench-lstm.c, printing the same `key value` lines.

  train L   forward + backward of nn.LSTM(512, 512, L), T = 64, B = 32 (batch_first=False)
  stream L  B = 1 inference under torch.no_grad(), one step per call, state carried

Usage: bench_torch.py THREADS [REPS [cpu]]   (median of REPS runs after one warm-up;
       `cpu` times by process CPU time, as bench-lstm --cpu-clock)
"""
import statistics
import sys
import time

import torch

T, B, D, H, STREAM_STEPS = 64, 32, 512, 512, 256


clock = time.perf_counter


def median_time(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def main():
    threads = int(sys.argv[1])
    global clock
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    if len(sys.argv) > 3 and sys.argv[3] == "cpu":
        clock = time.process_time
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    print(f"threads {threads}")
    x = torch.randn(T, B, D)
    dy = torch.randn(T, B, H)
    for L in (1, 2):
        lstm = torch.nn.LSTM(D, H, num_layers=L)

        def step():
            lstm.zero_grad(set_to_none=False)
            y, _ = lstm(x)
            y.backward(dy)

        t = median_time(step, reps)
        flops = 3.0 * L * 2.0 * 4 * H * (D + H) * B * T
        print(f"train_L{L}_ms {t * 1e3:.2f}")
        print(f"train_L{L}_gflops {flops / t * 1e-9:.1f}")
    xs = torch.randn(STREAM_STEPS, 1, 1, D)
    for L in (1, 2):
        lstm = torch.nn.LSTM(D, H, num_layers=L)
        state = (torch.zeros(L, 1, H), torch.zeros(L, 1, H))

        def stream():
            s = state
            with torch.no_grad():
                for i in range(STREAM_STEPS):
                    _, s = lstm(xs[i], s)

        t = median_time(stream, reps) / STREAM_STEPS
        print(f"stream_L{L}_us {t * 1e6:.2f}")


if __name__ == "__main__":
    main()
