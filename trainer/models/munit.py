"""MUNIT (Huang et al., 2018) networks as the official configuration describes them.

Generator = content encoder + style encoder + decoder (style MLP inside, AdaIN as a pure function);
discriminator = multi-scale PatchGAN. Everything is configured by the ``[model]`` table of a TOML config.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from .blocks import MLP, AdainResBlock, ConvBlock, ResBlock, downsample_for_scale, gaussian_init, kaiming_init

# The official edges2shoes generator/discriminator; a config's [model] table overrides any of these.
MODEL_DEFAULTS: dict[str, Any] = {
    "dim": 64,                 # width of the first conv; doubles at each content downsampling
    "style_dim": 8,
    "n_downsample": 2,         # content encoder downsamplings (content code is H / 2^n)
    "n_res": 4,                # residual blocks in the content encoder and in the decoder
    "style_n_downsample": 4,   # style encoder downsamplings (width doubles for the first two only)
    "style_enc_dim": 0,        # width of the style encoder's first conv; 0 = dim (a distilled student: its teacher's)
    "up_kernel": 5,            # the decoder's upsampling convs (5x5 officially; 3x3 costs 9/25 of their MACs)
    "mlp_dim": 256,
    "mlp_blocks": 3,
    "activation": "relu",
    "pad_type": "reflect",
    "dis_dim": 64,
    "dis_n_layer": 4,
    "dis_num_scales": 3,
    "dis_norm": "none",
    "dis_activation": "lrelu",
}


def model_settings(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[model]`` table completed with :data:`MODEL_DEFAULTS`; unknown keys are an error."""
    unknown = set(model_cfg) - set(MODEL_DEFAULTS) - {"family"}
    if unknown:
        raise ValueError(f"unknown [model] keys for munit: {sorted(unknown)}")
    return {**MODEL_DEFAULTS, **{k: v for k, v in model_cfg.items() if k != "family"}}


class ContentEncoder(nn.Module):
    """c7s1-dim, ``n_downsample`` 4x4 stride-2 convs doubling the width, ``n_res`` residual blocks; InstanceNorm."""

    def __init__(self, dim: int, n_downsample: int, n_res: int, activation: str, pad_type: str):
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, dim, 7, 1, 3, "in", activation, pad_type)]
        for _ in range(n_downsample):
            layers.append(ConvBlock(dim, dim * 2, 4, 2, 1, "in", activation, pad_type))
            dim *= 2
        layers += [ResBlock(dim, "in", activation, pad_type) for _ in range(n_res)]
        self.model = nn.Sequential(*layers)
        self.output_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class StyleEncoder(nn.Module):
    """c7s1-dim, ``n_downsample`` 4x4 stride-2 convs (width doubles for the first two), no norm,
    global average pool, 1x1 conv to ``style_dim``; returns ``[B, style_dim]``."""

    def __init__(self, dim: int, style_dim: int, n_downsample: int, activation: str, pad_type: str):
        super().__init__()
        layers: list[nn.Module] = [ConvBlock(3, dim, 7, 1, 3, "none", activation, pad_type)]
        for i in range(n_downsample):
            out = dim * 2 if i < 2 else dim
            layers.append(ConvBlock(dim, out, 4, 2, 1, "none", activation, pad_type))
            dim = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1, 1, 0)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).flatten(1)


class Decoder(nn.Module):
    """Style MLP -> AdaIN parameters; ``n_res`` AdaIN residual blocks; ``n_upsample`` x (nearest x2,
    ``up_kernel`` conv, LayerNorm, activation) halving the width; 7x7 conv to RGB and tanh.
    ``forward(content, style)``."""

    def __init__(self, dim: int, style_dim: int, n_upsample: int, n_res: int, mlp_dim: int, mlp_blocks: int,
                 activation: str, pad_type: str, up_kernel: int):
        super().__init__()
        self.dim = dim
        self.res_blocks = nn.ModuleList(AdainResBlock(dim, activation, pad_type) for _ in range(n_res))
        # per residual block: (mean1, std1, mean2, std2), each `dim` wide, in the official order
        self.mlp = MLP(style_dim, 4 * dim * n_res, mlp_dim, mlp_blocks, activation)
        layers: list[nn.Module] = []
        for _ in range(n_upsample):
            layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                       ConvBlock(dim, dim // 2, up_kernel, 1, up_kernel // 2, "ln", activation, pad_type)]
            dim //= 2
        layers.append(ConvBlock(dim, 3, 7, 1, 3, "none", "tanh", pad_type))
        self.upsample = nn.Sequential(*layers)

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        params = self.mlp(style).split(self.dim, dim=1)
        x = content
        for i, block in enumerate(self.res_blocks):
            x = block(x, params[4 * i:4 * i + 4])
        return self.upsample(x)


class MunitGenerator(nn.Module):
    """One domain's auto-encoder: ``encode(x) -> (content, style)``, ``decode(content, style) -> image``."""

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        self.style_dim = int(cfg["style_dim"])
        self.content_encoder = ContentEncoder(cfg["dim"], cfg["n_downsample"], cfg["n_res"], cfg["activation"],
                                              cfg["pad_type"])
        self.style_encoder = StyleEncoder(cfg["style_enc_dim"] or cfg["dim"], self.style_dim,
                                          cfg["style_n_downsample"], cfg["activation"], cfg["pad_type"])
        self.decoder = Decoder(self.content_encoder.output_dim, self.style_dim, cfg["n_downsample"], cfg["n_res"],
                               cfg["mlp_dim"], cfg["mlp_blocks"], cfg["activation"], cfg["pad_type"],
                               cfg["up_kernel"])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Content code [B, C, H/2^n, W/2^n] and style code [B, style_dim] of images in [-1, 1]."""
        return self.content_encoder(x), self.style_encoder(x)

    def decode(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Image in [-1, 1] from a content code and a style code."""
        return self.decoder(content, style)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of ``x`` through its own content and style."""
        return self.decode(*self.encode(x))


class MultiScaleDiscriminator(nn.Module):
    """``num_scales`` PatchGANs on the image and its 2x, 4x... average-pooled copies; returns one map per scale."""

    def __init__(self, cfg: Mapping[str, Any]):
        super().__init__()
        self.nets = nn.ModuleList(self._make_net(cfg) for _ in range(cfg["dis_num_scales"]))

    @staticmethod
    def _make_net(cfg: Mapping[str, Any]) -> nn.Sequential:
        dim, norm, act, pad = cfg["dis_dim"], cfg["dis_norm"], cfg["dis_activation"], cfg["pad_type"]
        layers: list[nn.Module] = [ConvBlock(3, dim, 4, 2, 1, "none", act, pad)]
        for _ in range(cfg["dis_n_layer"] - 1):
            layers.append(ConvBlock(dim, dim * 2, 4, 2, 1, norm, act, pad))
            dim *= 2
        layers.append(nn.Conv2d(dim, 1, 1, 1, 0))
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for i, net in enumerate(self.nets):
            if i:
                x = downsample_for_scale(x)
            outputs.append(net(x))
        return outputs


def build_generator(model_cfg: Mapping[str, Any]) -> MunitGenerator:
    """A Kaiming-initialised generator from the ``[model]`` table of a config."""
    gen = MunitGenerator(model_settings(model_cfg))
    gen.apply(kaiming_init)
    return gen


def build_discriminator(model_cfg: Mapping[str, Any]) -> MultiScaleDiscriminator:
    """A multi-scale discriminator initialised N(0, 0.02) from the ``[model]`` table of a config."""
    dis = MultiScaleDiscriminator(model_settings(model_cfg))
    dis.apply(gaussian_init)
    return dis
