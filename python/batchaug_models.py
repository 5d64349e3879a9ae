"""The models of batchaug-dist's zoo as PyTorch modules, and a loader for `batchaug-dist export`.

Every model here has the module tree of the Swift definition (Sources/Engine/Models.swift), so its
``state_dict`` has the names of the exported tensors and the file loads with ``strict=True``::

    import batchaug_models
    model, card = batchaug_models.load("model.safetensors")       # eval mode
    logits = model(batchaug_models.normalize(pixels, card))        # pixels: uint8 [N, C, H, W]

Needs torch, numpy and safetensors. The file's metadata (the model card) names the architecture,
the classes, the input shape and the normalisation.
"""

import json
import re

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    """Two hidden layers of 512 with batch norm, ReLU and dropout, over the flattened image."""

    def __init__(self, in_features, classes, dropout=0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, 512)
        self.bn1 = nn.BatchNorm1d(512)
        self.dropout1 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(512, 512)
        self.bn2 = nn.BatchNorm1d(512)
        self.dropout2 = nn.Dropout(dropout)
        self.fc3 = nn.Linear(512, classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.dropout1(F.relu(self.bn1(self.fc1(x))))
        x = self.dropout2(F.relu(self.bn2(self.fc2(x))))
        return self.fc3(x)


def conv3x3(inputs, outputs, stride=1):
    return nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False)


class CNN(nn.Module):
    """Three 3x3 conv-BN-ReLU stages (32, 64, 128 channels), 2x2 max pooling after the first two
    while the image is at least 2 pixels high, global average pooling, dropout, linear."""

    def __init__(self, channels, height, classes, dropout=0.0):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(channels, 32), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = conv3x3(32, 64), nn.BatchNorm2d(64)
        self.conv3, self.bn3 = conv3x3(64, 128), nn.BatchNorm2d(128)
        self.pools = []
        for _ in range(2):
            self.pools.append(height >= 2)
            height = height // 2 if height >= 2 else height
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(128, classes)

    def forward(self, x):
        for index, (conv, bn) in enumerate([(self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)]):
            x = F.relu(bn(conv(x)))
            if index < 2 and self.pools[index]:
                x = F.max_pool2d(x, 2)
        return self.fc(self.dropout(x.mean((2, 3))))


class ZeroPadShortcut(nn.Module):
    """He et al.'s option A: every stride-th row and column, new channels zero, half before the old."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.stride, self.before, self.after = stride, (outputs - inputs) // 2, outputs - inputs - (outputs - inputs) // 2

    def forward(self, x):
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.before, self.after))


class BasicBlock(nn.Module):
    """conv-BN-ReLU, conv-BN, + shortcut, ReLU (the CIFAR ResNets)."""

    def __init__(self, inputs, outputs, stride):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(inputs, outputs, stride), nn.BatchNorm2d(outputs)
        self.conv2, self.bn2 = conv3x3(outputs, outputs), nn.BatchNorm2d(outputs)
        self.shortcut = ZeroPadShortcut(inputs, outputs, stride) if stride != 1 or inputs != outputs else nn.Identity()

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResNet(nn.Module):
    """The CIFAR ResNets of He et al. 2016: depth 6n+2, stages of 16, 32, 64 channels."""

    def __init__(self, depth, channels, classes):
        super().__init__()
        blocks = (depth - 2) // 6
        self.conv1, self.bn1 = conv3x3(channels, 16), nn.BatchNorm2d(16)
        width = 16
        for stage, base in enumerate([16, 32, 64]):
            layers = []
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(width, base, stride))
                width = base
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))


class WideBlock(nn.Module):
    """Pre-activation: BN-ReLU, conv, BN-ReLU, dropout, conv; + the input, or a 1x1 convolution of
    the activated input where the shape changes."""

    def __init__(self, inputs, outputs, stride, dropout):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inputs)
        self.conv1, self.bn2 = conv3x3(inputs, outputs, stride), nn.BatchNorm2d(outputs)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = conv3x3(outputs, outputs)
        self.shortcut = nn.Conv2d(inputs, outputs, 1, stride=stride, bias=False) if stride != 1 or inputs != outputs else None

    def forward(self, x):
        activated = F.relu(self.bn1(x))
        h = self.conv2(self.dropout(F.relu(self.bn2(self.conv1(activated)))))
        return h + (self.shortcut(activated) if self.shortcut is not None else x)


class WideResNet(nn.Module):
    """Wide ResNets of Zagoruyko & Komodakis 2016: depth 6n+4, widths 16k, 32k, 64k."""

    def __init__(self, depth, widen, channels, classes, dropout=0.0):
        super().__init__()
        blocks = (depth - 4) // 6
        self.conv1 = conv3x3(channels, 16)
        width = 16
        for stage, base in enumerate([16, 32, 64]):
            layers = []
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(WideBlock(width, base * widen, stride, dropout))
                width = base * widen
            setattr(self, f"block{stage + 1}", nn.Sequential(*layers))
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width, classes)

    def forward(self, x):
        x = self.block3(self.block2(self.block1(self.conv1(x))))
        return self.fc(F.relu(self.bn(x)).mean((2, 3)))


def build(architecture, channels, height, width, classes, dropout=0.0):
    """The zoo's model `architecture` (mlp, cnn, resnetD with D = 6n+2, wrnD-K with D = 6n+4)."""
    if architecture == "mlp":
        return MLP(channels * height * width, classes, dropout)
    if architecture == "cnn":
        return CNN(channels, height, classes, dropout)
    match = re.fullmatch(r"resnet(\d+)", architecture)
    if match and int(match[1]) >= 8 and (int(match[1]) - 2) % 6 == 0:
        return ResNet(int(match[1]), channels, classes)
    match = re.fullmatch(r"wrn(\d+)-(\d+)", architecture)
    if match and int(match[1]) >= 10 and (int(match[1]) - 4) % 6 == 0 and int(match[2]) >= 1:
        return WideResNet(int(match[1]), int(match[2]), channels, classes, dropout)
    raise ValueError(f"unknown model '{architecture}': expected mlp, cnn, resnetD (D = 6n+2) or wrnD-K (D = 6n+4)")


def read_card(path):
    """The model card of an exported file: its metadata, lists and the configuration parsed."""
    from safetensors import safe_open

    with safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}
    if metadata.get("format") != "batchaug-dist model":
        raise ValueError(f"{path}: not a model written by `batchaug-dist export`")
    card = dict(metadata)
    for key in ["classes", "input_shape", "normalization_mean", "normalization_std", "configuration"]:
        card[key] = json.loads(metadata[key])
    card["batch_norm_epsilon"] = float(metadata["batch_norm_epsilon"])
    return card


def load(path):
    """The exported model at `path` in eval mode, its weights and running statistics loaded with
    strict=True, and its card."""
    from safetensors.torch import load_file

    card = read_card(path)
    channels, height, width = card["input_shape"]
    model = build(card["architecture"], channels, height, width, len(card["classes"]))
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eps = card["batch_norm_epsilon"]
    # A plain dict of tensors: PyTorch's batch norm fills in num_batches_tracked (which only a
    # cumulative moving average would use) when a state dict without version metadata lacks it.
    model.load_state_dict(load_file(path), strict=True)
    return model.eval(), card


def normalize(pixels, card):
    """uint8 pixels [N, C, H, W] (C in the dataset's channel order) as the model's input tensor."""
    mean = np.asarray(card["normalization_mean"], np.float32)[None, :, None, None]
    std = np.asarray(card["normalization_std"], np.float32)[None, :, None, None]
    return torch.from_numpy(((np.asarray(pixels, np.float32) / 255 - mean) / std).astype(np.float32))
