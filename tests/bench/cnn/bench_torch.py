#!/usr/bin/python3
"""torchvision's resnet18 (without fc) and the `small` net on the shapes of bench-cnn.c,
eval mode under torch.no_grad(), printing the same `key value` lines (frames/s, best
of REPS runs after one warm-up; the input normalisation from uint8 frames is timed,
as in bench-cnn).

Usage: bench_torch.py TORCH_THREADS [REPS [BATCH]]
"""
import sys
import time

import torch
import torchvision


class Small(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        layers, cin = [], 3
        for c in channels:
            layers += [torch.nn.Conv2d(cin, c, 3, padding=1, bias=False),
                       torch.nn.BatchNorm2d(c), torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
            cin = c
        self.features = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3))


def bench(key, model, size, batch, reps):
    frames = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8)
    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    model.eval()
    best = float("inf")
    with torch.no_grad():
        for r in range(reps + 1):
            t0 = time.perf_counter()
            x = (frames.permute(0, 3, 1, 2).float() / 255.0 - mean) / std
            model(x)
            dt = time.perf_counter() - t0
            if r > 0:
                best = min(best, dt)
    print("%s_fps %.2f" % (key, batch / best), flush=True)


def main():
    threads = int(sys.argv[1])
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    torch.set_num_threads(threads)
    r18 = torchvision.models.resnet18()
    r18.fc = torch.nn.Identity()
    bench("resnet18_112", r18, 112, batch, reps)
    bench("resnet18_224", r18, 224, batch, reps)
    bench("small_64", Small((32, 64, 128, 128)), 64, batch, reps)


if __name__ == "__main__":
    main()
