"""U-GAT-IT (Kim et al., 2020) networks, shape for shape as the official PyTorch port (UGATIT-pytorch).

Generator: encoder (7x7 conv, two stride-2 downsamplings, residual blocks; InstanceNorm), CAM attention
(GAP/GMP logits whose weights rescale the features, 1x1 conv, heatmap), an MLP giving AdaILN's gamma and beta
(``light``: over the pooled features; full: over the whole flattened map, which fixes the input size),
AdaILN residual blocks, nearest upsampling with ILN, 7x7 conv and tanh. Discriminator: spectral-normed 4x4
convs with LeakyReLU 0.2, its own CAM branch, a patch output. Both keep PyTorch's default initialisation, as
the port does. Everything is configured by the ``[model]`` table of a TOML config.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

# The paper configuration (light = false is the full generator); a config's [model] table overrides these.
MODEL_DEFAULTS: dict[str, Any] = {
    "ngf": 64,               # width of the first conv; doubles at each of the two downsamplings
    "n_res": 4,              # residual blocks in the encoder and AdaILN blocks in the decoder
    "light": False,          # pool before the gamma/beta MLP (any input size) instead of flattening the map
    "img_size": 256,         # the size the full generator's flatten-Linear is built for
    "ndf": 64,
    "dis_global_layers": 7,  # five stride-2 convs: output 6x6 at 256 px
    "dis_local_layers": 5,   # three stride-2 convs: output 30x30 at 256 px
}
N_DOWNSAMPLING = 2  # fixed in the official generator
EPS = 1e-5


def model_settings(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[model]`` table completed with :data:`MODEL_DEFAULTS`; unknown keys are an error."""
    unknown = set(model_cfg) - set(MODEL_DEFAULTS) - {"family"}
    if unknown:
        raise ValueError(f"unknown [model] keys for ugatit: {sorted(unknown)}")
    return {**MODEL_DEFAULTS, **{k: v for k, v in model_cfg.items() if k != "family"}}


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int, pad: int, bias: bool) -> list[nn.Module]:
    return [nn.ReflectionPad2d(pad), nn.Conv2d(in_ch, out_ch, kernel, stride, 0, bias=bias)]


def _instance_and_layer_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` normalised per (sample, channel) and per sample, with the port's unbiased variances."""
    x_in = (x - x.mean(dim=(2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(2, 3), keepdim=True) + EPS)
    x_ln = (x - x.mean(dim=(1, 2, 3), keepdim=True)) / torch.sqrt(x.var(dim=(1, 2, 3), keepdim=True) + EPS)
    return x_in, x_ln


class AdaILN(nn.Module):
    """``gamma * (rho * IN(x) + (1 - rho) * LN(x)) + beta`` with per-sample gamma, beta [B, C]; rho starts at 0.9."""

    def __init__(self, channels: int):
        super().__init__()
        self.rho = nn.Parameter(torch.full((1, channels, 1, 1), 0.9))

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        x_in, x_ln = _instance_and_layer_stats(x)
        mixed = self.rho * x_in + (1 - self.rho) * x_ln
        return mixed * gamma[:, :, None, None] + beta[:, :, None, None]


class ILN(nn.Module):
    """Instance-layer norm with learned rho (starts at 0), gamma (1) and beta (0), one per channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.rho = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_in, x_ln = _instance_and_layer_stats(x)
        return (self.rho * x_in + (1 - self.rho) * x_ln) * self.gamma + self.beta


class ResnetBlock(nn.Module):
    """Two reflect-padded 3x3 convs without bias, InstanceNorm, ReLU between; plus the identity."""

    def __init__(self, dim: int):
        super().__init__()
        self.body = nn.Sequential(*_conv(dim, dim, 3, 1, 1, False), nn.InstanceNorm2d(dim), nn.ReLU(True),
                                  *_conv(dim, dim, 3, 1, 1, False), nn.InstanceNorm2d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class AdaILNResBlock(nn.Module):
    """The decoder's residual block: conv, AdaILN, ReLU, conv, AdaILN (the same gamma and beta), identity."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv1 = nn.Sequential(*_conv(dim, dim, 3, 1, 1, False))
        self.norm1 = AdaILN(dim)
        self.conv2 = nn.Sequential(*_conv(dim, dim, 3, 1, 1, False))
        self.norm2 = AdaILN(dim)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm1(self.conv1(x), gamma, beta))
        return x + self.norm2(self.conv2(y), gamma, beta)


class CamAttention(nn.Module):
    """Class activation map attention: GAP and GMP logits (one Linear each, no bias) whose weights rescale the
    features; the two rescaled maps are concatenated and reduced by a 1x1 conv.

    ``forward(x) -> (features, cam_logit [B, 2], heatmap [B, 1, H, W])``; the heatmap is the channel sum.
    ``spectral`` puts spectral norm on the two Linears (the discriminators); as in the official code the
    features are rescaled by the raw (un-normalised) weights.
    """

    def __init__(self, dim: int, activation: nn.Module, spectral: bool = False):
        super().__init__()
        wrap = spectral_norm if spectral else (lambda m: m)
        self.gap_fc = wrap(nn.Linear(dim, 1, bias=False))
        self.gmp_fc = wrap(nn.Linear(dim, 1, bias=False))
        self.conv1x1 = nn.Conv2d(dim * 2, dim, 1, 1, bias=True)
        self.activation = activation

    @staticmethod
    def _raw_weight(fc: nn.Linear) -> torch.Tensor:
        parametrized = getattr(fc, "parametrizations", None)
        return parametrized.weight.original if parametrized is not None else fc.weight

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gap_logit = self.gap_fc(x.mean(dim=(2, 3)))
        gmp_logit = self.gmp_fc(x.amax(dim=(2, 3)))
        gap = x * self._raw_weight(self.gap_fc)[0][None, :, None, None]
        gmp = x * self._raw_weight(self.gmp_fc)[0][None, :, None, None]
        x = self.activation(self.conv1x1(torch.cat([gap, gmp], 1)))
        return x, torch.cat([gap_logit, gmp_logit], 1), x.sum(dim=1, keepdim=True)


class UgatitGenerator(nn.Module):
    """One direction's generator: ``forward(x) -> (image, cam_logit, heatmap)``, images in [-1, 1]."""

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        ngf, n_res = int(cfg["ngf"]), int(cfg["n_res"])
        self.light = bool(cfg["light"])
        self.img_size = int(cfg["img_size"])
        dim = ngf * 2 ** N_DOWNSAMPLING
        down: list[nn.Module] = [*_conv(3, ngf, 7, 1, 3, False), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for i in range(N_DOWNSAMPLING):
            width = ngf * 2 ** i
            down += [*_conv(width, width * 2, 3, 2, 1, False), nn.InstanceNorm2d(width * 2), nn.ReLU(True)]
        down += [ResnetBlock(dim) for _ in range(n_res)]
        self.down = nn.Sequential(*down)
        self.cam = CamAttention(dim, nn.ReLU(True))
        fc_in = dim if self.light else (self.img_size // 2 ** N_DOWNSAMPLING) ** 2 * dim
        self.fc = nn.Sequential(nn.Linear(fc_in, dim, bias=False), nn.ReLU(True),
                                nn.Linear(dim, dim, bias=False), nn.ReLU(True))
        self.gamma = nn.Linear(dim, dim, bias=False)
        self.beta = nn.Linear(dim, dim, bias=False)
        self.res_blocks = nn.ModuleList(AdaILNResBlock(dim) for _ in range(n_res))
        up: list[nn.Module] = []
        for i in range(N_DOWNSAMPLING):
            width = dim // 2 ** i
            up += [nn.Upsample(scale_factor=2, mode="nearest"), *_conv(width, width // 2, 3, 1, 1, False),
                   ILN(width // 2), nn.ReLU(True)]
        up += [*_conv(ngf, 3, 7, 1, 3, False), nn.Tanh()]
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, cam_logit, heatmap = self.cam(self.down(x))
        pooled = x.mean(dim=(2, 3)) if self.light else x.flatten(1)
        h = self.fc(pooled)
        gamma, beta = self.gamma(h), self.beta(h)
        for block in self.res_blocks:
            x = block(x, gamma, beta)
        return self.up(x), cam_logit, heatmap

    def clip_rho(self) -> None:
        """The official RhoClipper(0, 1): keep every AdaILN/ILN rho in [0, 1] (after each generator step)."""
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, (AdaILN, ILN)):
                    module.rho.clamp_(0.0, 1.0)


class UgatitDiscriminator(nn.Module):
    """A PatchGAN of ``n_layers``: ``n_layers - 2`` stride-2 convs and one stride-1 conv (4x4, reflect pad,
    spectral norm, LeakyReLU 0.2), a CAM branch, and a 4x4 patch output.
    ``forward(x) -> (patch_logits, cam_logit [B, 2], heatmap)``."""

    def __init__(self, ndf: int, n_layers: int):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(3, ndf, 4, 2, 0)),
                                   nn.LeakyReLU(0.2, True)]
        for i in range(1, n_layers - 2):
            width = ndf * 2 ** (i - 1)
            layers += [nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(width, width * 2, 4, 2, 0)),
                       nn.LeakyReLU(0.2, True)]
        width = ndf * 2 ** (n_layers - 3)
        layers += [nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(width, width * 2, 4, 1, 0)),
                   nn.LeakyReLU(0.2, True)]
        self.model = nn.Sequential(*layers)
        self.cam = CamAttention(width * 2, nn.LeakyReLU(0.2, True), spectral=True)
        self.head = nn.Sequential(nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(width * 2, 1, 4, 1, 0, bias=False)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x, cam_logit, heatmap = self.cam(self.model(x))
        return self.head(x), cam_logit, heatmap


def build_generator(model_cfg: Mapping[str, Any]) -> UgatitGenerator:
    """A generator from the ``[model]`` table of a config (PyTorch's default initialisation, as the port)."""
    return UgatitGenerator(model_settings(model_cfg))


def build_discriminators(model_cfg: Mapping[str, Any]) -> tuple[UgatitDiscriminator, UgatitDiscriminator]:
    """The global and the local discriminator of one domain."""
    cfg = model_settings(model_cfg)
    return (UgatitDiscriminator(int(cfg["ndf"]), int(cfg["dis_global_layers"])),
            UgatitDiscriminator(int(cfg["ndf"]), int(cfg["dis_local_layers"])))


def check_input_size(generator: UgatitGenerator, height: int, width: int) -> None:
    """Raise ``ValueError`` with a clear message when ``generator`` cannot take a ``height`` x ``width`` image."""
    step = 2 ** N_DOWNSAMPLING
    if height % step or width % step:
        raise ValueError(f"U-GAT-IT needs sides that are multiples of {step}, got {width}x{height}")
    if not generator.light and (height, width) != (generator.img_size, generator.img_size):
        raise ValueError(f"the full U-GAT-IT generator only takes {generator.img_size}x{generator.img_size} "
                         f"images (its attention MLP flattens the whole feature map), got {width}x{height}")


__all__ = ["MODEL_DEFAULTS", "UgatitDiscriminator", "UgatitGenerator", "build_discriminators", "build_generator",
           "check_input_size", "model_settings"]
