"""TUNIT (Baek et al., ICCV 2021) networks, shape for shape as the official code (clovaai/tunit).

Guiding network: a VGG11 trunk with BatchNorm, global average pooling, two linear heads: ``disc`` gives the
logits of the K pseudo-domains (clusters), ``cont`` the style code. Generator (FUNIT-like): a content encoder
(7x7 conv, log2(size / 16) 4x4 stride-2 convs doubling the width, residual blocks with InstanceNorm) and a decoder
(AdaIN residual blocks, then nearest x2 upsampling + 5x5 conv + AdaIN per downsampling, 7x7 conv, tanh) whose AdaIN
means and scales come from a 3-layer MLP over the style code. Residual branches are scaled by 0.1, as in the
official blocks. Discriminator (StarGAN v2): a 3x3 conv, pre-activation residual blocks normalised by FRN (with
its learned threshold as the activation) that halve the side down to 4x4 with the width capped at 1024, LeakyReLU,
a 4x4 conv to 1x1, LeakyReLU, a 1x1 conv with one output per pseudo-domain.

AdaIN is written with explicit per-sample statistics and the decoder is a pure function of (content, style), so
nothing depends on the batch size and the exporter can trace ``encode`` and ``decode`` on their own. Everything is
configured by the ``[model]`` table of a TOML config.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ConvBlock, adain, kaiming_init

# The paper configuration (128 px, K = 10); a config's [model] table overrides any of these.
MODEL_DEFAULTS: dict[str, Any] = {
    "img_size": 128,      # training side; sets the generator's downsamplings and the discriminator's depth
    "output_k": 10,       # K, the number of pseudo-domains (clusters) of the guiding network and discriminator
    "style_dim": 128,
    "ngf": None,          # generator width; None = the official rule, 64 below 256 px and 32 from 256 px
    "n_res": 2,           # residual blocks in the content encoder and AdaIN residual blocks in the decoder
    "mlp_dim": 256,       # width of the style MLP (3 layers)
    "ndf": None,          # discriminator width; None = the official rule, 64 below 256 px and 32 from 256 px
    "dis_max_dim": 1024,  # the discriminator's channel cap
    "guide_width": 64,    # width of the guiding network's first conv; the VGG11 widths scale with it (64 = VGG11)
}
CONTENT_SIDE = 16  # the content code is 16 x 16 at the training size (official s0)
RES_SCALE = 0.1    # residual branches are added scaled by this (official ResBlock)
VGG11 = [1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M"]  # conv widths in units of guide_width; M = 2x2 max pool


def model_settings(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[model]`` table completed with :data:`MODEL_DEFAULTS`; unknown keys are an error."""
    unknown = set(model_cfg) - set(MODEL_DEFAULTS) - {"family"}
    if unknown:
        raise ValueError(f"unknown [model] keys for tunit: {sorted(unknown)}")
    cfg = {**MODEL_DEFAULTS, **{k: v for k, v in model_cfg.items() if k != "family"}}
    size = int(cfg["img_size"])
    if size < CONTENT_SIDE or size & (size - 1):
        raise ValueError(f"tunit img_size must be a power of two >= {CONTENT_SIDE}, got {size}")
    return cfg


def _official_width(value: Any, img_size: int) -> int:
    return int(value) if value is not None else (64 if img_size < 256 else 32)


def content_downsamplings(img_size: int) -> int:
    """The generator's number of stride-2 convs at training side ``img_size``: log2(img_size / 16)."""
    return int(math.log2(img_size // CONTENT_SIDE))


class ContentResBlock(nn.Module):
    """conv3x3-IN-ReLU-conv3x3-IN (reflect padding), added to the input scaled by 0.1."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv1 = ConvBlock(dim, dim, 3, 1, 1, "in", "relu", "reflect")
        self.conv2 = ConvBlock(dim, dim, 3, 1, 1, "in", "none", "reflect")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RES_SCALE * self.conv2(self.conv1(x))


class ContentEncoder(nn.Module):
    """7x7 conv, ``n_down`` 4x4 stride-2 convs doubling the width, ``n_res`` residual blocks; IN + ReLU."""

    def __init__(self, ngf: int, n_down: int, n_res: int):
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, ngf, 7, 1, 3, "in", "relu", "reflect")]
        dim = ngf
        for _ in range(n_down):
            layers.append(ConvBlock(dim, dim * 2, 4, 2, 1, "in", "relu", "reflect"))
            dim *= 2
        layers += [ContentResBlock(dim) for _ in range(n_res)]
        self.model = nn.Sequential(*layers)
        self.out_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class AdainResBlock(nn.Module):
    """conv3x3-AdaIN-ReLU-conv3x3-AdaIN (reflect padding), added to the input scaled by 0.1."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv1 = ConvBlock(dim, dim, 3, 1, 1, "none", "none", "reflect")
        self.conv2 = ConvBlock(dim, dim, 3, 1, 1, "none", "none", "reflect")

    def forward(self, x: torch.Tensor, params: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """``params`` = [(mean1, std1), (mean2, std2)], each [B, dim]."""
        (mean1, std1), (mean2, std2) = params
        y = torch.relu(adain(self.conv1(x), mean1, std1))
        y = adain(self.conv2(y), mean2, std2)
        return x + RES_SCALE * y


class Decoder(nn.Module):
    """AdaIN residual blocks; ``n_up`` x (nearest x2, 5x5 conv, AdaIN, ReLU) halving the width; 7x7 conv, tanh.

    ``forward(content, adain_params)`` takes the style MLP's output [B, sum(2 * channels)], laid out per AdaIN
    layer in network order as (mean, std) pairs, the official ``assign_adain_params`` order.
    """

    def __init__(self, dim: int, n_up: int, n_res: int):
        super().__init__()
        self.res_blocks = nn.ModuleList(AdainResBlock(dim) for _ in range(n_res))
        self.adain_channels = [dim] * (2 * n_res)
        self.up_convs = nn.ModuleList()
        for _ in range(n_up):
            self.up_convs.append(ConvBlock(dim, dim // 2, 5, 1, 2, "none", "none", "reflect"))
            dim //= 2
            self.adain_channels.append(dim)
        self.to_rgb = ConvBlock(dim, 3, 7, 1, 3, "none", "tanh", "reflect")

    @property
    def num_adain_params(self) -> int:
        """Width of the style MLP's output: a mean and a scale for every AdaIN channel."""
        return 2 * sum(self.adain_channels)

    def _split(self, adain_params: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        pieces = adain_params.split([c for c in self.adain_channels for _ in range(2)], dim=1)
        return [(pieces[2 * i], pieces[2 * i + 1]) for i in range(len(self.adain_channels))]

    def forward(self, content: torch.Tensor, adain_params: torch.Tensor) -> torch.Tensor:
        params = self._split(adain_params)
        x = content
        for i, block in enumerate(self.res_blocks):
            x = block(x, params[2 * i:2 * i + 2])
        for conv, (mean, std) in zip(self.up_convs, params[2 * len(self.res_blocks):]):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = torch.relu(adain(conv(x), mean, std))
        return self.to_rgb(x)


class StyleMLP(nn.Module):
    """Linear-ReLU, Linear-ReLU, Linear: style code [B, style_dim] -> AdaIN parameters [B, out_dim]."""

    def __init__(self, style_dim: int, out_dim: int, hidden: int):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(style_dim, hidden), nn.ReLU(),
                                   nn.Linear(hidden, hidden), nn.ReLU(),
                                   nn.Linear(hidden, out_dim))

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        return self.model(style.flatten(1))


class TunitGenerator(nn.Module):
    """``forward(image, style) -> image`` in [-1, 1]; ``encode(image) -> content``, ``decode(content, style)``."""

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        img_size = int(cfg["img_size"])
        ngf = _official_width(cfg["ngf"], img_size)
        self.n_down = content_downsamplings(img_size)
        self.style_dim = int(cfg["style_dim"])
        self.content_encoder = ContentEncoder(ngf, self.n_down, int(cfg["n_res"]))
        self.decoder = Decoder(self.content_encoder.out_dim, self.n_down, int(cfg["n_res"]))
        self.mlp = StyleMLP(self.style_dim, self.decoder.num_adain_params, int(cfg["mlp_dim"]))

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """Content code [B, ngf * 2^n, H / 2^n, W / 2^n] of images in [-1, 1] (512 x 16 x 16 at 128 px)."""
        return self.content_encoder(image)

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Image in [-1, 1] from a content code and a style code [B, style_dim]."""
        return self.decoder(content, self.mlp(style))

    def forward(self, image: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(image), style)


class GuidingNetwork(nn.Module):
    """VGG11-BN trunk, global average pool, ``disc`` (cluster logits) and ``cont`` (style) linear heads.

    ``forward(x) -> (style [B, style_dim], cluster_logits [B, K])``.
    """

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        width = int(cfg["guide_width"])
        layers: list[nn.Module] = []
        in_ch = 3
        for v in VGG11:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                out_ch = int(v) * width
                layers += [nn.Conv2d(in_ch, out_ch, 3, 1, 1), nn.BatchNorm2d(out_ch), nn.ReLU()]
                in_ch = out_ch
        self.features = nn.Sequential(*layers)
        self.disc = nn.Linear(in_ch, int(cfg["output_k"]))
        self.cont = nn.Linear(in_ch, int(cfg["style_dim"]))

    def _pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = self._pooled(x)
        return self.cont(flat), self.disc(flat)

    def style(self, x: torch.Tensor) -> torch.Tensor:
        """Style codes [B, style_dim] (the official ``moco`` head)."""
        return self.cont(self._pooled(x))

    def clusters(self, x: torch.Tensor) -> torch.Tensor:
        """Pseudo-domain logits [B, K] (the official ``iic`` head)."""
        return self.disc(self._pooled(x))


def guiding_init(module: nn.Module) -> None:
    """The official guiding-network init: convs Kaiming-normal (fan_out, ReLU), BN weight 1 bias 0,
    linears N(0, 0.01); all biases 0."""
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
    elif isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.01)
    else:
        return
    if module.bias is not None:
        nn.init.zeros_(module.bias)


class FRN(nn.Module):
    """Filter response normalisation with its thresholded linear unit: max(gamma * x / rms(x) + beta, tau),
    the mean square taken per (sample, channel) map."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.tau = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * torch.rsqrt(x.pow(2).mean(dim=(2, 3), keepdim=True) + self.eps)
        return torch.maximum(self.gamma * x + self.beta, self.tau)


class PreActResBlock(nn.Module):
    """FRN, 3x3 conv, (2x2 average pool), FRN, 3x3 conv to ``out_ch``; the shortcut is a bias-free 1x1 conv when
    the width changes, then the same pool; both branches are scaled by 1/sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int, downsample: bool):
        super().__init__()
        self.downsample = downsample
        self.norm1 = FRN(in_ch)
        self.conv1 = nn.Conv2d(in_ch, in_ch, 3, 1, 1)
        self.norm2 = FRN(in_ch)
        self.conv2 = nn.Conv2d(in_ch, out_ch, 3, 1, 1)
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1, 1, 0, bias=False) if in_ch != out_ch else nn.Identity()

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.conv2(self.norm2(self._pool(self.conv1(self.norm1(x)))))
        return (self._pool(self.shortcut(x)) + residual) * (1.0 / math.sqrt(2.0))


class TunitDiscriminator(nn.Module):
    """StarGAN v2's multi-task discriminator: ``forward(image, cluster [B]) -> [B]`` logits of the given
    pseudo-domains; ``logits(image) -> [B, K]`` all of them. Images must be ``img_size`` x ``img_size``."""

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        self.img_size = int(cfg["img_size"])
        dim = _official_width(cfg["ndf"], self.img_size)
        max_dim = int(cfg["dis_max_dim"])
        layers: list[nn.Module] = [nn.Conv2d(3, dim, 3, 1, 1)]
        for _ in range(int(math.log2(self.img_size)) - 2):  # down to 4 x 4
            out = min(dim * 2, max_dim)
            layers += [PreActResBlock(dim, dim, downsample=False), PreActResBlock(dim, out, downsample=True)]
            dim = out
        layers += [nn.LeakyReLU(0.2), nn.Conv2d(dim, dim, 4, 1, 0), nn.LeakyReLU(0.2),
                   nn.Conv2d(dim, int(cfg["output_k"]), 1, 1, 0)]
        self.main = nn.Sequential(*layers)

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        """One logit per pseudo-domain, [B, K]."""
        if tuple(image.shape[2:]) != (self.img_size, self.img_size):
            raise ValueError(f"the TUNIT discriminator takes {self.img_size}x{self.img_size} images, "
                             f"got {image.shape[3]}x{image.shape[2]}")
        return self.main(image).flatten(1)

    def forward(self, image: torch.Tensor, cluster: torch.Tensor) -> torch.Tensor:
        return self.logits(image).gather(1, cluster.long().view(-1, 1)).squeeze(1)


def build_generator(model_cfg: Mapping[str, Any]) -> TunitGenerator:
    """A Kaiming-initialised (fan_in, biases 0) generator from the ``[model]`` table of a config."""
    gen = TunitGenerator(model_settings(model_cfg))
    gen.apply(kaiming_init)
    return gen


def build_guiding_network(model_cfg: Mapping[str, Any]) -> GuidingNetwork:
    """A guiding network with the official initialisation from the ``[model]`` table of a config."""
    net = GuidingNetwork(model_settings(model_cfg))
    net.apply(guiding_init)
    return net


def build_discriminator(model_cfg: Mapping[str, Any]) -> TunitDiscriminator:
    """A Kaiming-initialised (fan_in, biases 0) discriminator from the ``[model]`` table of a config."""
    dis = TunitDiscriminator(model_settings(model_cfg))
    dis.apply(kaiming_init)
    return dis


def check_input_size(generator: TunitGenerator, height: int, width: int) -> None:
    """Raise ``ValueError`` with a clear message when ``generator`` cannot take a ``height`` x ``width`` image."""
    step = 2 ** generator.n_down
    if height % step or width % step:
        raise ValueError(f"this TUNIT generator needs sides that are multiples of {step}, got {width}x{height}")


__all__ = ["MODEL_DEFAULTS", "GuidingNetwork", "TunitDiscriminator", "TunitGenerator", "build_discriminator",
           "build_generator", "build_guiding_network", "check_input_size", "content_downsamplings",
           "model_settings"]
