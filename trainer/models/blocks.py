"""Building blocks shared by the generators and discriminators (MUNIT's official layer vocabulary).

Every block is export-friendly: no batch-size branches, no state written onto modules between calls.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MunitLayerNorm(nn.Module):
    """MUNIT's LayerNorm: per sample over (C, H, W), UNBIASED std, divide by (std + eps), per-channel affine.

    The official code special-cases batch size 1 (normalising over the whole batch); for one sample that
    is the same arithmetic, so this version always normalises per sample and exports at any batch size.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        self.eps = eps
        self.affine = affine
        if affine:
            self.gamma = nn.Parameter(torch.empty(num_features).uniform_())
            self.beta = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        shape = (-1,) + (1,) * (x.dim() - 1)
        mean = flat.mean(1).view(shape)
        std = flat.std(1).view(shape)
        x = (x - mean) / (std + self.eps)
        if self.affine:
            x = x * self.gamma.view(1, -1, 1, 1) + self.beta.view(1, -1, 1, 1)
        return x


def adain(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance norm as a pure function: normalise each (sample, channel) map of ``x`` [B,C,H,W]
    with its own mean and biased variance, then scale by ``std`` [B,C] and shift by ``mean`` [B,C]."""
    mu = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mu) / torch.sqrt(var + eps) * std[:, :, None, None] + mean[:, :, None, None]


def make_norm(kind: str, channels: int) -> nn.Module:
    """``in`` (InstanceNorm, no affine), ``ln`` (MUNIT LayerNorm) or ``none``."""
    if kind == "in":
        return nn.InstanceNorm2d(channels)
    if kind == "ln":
        return MunitLayerNorm(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r} (expected in, ln or none)")


def make_activation(kind: str) -> nn.Module:
    """``relu``, ``lrelu`` (slope 0.2), ``tanh`` or ``none``."""
    factories = {"relu": nn.ReLU, "lrelu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh, "none": nn.Identity}
    if kind not in factories:
        raise ValueError(f"unknown activation {kind!r} (expected one of {sorted(factories)})")
    return factories[kind]()


class ConvBlock(nn.Module):
    """Pad (reflect/zero) -> conv -> norm -> activation, as the official ``Conv2dBlock``."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, padding: int,
                 norm: str = "none", activation: str = "relu", pad_type: str = "reflect"):
        super().__init__()
        pads = {"reflect": nn.ReflectionPad2d, "zero": nn.ZeroPad2d, "replicate": nn.ReplicationPad2d}
        if pad_type not in pads:
            raise ValueError(f"unknown pad_type {pad_type!r} (expected one of {sorted(pads)})")
        self.pad = pads[pad_type](padding)
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, bias=True)
        self.norm = make_norm(norm, out_ch)
        self.activation = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.norm(self.conv(self.pad(x))))


class ResBlock(nn.Module):
    """Two 3x3 conv blocks (the second without activation) plus the identity."""

    def __init__(self, dim: int, norm: str, activation: str = "relu", pad_type: str = "reflect"):
        super().__init__()
        self.conv1 = ConvBlock(dim, dim, 3, 1, 1, norm, activation, pad_type)
        self.conv2 = ConvBlock(dim, dim, 3, 1, 1, norm, "none", pad_type)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


class AdainResBlock(nn.Module):
    """A residual block whose two norms are AdaIN with per-sample parameters passed in at call time."""

    def __init__(self, dim: int, activation: str = "relu", pad_type: str = "reflect"):
        super().__init__()
        self.conv1 = ConvBlock(dim, dim, 3, 1, 1, "none", "none", pad_type)
        self.conv2 = ConvBlock(dim, dim, 3, 1, 1, "none", "none", pad_type)
        self.activation = make_activation(activation)

    def forward(self, x: torch.Tensor, params: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """``params`` = (mean1, std1, mean2, std2), each [B, dim]."""
        mean1, std1, mean2, std2 = params
        y = self.activation(adain(self.conv1(x), mean1, std1))
        y = adain(self.conv2(y), mean2, std2)
        return x + y


class MLP(nn.Module):
    """``n_blocks`` linear layers: hidden ones with activation, the last one plain."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, n_blocks: int, activation: str = "relu"):
        super().__init__()
        layers: list[nn.Module] = []
        dim = in_dim
        for _ in range(n_blocks - 1):
            layers += [nn.Linear(dim, hidden), make_activation(activation)]
            dim = hidden
        layers.append(nn.Linear(dim, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


def kaiming_init(module: nn.Module) -> None:
    """Official ``weights_init('kaiming')``: conv/linear weights Kaiming-normal (fan_in), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def gaussian_init(module: nn.Module) -> None:
    """Official ``weights_init('gaussian')``: conv/linear weights N(0, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def downsample_for_scale(x: torch.Tensor) -> torch.Tensor:
    """The multi-scale discriminator's 3x3 stride-2 average pool (padding 1, pad excluded from the mean)."""
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
