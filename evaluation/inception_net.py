"""Inception v3 up to its 2048-d pool features, defined here so that a plain ``state_dict`` loads without
torchvision: pytorch-fid's ``pt_inception-2015-12-05-*.pth`` (the TensorFlow FID network: 1008 classes,
with its pooling quirks) or torchvision's ``inception_v3`` weights. Parameter names follow torchvision's,
which both files use. Every block is described as data (branches of named conv layers) and built by
one module class.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

# (name, in channels, out channels, kernel, stride, padding)
Conv = tuple[str, int, int, int | tuple[int, int], int, int | tuple[int, int]]
FID_CLASSES = 1008  # the TensorFlow graph's classifier; torchvision's has 1000


def conv(name: str, cin: int, cout: int, kernel=1, stride=1, padding=0) -> Conv:
    return name, cin, cout, kernel, stride, padding


class BasicConv2d(nn.Module):
    """Conv (no bias), BatchNorm (eps 0.001), ReLU."""

    def __init__(self, cin: int, cout: int, kernel, stride, padding) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _pool(kind: str, x: torch.Tensor) -> torch.Tensor:
    if kind == "avg":
        return F.avg_pool2d(x, 3, stride=1, padding=1)
    if kind == "avg_valid":  # TF averages over the valid pixels only
        return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    if kind == "max":
        return F.max_pool2d(x, 3, stride=1, padding=1)
    if kind == "max_down":
        return F.max_pool2d(x, 3, stride=2)
    raise ValueError(kind)


@dataclass(frozen=True)
class Branch:
    """Optional pooling, a chain of convs, then optionally two parallel convs whose outputs are concatenated."""

    convs: tuple[Conv, ...] = ()
    pool: str | None = None
    split: tuple[Conv, ...] = field(default=())


class Mixed(nn.Module):
    """An Inception block: its branches run on the same input; their outputs are concatenated."""

    def __init__(self, branches: list[Branch]) -> None:
        super().__init__()
        self.branches = branches
        for branch in branches:
            for name, cin, cout, kernel, stride, padding in (*branch.convs, *branch.split):
                self.add_module(name, BasicConv2d(cin, cout, kernel, stride, padding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = []
        for branch in self.branches:
            y = _pool(branch.pool, x) if branch.pool else x
            for spec in branch.convs:
                y = getattr(self, spec[0])(y)
            if branch.split:
                y = torch.cat([getattr(self, spec[0])(y) for spec in branch.split], 1)
            outputs.append(y)
        return torch.cat(outputs, 1)


def block_a(cin: int, pool_features: int, pool: str) -> Mixed:
    return Mixed([
        Branch((conv("branch1x1", cin, 64),)),
        Branch((conv("branch5x5_1", cin, 48), conv("branch5x5_2", 48, 64, 5, 1, 2))),
        Branch((conv("branch3x3dbl_1", cin, 64), conv("branch3x3dbl_2", 64, 96, 3, 1, 1),
                conv("branch3x3dbl_3", 96, 96, 3, 1, 1))),
        Branch((conv("branch_pool", cin, pool_features),), pool=pool),
    ])


def block_b(cin: int) -> Mixed:
    return Mixed([
        Branch((conv("branch3x3", cin, 384, 3, 2),)),
        Branch((conv("branch3x3dbl_1", cin, 64), conv("branch3x3dbl_2", 64, 96, 3, 1, 1),
                conv("branch3x3dbl_3", 96, 96, 3, 2))),
        Branch(pool="max_down"),
    ])


def block_c(cin: int, c7: int, pool: str) -> Mixed:
    row, col = ((1, 7), 1, (0, 3)), ((7, 1), 1, (3, 0))
    return Mixed([
        Branch((conv("branch1x1", cin, 192),)),
        Branch((conv("branch7x7_1", cin, c7), conv("branch7x7_2", c7, c7, *row), conv("branch7x7_3", c7, 192, *col))),
        Branch((conv("branch7x7dbl_1", cin, c7), conv("branch7x7dbl_2", c7, c7, *col),
                conv("branch7x7dbl_3", c7, c7, *row), conv("branch7x7dbl_4", c7, c7, *col),
                conv("branch7x7dbl_5", c7, 192, *row))),
        Branch((conv("branch_pool", cin, 192),), pool=pool),
    ])


def block_d(cin: int) -> Mixed:
    return Mixed([
        Branch((conv("branch3x3_1", cin, 192), conv("branch3x3_2", 192, 320, 3, 2))),
        Branch((conv("branch7x7x3_1", cin, 192), conv("branch7x7x3_2", 192, 192, (1, 7), 1, (0, 3)),
                conv("branch7x7x3_3", 192, 192, (7, 1), 1, (3, 0)), conv("branch7x7x3_4", 192, 192, 3, 2))),
        Branch(pool="max_down"),
    ])


def block_e(cin: int, pool: str) -> Mixed:
    row, col = ((1, 3), 1, (0, 1)), ((3, 1), 1, (1, 0))
    return Mixed([
        Branch((conv("branch1x1", cin, 320),)),
        Branch((conv("branch3x3_1", cin, 384),),
               split=(conv("branch3x3_2a", 384, 384, *row), conv("branch3x3_2b", 384, 384, *col))),
        Branch((conv("branch3x3dbl_1", cin, 448), conv("branch3x3dbl_2", 448, 384, 3, 1, 1)),
               split=(conv("branch3x3dbl_3a", 384, 384, *row), conv("branch3x3dbl_3b", 384, 384, *col))),
        Branch((conv("branch_pool", cin, 192),), pool=pool),
    ])


class InceptionV3(nn.Module):
    """Inception v3 feature network: float RGB in [0, 1], [N, 3, 299, 299] -> pool features [N, 2048].

    ``fid=True`` builds the TensorFlow FID graph's variant (pytorch-fid's weights): average pools that
    ignore padding and a max pool in the last block; ``fid=False`` is torchvision's network.
    """

    def __init__(self, fid: bool = True) -> None:
        super().__init__()
        self.fid = fid
        avg = "avg_valid" if fid else "avg"
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, 3, 2, 0)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, 3, 1, 0)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, 3, 1, 1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, 1, 1, 0)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, 3, 1, 0)
        self.Mixed_5b = block_a(192, 32, avg)
        self.Mixed_5c = block_a(256, 64, avg)
        self.Mixed_5d = block_a(288, 64, avg)
        self.Mixed_6a = block_b(288)
        self.Mixed_6b = block_c(768, 128, avg)
        self.Mixed_6c = block_c(768, 160, avg)
        self.Mixed_6d = block_c(768, 160, avg)
        self.Mixed_6e = block_c(768, 192, avg)
        self.Mixed_7a = block_d(768)
        self.Mixed_7b = block_e(1280, avg)
        self.Mixed_7c = block_e(2048, "max" if fid else "avg")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = 2.0 * x - 1.0  # both weight sets expect [-1, 1] (torchvision's transform_input gives the same)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        return x.mean(dim=(2, 3))


def from_state_dict(state: dict[str, torch.Tensor]) -> InceptionV3:
    """Build the network a ``state_dict`` was saved from (FID variant when its classifier has 1008
    classes) and load it; the classifier and auxiliary head are not needed for features and are ignored.
    Raises ``ValueError`` naming the first missing or unexpected parameters."""
    fc = state.get("fc.weight")
    net = InceptionV3(fid=fc is not None and fc.shape[0] == FID_CLASSES)
    features = {k: v for k, v in state.items() if not k.startswith(("fc.", "AuxLogits."))}
    result = net.load_state_dict(features, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(f"not an Inception v3 state_dict (missing {result.missing_keys[:3]}, "
                         f"unexpected {result.unexpected_keys[:3]})")
    return net.eval()
