#!/usr/bin/env python3
"""PyTorch DDP side of "time to accuracy, side by side" (issue 25, item 2).

Trains the recipe of

    mpirun -np 2 batchaug-dist train --dataset cifar10 --data-dir DIR --model resnet20 --batch-size 128 \\
        --copies M --ghost-batch-size 64 --epochs E --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --seed S

with torch.nn.parallel.DistributedDataParallel (gloo, 2 processes, one thread and one core each),
torchvision.transforms.v2 for the augmentation and a DataLoader with num_workers=0, and prints after
every epoch one JSON line (also appended to --out): wall and training seconds, validation error.

    nice -n 19 /work/venv-torch/bin/python bench/ddp_cifar.py --copies 1 --epochs 30 --seed 1 \\
        --data-dir /work/shared/datasets/cifar10-jpeg --out ddp-m1-s1.jsonl

The script starts its 2 processes itself (torch.multiprocessing.spawn, MASTER_ADDR 127.0.0.1, a free
port). Under torchrun (RANK/WORLD_SIZE set) it runs as the rank it is given instead:
    torchrun --nproc-per-node 2 --master-addr 127.0.0.1 bench/ddp_cifar.py ...
`--self-check` runs the ghost batch norm and batch layout checks (no data, one process) and exits.

What is the same as ours (file:line of Sources/ unless stated):
- data: CIFAR-10 binary records, normalised with Datasets/DatasetDescriptor.swift:64 (mean/std of
  the cifar10 case): x/255 then (x - mean)/std, Augmentation/ImageKernels.swift:9-13.
- augmentation: "crop=4,flip" (DatasetDescriptor.swift:65; Transform.swift:9-12,21): zero pixel
  padding of 4 then a random 32x32 window (offset uniform in -4..4 per axis, TransformDraw.swift:100-102),
  flip with probability 1/2; each copy draws its own. Validation: normalisation only.
- batch: B = 128 distinct samples per step, 64 per rank; M copies per sample laid out copy-major
  (copy 0 of the 64 samples, then copy 1, ...: Augmentation/BatchAugmenter.swift:6-10), so a ghost
  batch of 64 is one copy of every sample of the rank's step. Steps per epoch floor(n/2/64)
  (Datasets/EpochPlan.swift:7-13, 101); the leftover samples are dropped.
- ghost batch norm: every BatchNorm2d normalises each group of G consecutive images with the group's
  own statistics; running statistics updated once per group, momentum 0.1, unbiased variance, eps 1e-5
  (Engine/Layers/BatchNorm.swift:6-9, 37, 99-100). No SyncBatchNorm. Each rank keeps its own running
  statistics (no buffer sync in forward); before evaluating they are averaged over the ranks and put
  back afterwards (DataParallel/RankStatistics.swift:67-86, Training/Trainer.swift:266).
- model: resnet20 from python/batchaug_models.py (our zoo's module tree, Engine/Models.swift:80-103:
  option-A zero-padding shortcuts, convolutions without bias). Init: the same distributions as ours
  (conv weights normal with std sqrt(2/fan_in), linear weight and bias uniform +-1/sqrt(fan_in), BN
  1 and 0: Engine/Parameters.swift:31-36, Layers/Conv2D.swift:151-153, Layers/Linear.swift:21-24),
  but other draws: the starting point cannot be the same bit for bit.
- loss: mean cross-entropy over the rank's M*64 images; DDP averages the gradients over the 2 ranks:
  the mean over all M*B images, as our gradient scale 1/(M*B) (Engine/SGD.swift:8).
- SGD: torch.optim.SGD, lr 0.1 constant, momentum 0.9, dampening 0, no Nesterov, weight decay 5e-4 on
  conv and linear weights only (Engine/SGD.swift:1-7, 69; decays: true only for Conv2D/Linear weights).
- evaluation: after every epoch on all 10,000 test images, each rank its contiguous half
  (Datasets/ShardPartition.swift:3-5), sums all-reduced (DataParallel/TestSetEvaluation.swift).
- timing: "train_seconds" is the sum of the epochs' step loops (data, augmentation, forward, backward,
  all-reduce, update) without evaluation, like our epoch_seconds (Training/Trainer.swift:190,238, measured
  before finishEpoch evaluates); "wall_seconds" also counts the evaluations.

What differs (cannot or need not match):
- random draws: weights, epoch orders, crops and flips come from torch's generators, not our Philox
  streams; --train-samples picks another subset of the same size.
- epoch order: DistributedSampler deals each rank every other index of a fresh permutation of the
  whole split each epoch; ours gives rank r the fixed contiguous half r of the split and permutes
  it each epoch (EpochPlan.swift:1-24). Both: disjoint shards, 64 distinct samples per rank per step.
- arithmetic: PyTorch's kernels (float32 sums, one-pass vs our two-pass variance, ...) round
  differently; DDP all-reduces in buckets of its own size with its own overlap.
"""

import argparse
import inspect
import json
import os
import socket
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler
from torchvision.transforms import v2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import batchaug_models  # noqa: E402  (our model zoo in PyTorch: the export feature's module tree)

# Sources/Datasets/DatasetDescriptor.swift:64 (cifar10)
MEAN = [0.4914, 0.4822, 0.4465]
STD = [0.2470, 0.2435, 0.2616]
PADDING = 4  # "crop=4,flip": DatasetDescriptor.swift:65, Transform.defaultCropPadding (Transform.swift:21)
WORLD = 2


class GhostBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d that, in training, normalises each group of `ghost` consecutive images of the batch
    with that group's statistics and updates the running statistics once per group, in order (what
    PyTorch's BatchNorm2d would do called on each group): our BatchNorm's one pass per ghost batch
    (Sources/Engine/Layers/BatchNorm.swift:6-9). Weight, bias and running statistics are shared by
    the groups; a group of the whole batch is plain BatchNorm2d. Evaluation uses the running statistics."""

    def __init__(self, num_features, ghost, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.ghost = ghost

    def forward(self, x):
        if not self.training or x.shape[0] <= self.ghost:
            return super().forward(x)
        if x.shape[0] % self.ghost:
            raise ValueError(f"ghost batch {self.ghost} does not divide the batch of {x.shape[0]} images")
        return torch.cat([F.batch_norm(chunk, self.running_mean, self.running_var, self.weight, self.bias,
                                       True, self.momentum, self.eps)
                          for chunk in x.split(self.ghost)])


def ghost_batch_norm(model, ghost):
    """Replaces every BatchNorm2d of `model` by a GhostBatchNorm2d with the same state."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.BatchNorm2d:
                replacement = GhostBatchNorm2d(child.num_features, ghost, child.eps, child.momentum)
                replacement.load_state_dict(child.state_dict())
                setattr(parent, name, replacement)
    return model


def init_like_ours(model):
    """Our initial distributions (Sources/Engine/Parameters.swift:31-36): conv weights He-normal
    (std sqrt(2/fan_in)); linear weights and biases uniform +-1/sqrt(fan_in), which is PyTorch's default
    for nn.Linear already; batch norm 1 and 0 (PyTorch's default)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            if module.bias is not None:
                bound = 1 / np.sqrt(module.weight[0].numel())
                nn.init.uniform_(module.bias, -bound, bound)


def read_cifar(directory, names):
    """uint8 images [N, 3, 32, 32] and int64 labels [N] of CIFAR-10 binary files (1 label byte, then
    3072 bytes of planar RGB per record)."""
    records = np.concatenate([np.fromfile(os.path.join(directory, name), np.uint8).reshape(-1, 3073) for name in names])
    images = torch.from_numpy(np.ascontiguousarray(records[:, 1:]).reshape(-1, 3, 32, 32))
    return images, torch.from_numpy(records[:, 0].astype(np.int64))


class Copies(Dataset):
    """Sample i as M independently augmented uint8 copies [M, 3, 32, 32], and its label."""

    def __init__(self, images, labels, copies, transform):
        self.images, self.labels, self.copies, self.transform = images, labels, copies, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        image = self.images[index]
        return torch.stack([self.transform(image) for _ in range(self.copies)]), self.labels[index]


def normalise(uint8_images):
    """Float images (x/255 - mean)/std, as our Normalisation (ImageKernels.swift:9-13)."""
    return v2.functional.normalize(v2.functional.to_dtype(uint8_images, torch.float32, scale=True), MEAN, STD)


def copy_major(batch):
    """Collates b samples of M copies into the M*b batch in our layout (BatchAugmenter.swift:6-10):
    image m*b + k is copy m of sample k; normalised."""
    copies = torch.stack([images for images, _ in batch])  # [b, M, 3, 32, 32]
    labels = torch.stack([label for _, label in batch])
    b, m = copies.shape[:2]
    return normalise(copies.transpose(0, 1).reshape(m * b, *copies.shape[2:])), labels.repeat(m)


def bn_buffers(model):
    return [buffer for name, buffer in model.named_buffers() if name.endswith(("running_mean", "running_var"))]


def evaluate(model, images, labels, chunk=500):
    """Sums of loss and correct predictions, and the count, over this rank's test images (eval mode)."""
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for first in range(0, len(images), chunk):
            logits = model(normalise(images[first:first + chunk]))
            target = labels[first:first + chunk]
            loss += F.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(1) == target).sum().item()
    model.train()
    return loss, correct, len(images)


def train(rank, world, args):
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    allowed = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {rank if rank in allowed else allowed[rank % len(allowed)]})
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)

    train_images, train_labels = read_cifar(args.data_dir, [f"data_batch_{i}.bin" for i in range(1, 6)])
    test_images, test_labels = read_cifar(args.data_dir, ["test_batch.bin"])
    if args.train_samples:
        subset = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(args.seed))
        subset = subset[:args.train_samples].sort().values
        train_images, train_labels = train_images[subset], train_labels[subset]
    shard = slice(rank * len(test_images) // world, (rank + 1) * len(test_images) // world)
    test_images, test_labels = test_images[shard].contiguous(), test_labels[shard].contiguous()

    per_rank = args.batch_size // world
    assert per_rank * world == args.batch_size, "--batch-size must be a multiple of the 2 ranks"
    ghost = args.ghost_batch_size or per_rank * args.copies
    assert (per_rank * args.copies) % ghost == 0, f"ghost batch {ghost} must divide {per_rank * args.copies}"

    torch.manual_seed(args.seed)  # the same model on both ranks (DDP broadcasts rank 0's anyway)
    model = ghost_batch_norm(batchaug_models.build(args.model, 3, 32, 32, 10), ghost)
    init_like_ours(model)
    decay = [p for p in model.parameters() if p.dim() > 1]  # conv and linear weights (SGD.swift:69)
    no_decay = [p for p in model.parameters() if p.dim() <= 1]  # BN scale/shift, linear bias
    # No buffer sync in forward: each rank's running statistics are its own, as ours (averaged only
    # for evaluation). At construction they are synced from rank 0, equal anyway (0 and 1).
    # (torch >= 2.15 names it forward_sync_buffers and deprecates broadcast_buffers.)
    sync = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters \
        else "broadcast_buffers"
    ddp = DistributedDataParallel(model, **{sync: False})
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": args.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=args.lr, momentum=args.momentum, dampening=0, nesterov=False)

    torch.manual_seed(args.seed * 7919 + 1 + rank)  # each rank its own crops and flips
    transform = v2.Compose([v2.RandomCrop(32, padding=PADDING, fill=0, padding_mode="constant"),
                            v2.RandomHorizontalFlip(p=0.5)])
    dataset = Copies(train_images, train_labels, args.copies, transform)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=per_rank, sampler=sampler, num_workers=0, drop_last=True,
                        collate_fn=copy_major)
    steps = len(loader)

    def evaluate_with_mean_statistics():
        """(test loss sum, correct, count) over both ranks, with the running statistics averaged over
        the ranks for the evaluation and restored after it (RankStatistics.swift:67-86), and how far
        this rank's own statistics were from the mean (the largest gap over the ranks)."""
        buffers = bn_buffers(model)
        held = [b.clone() for b in buffers]
        for b in buffers:
            dist.all_reduce(b)
            b.div_(world)
        # How far this rank's own running statistics are from the mean (0 would mean they were synced).
        gap = torch.tensor([max((b - h).abs().max().item() for b, h in zip(buffers, held))])
        dist.all_reduce(gap, op=dist.ReduceOp.MAX)
        sums = torch.tensor(evaluate(model, test_images, test_labels), dtype=torch.float64)
        for b, h in zip(buffers, held):
            b.copy_(h)
        dist.all_reduce(sums)
        return sums, gap.item()

    out = open(args.out, "a") if args.out and rank == 0 else None

    def write(record):
        if rank == 0:
            line = json.dumps(record)
            print(line, flush=True)
            if out:
                out.write(line + "\n")
                out.flush()

    global_step = 0
    dist.barrier()
    start = time.perf_counter()
    train_seconds = train_cpu_seconds = 0.0
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        epoch_start, cpu_start = time.perf_counter(), time.process_time()
        loss_sum, correct, images = 0.0, 0, 0
        evaluating_seconds = evaluating_cpu_seconds = 0.0  # --eval-every-steps' evaluations: not training
        for step, (x, y) in enumerate(loader):
            logits = ddp(x)
            loss = F.cross_entropy(logits, y)  # mean over the rank's M*64 images
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP: gradients averaged over ranks -> mean over M*B
            optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += (logits.detach().argmax(1) == y).sum().item()
            images += len(y)
            global_step += 1
            last = step + 1 == steps or (args.max_steps and step + 1 >= args.max_steps)
            # The test set after this step (our --eval-every-steps: not where the epoch's end evaluates).
            if args.eval_every_steps and global_step % args.eval_every_steps == 0 and not last:
                eval_start = time.perf_counter()
                eval_cpu_start = time.process_time()
                sums, _ = evaluate_with_mean_statistics()
                evaluating_seconds += time.perf_counter() - eval_start
                evaluating_cpu_seconds += time.process_time() - eval_cpu_start
                write({"type": "step", "epoch": epoch, "step": global_step,
                       "train_seconds": train_seconds + (time.perf_counter() - epoch_start) - evaluating_seconds,
                       "val_error": 1 - sums[1].item() / sums[2].item(), "val_loss": sums[0].item() / sums[2].item(),
                       "eval_seconds": time.perf_counter() - eval_start, "seed": args.seed, "copies": args.copies})
            if last:
                break
        epoch_seconds = time.perf_counter() - epoch_start - evaluating_seconds
        train_seconds += epoch_seconds
        # This process's CPU time (all its threads), its evaluations inside the epoch excluded.
        train_cpu_seconds += time.process_time() - cpu_start - evaluating_cpu_seconds

        eval_start = time.perf_counter()
        # Replicas must be identical (our check after every epoch, Trainer.swift:256-260).
        flat = torch.cat([p.detach().flatten() for p in model.parameters()])
        extremes = torch.stack([flat, -flat])
        dist.all_reduce(extremes, op=dist.ReduceOp.MAX)
        if not torch.equal(extremes[0], -extremes[1]):
            raise RuntimeError(f"after epoch {epoch} the ranks' parameters differ")
        evaluation, gap = evaluate_with_mean_statistics()
        training = torch.tensor([loss_sum, correct, images], dtype=torch.float64)
        dist.all_reduce(training)
        sums = torch.cat([evaluation, training])
        eval_seconds = time.perf_counter() - eval_start
        write({
            "type": "epoch", "epoch": epoch, "wall_seconds": time.perf_counter() - start, "train_seconds": train_seconds,
            "val_error": 1 - sums[1].item() / sums[2].item(), "val_loss": sums[0].item() / sums[2].item(),
            "train_loss": sums[3].item() / sums[5].item(), "train_error": 1 - sums[4].item() / sums[5].item(),
            "images_per_second": sums[5].item() / epoch_seconds, "epoch_seconds": epoch_seconds,
            "rank0_train_cpu_seconds": train_cpu_seconds,
            "eval_seconds": eval_seconds, "running_stats_rank_gap": gap, "steps": step + 1, "copies": args.copies, "batch_size": args.batch_size,
            "ghost_batch_size": ghost, "lr": args.lr, "seed": args.seed, "model": args.model, "side": "pytorch-ddp"})
    if out:
        out.close()
    dist.destroy_process_group()


def self_check():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    # 1. ghost = whole batch is BatchNorm2d: outputs, gradients, running statistics.
    x = torch.randn(64, 8, 5, 5) * 3 + 1
    plain, ghost = nn.BatchNorm2d(8), GhostBatchNorm2d(8, 64)
    with torch.no_grad():
        plain.weight.uniform_(0.5, 2)
        plain.bias.uniform_(-1, 1)
    ghost.load_state_dict(plain.state_dict())
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = plain(xa), ghost(xb)
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    assert torch.equal(ya, yb) and torch.equal(xa.grad, xb.grad)
    assert torch.equal(plain.weight.grad, ghost.weight.grad) and torch.equal(plain.bias.grad, ghost.bias.grad)
    assert torch.equal(plain.running_mean, ghost.running_mean) and torch.equal(plain.running_var, ghost.running_var)
    # 2. ghost 16 of 64: each group as a separate BatchNorm2d call, running statistics updated in order.
    ghost16, reference = GhostBatchNorm2d(8, 16), nn.BatchNorm2d(8)
    y16 = ghost16(x)
    parts = [reference(chunk) for chunk in x.split(16)]
    assert torch.allclose(y16, torch.cat(parts), atol=1e-6)
    assert torch.allclose(ghost16.running_mean, reference.running_mean, atol=1e-6)
    assert torch.allclose(ghost16.running_var, reference.running_var, atol=1e-6)
    for chunk, part in zip(y16.split(16), parts):  # each group is normalised on its own
        assert chunk.mean((0, 2, 3)).abs().max() < 1e-5
    ghost16.eval()
    assert torch.allclose(ghost16(x), reference.eval()(x), atol=1e-6)
    # 3. the zoo's resnet20 with ghost BN of the whole batch equals the plain model, train and eval.
    base = batchaug_models.build("resnet20", 3, 32, 32, 10)
    swapped = ghost_batch_norm(batchaug_models.build("resnet20", 3, 32, 32, 10), 64)
    swapped.load_state_dict(base.state_dict())
    assert sum(isinstance(m, GhostBatchNorm2d) for m in swapped.modules()) == 19
    assert not any(type(m) is nn.BatchNorm2d for m in swapped.modules())
    images = torch.randn(64, 3, 32, 32)
    assert torch.equal(base(images), swapped(images))
    assert torch.equal(base.eval()(images), swapped.eval()(images))
    # 4. copy-major layout: image m*b + k is copy m of sample k.
    pixels = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1).expand(6, 3, 32, 32).contiguous()
    tagged = Copies(pixels, torch.arange(6), 3, lambda image: image)
    x, y = copy_major([tagged[i] for i in [4, 1, 5]])
    assert y.tolist() == [4, 1, 5] * 3
    assert torch.allclose(x[:, 0, 0, 0], normalise(pixels[[4, 1, 5] * 3])[:, 0, 0, 0])
    # 5. the augmentation keeps each copy's own randomness, zero padding and shape.
    transform = v2.Compose([v2.RandomCrop(32, padding=PADDING), v2.RandomHorizontalFlip()])
    image = torch.randint(1, 256, (3, 32, 32), dtype=torch.uint8)
    outs = torch.stack([transform(image) for _ in range(64)])
    assert outs.shape == (64, 3, 32, 32) and outs.dtype == torch.uint8
    assert len({o.numpy().tobytes() for o in outs}) > 16 and (outs == 0).any()
    print("self-check passed: ghost BN = BatchNorm2d for ghost = batch (outputs, grads, running stats), "
          "per-group ghost BN, resnet20 swap (19 BN layers), copy-major layout, per-copy augmentation")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="/work/shared/datasets/cifar10-jpeg")
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--batch-size", type=int, default=128, help="B: distinct samples per step over both ranks")
    parser.add_argument("--copies", type=int, default=1, help="M: augmented copies of each sample per step")
    parser.add_argument("--ghost-batch-size", type=int, default=64, help="images per batch-norm group per rank (0: whole)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-samples", type=int, default=0, help="train on a seed-determined subset (quick tests)")
    parser.add_argument("--max-steps", type=int, default=0, help="at most this many steps per epoch (quick tests)")
    parser.add_argument("--eval-every-steps", type=int, default=0,
                        help="also evaluate after every N-th step (of the run) that does not end an epoch; writes a "
                             "\"step\" line with train_seconds so far (0: only at epoch ends)")
    parser.add_argument("--out", help="append the JSON lines (one per epoch, and per --eval-every-steps) to this file")
    parser.add_argument("--port", type=int, default=0, help="MASTER_PORT for the spawned processes (0: a free one)")
    parser.add_argument("--self-check", action="store_true", help="check ghost batch norm and the batch layout, then exit")
    args = parser.parse_args()
    if args.self_check:
        self_check()
        return
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:  # torchrun
        train(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args)
        return
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    if args.port:
        os.environ["MASTER_PORT"] = str(args.port)
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["MASTER_PORT"] = str(s.getsockname()[1])
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mp.spawn(train, args=(WORLD, args), nprocs=WORLD, join=True)


if __name__ == "__main__":
    main()
