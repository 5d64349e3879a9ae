#!/usr/bin/env python3
"""torchvision's image pipeline on one core: the reference for `bench augment --dataset folder`.

What a PyTorch user writes for a folder of photographs: `ImageFolder` (Pillow opens each file and
converts it to RGB), `RandomResizedCrop(S)` (torchvision's default scale (0.08, 1) and ratio
(3/4, 4/3), antialiased bilinear resize), `RandomHorizontalFlip()`, `ToTensor()` and `Normalize`
with the ImageNet statistics, batched by a `DataLoader` with `num_workers=0`: the loading runs in
this process, on one core (one worker's work, without the worker's inter-process copy), with
PyTorch held to one thread. Only JPEG and PNG files are samples, as for batchaug-dist.

    /work/venv-torch/bin/python bench/torchvision_augment.py --data-dir ../shared/datasets/hymenoptera \\
        --size 128 --batch-size 32 --steps 28

Prints one JSON line: images, wall and CPU seconds, images per second and per CPU second (the
process's CPU time, which a process stopped by bench/side_by_side.py does not accumulate).
"""

import argparse
import json
import os
import sys
import time

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the folder holding train/<class>/...")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=28, help="batches (epochs are repeated as needed)")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(arguments.seed)
    pipeline = transforms.Compose([
        transforms.RandomResizedCrop(arguments.size),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    dataset = datasets.ImageFolder(os.path.join(arguments.data_dir, "train"), transform=pipeline,
                                   is_valid_file=lambda path: path.lower().endswith((".jpg", ".jpeg", ".png")))
    loader = DataLoader(dataset, batch_size=arguments.batch_size, shuffle=True, num_workers=0, drop_last=True)

    images = 0
    steps = 0
    checksum = 0.0
    wall = time.perf_counter()
    cpu = time.process_time()
    while steps < arguments.steps:
        for batch, _ in loader:
            images += batch.shape[0]
            checksum += float(batch[0, 0, 0, 0])
            steps += 1
            if steps == arguments.steps:
                break
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    print(json.dumps({
        "pipeline": "torchvision", "torch": torch.__version__, "size": arguments.size,
        "batch_size": arguments.batch_size, "steps": steps, "images": images, "samples": len(dataset),
        "seconds": wall, "cpu_seconds": cpu, "images_per_second": images / wall, "images_per_cpu_second": images / cpu,
        "checksum": checksum,
    }), flush=True)


if __name__ == "__main__":
    sys.exit(main())
