#!/usr/bin/python3
"""Training throughput of frugal's zoo models in PyTorch (CPU), for the
side-by-side comparison in bench/train_pytorch.sh.

One step = forward, cross-entropy, backward, SGD(momentum 0.9) update, on
synthetic normal inputs and random labels, exactly as `frugal bench train`.
Prints one JSON object: {"samples_per_s": ..., ...}.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCNN(nn.Module):
    # conv 3x3 1->32 pad 1, ReLU, max-pool 2, conv 3x3 32->64 pad 1, ReLU,
    # max-pool 2, fc 3136->128, ReLU, fc 128->10 (model/zoo SmallCNN)
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(3136, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class LeNet5(nn.Module):
    # model/zoo LeNet5: conv 5x5 1->6 pad 2, ReLU, pool, conv 5x5 6->16,
    # ReLU, pool, fc 400->120->84->10
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="small-cnn", choices=["small-cnn", "lenet5"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.01)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = SmallCNN() if a.model == "small-cnn" else LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
    x = torch.randn(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    start = time.perf_counter()
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    total = time.perf_counter() - start
    times.sort()
    print(json.dumps({
        "framework": "pytorch " + torch.__version__,
        "model": a.model, "batch": a.batch, "threads": a.threads, "steps": a.steps,
        "samples_per_s": a.steps * a.batch / total,
        "mean_step_ms": total * 1e3 / a.steps,
        "median_step_ms": times[len(times) // 2],
        "min_step_ms": times[0],
    }))


if __name__ == "__main__":
    main()
