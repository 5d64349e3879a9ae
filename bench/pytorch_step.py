#!/usr/bin/env python3
"""The PyTorch reference for `batchaug-dist bench step`: the same training step, timed the same way.

Models as in Sources/Engine/Models.swift: the CIFAR ResNets of He et al. (3x3 convolutions without
bias, batch norm, option-A zero-padding shortcuts) and pre-activation wide ResNets (1x1 shortcut
convolutions, a dropout site between the two convolutions of a block, rate 0 as in `bench step`).
A step is forward + cross-entropy + backward + SGD (momentum 0.9, weight decay 5e-4) over a batch
of synthetic CIFAR-shaped inputs; 2 untimed steps, then the median of --iters; one thread. Also the
median CPU seconds of the calling thread per step (on a shared machine: the step's work without
the time spent waiting for a core), as `bench step` reports it.

    python3 -m venv /work/venv-torch && /work/venv-torch/bin/pip install torch numpy
    /work/venv-torch/bin/python bench/pytorch_step.py --model resnet20 --batch-size 64

Prints one JSON line (images_per_second is batch / median step seconds), like `bench step --json`.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, inputs, width, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inputs, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.pad = width - inputs
        self.stride = stride

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        shortcut = x
        if self.stride != 1 or self.pad:
            shortcut = x[:, :, :: self.stride, :: self.stride]
            shortcut = F.pad(shortcut, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(h + shortcut)


class ResNet(nn.Module):
    def __init__(self, depth, classes):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, inputs = [], 16
        for stage, width in enumerate([16, 32, 64]):
            for block in range(n):
                blocks.append(BasicBlock(inputs, width, 2 if stage > 0 and block == 0 else 1))
                inputs = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class WideBlock(nn.Module):
    def __init__(self, inputs, width, stride, dropout):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inputs)
        self.conv1 = nn.Conv2d(inputs, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or inputs != width:
            self.shortcut = nn.Conv2d(inputs, width, 1, stride, 0, bias=False)

    def forward(self, x):
        activated = F.relu(self.bn1(x))
        shortcut = self.shortcut(activated) if self.shortcut is not None else x
        h = self.conv2(self.dropout(F.relu(self.bn2(self.conv1(activated)))))
        return h + shortcut


class WideResNet(nn.Module):
    def __init__(self, depth, widen, classes, dropout=0.0):
        super().__init__()
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        blocks, inputs = [], 16
        for stage, base in enumerate([16, 32, 64]):
            for block in range(n):
                blocks.append(WideBlock(inputs, base * widen, 2 if stage > 0 and block == 0 else 1, dropout))
                inputs = base * widen
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(inputs)
        self.fc = nn.Linear(inputs, classes)

    def forward(self, x):
        x = F.relu(self.bn(self.blocks(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def make(name, classes):
    if name.startswith("resnet"):
        return ResNet(int(name[6:]), classes)
    if name.startswith("wrn"):
        depth, widen = name[3:].split("-")
        return WideResNet(int(depth), int(widen), classes)
    raise SystemExit(f"--model: unknown model '{name}' (resnetD or wrnD-K)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = make(args.model, args.classes)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    images = torch.rand(args.batch_size, 3, args.size, args.size) * 2 - 1
    labels = torch.randint(0, args.classes, (args.batch_size,))

    seconds, cpu = [], []
    for step in range(2 + args.iters):
        start, cpu_start = time.perf_counter(), time.thread_time()
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        if step >= 2:
            seconds.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - cpu_start)
    step_seconds = statistics.median(seconds)
    print(json.dumps({
        "engine": f"pytorch {torch.__version__}", "model": args.model, "batch_size": args.batch_size,
        "threads": torch.get_num_threads(), "iterations": args.iters, "step_seconds": step_seconds,
        "images_per_second": args.batch_size / step_seconds,
        "cpu_seconds": statistics.median(cpu), "images_per_cpu_second": args.batch_size / statistics.median(cpu),
        "parameters": sum(p.numel() for p in model.parameters()),
    }))


if __name__ == "__main__":
    main()
