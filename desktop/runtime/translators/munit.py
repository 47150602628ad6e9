"""MUNIT: per domain a content encoder, a style encoder and a decoder (content, style) -> image."""
from __future__ import annotations

import numpy as np

from ..bundle import BundleError, Direction
from ..style import sample_prior
from .base import StyledTranslator


class MunitTranslator(StyledTranslator):
    """a->b is ``decoder_b(content_encoder_a(x), s)``; ``s`` from N(0, I), ``style_encoder_b`` or a mix.

    The target's typical styles are its stored presets (real training images' codes, most typical first) when the
    bundle has them, else its training images' mean code (bundles exported before presets), else zeros."""

    family = "munit"

    def _open_graphs(self) -> None:
        self._presets: dict[str, np.ndarray] = {}
        for domain in self.bundle.domains:
            for role in ("content_encoder", "style_encoder", "decoder"):
                self._open(role, domain=domain.id)
            for role, shape in (("style_mean", (self.style_dim,)), ("style_cov", (self.style_dim,) * 2)):
                if self.bundle.has_array(role, domain.id):
                    self._check_array_shape(role, shape, domain.id)
            if self.bundle.has_array("style_presets", domain.id):
                self._presets[domain.id] = self._checked_presets(domain.id)

    def _checked_presets(self, domain: str) -> np.ndarray:
        """The ``style_presets`` array of ``domain``: codes [P, D] with P >= 1 (its dtype, float32, was checked
        when the manifest was read, and that every value is finite before the graphs were opened)."""
        presets = self.bundle.array("style_presets", domain)
        where = f"{self.bundle.source}: array style_presets of domain {domain}"
        if presets.ndim != 2 or presets.shape[0] < 1 or presets.shape[1] != self.style_dim:
            raise BundleError(f"{where} is {list(presets.shape)}, the graphs need [P, {self.style_dim}] with P >= 1")
        return presets

    def _warm_up(self) -> None:
        x = self._blank_input()
        for domain in self.bundle.domains:
            content = self._graph("content_encoder", domain=domain.id).run(x)[0]
            self._graph("style_encoder", domain=domain.id).run(x)
            self._graph("decoder", domain=domain.id).run(content, np.zeros((1, self.style_dim), np.float32))

    def _content(self, tensor: np.ndarray, direction: Direction) -> np.ndarray:
        return self._graph("content_encoder", domain=direction.source).run(tensor)[0]

    def _generate(self, content: np.ndarray, code: np.ndarray, direction: Direction) -> np.ndarray:
        return self._graph("decoder", domain=direction.target).run(content, code[None])[0]

    def _reference_code(self, tensor: np.ndarray, direction: Direction) -> np.ndarray:
        return self._graph("style_encoder", domain=direction.target).run(tensor)[0][0]

    def _random_code(self, seed: int | None, direction: Direction) -> np.ndarray:
        return sample_prior(self.style_dim, seed)[0]

    def _typical_codes(self, direction: Direction) -> np.ndarray:
        """The target's presets, or its training images' mean code, or the prior's mean (zeros), as [P, D]."""
        if direction.target in self._presets:
            return self._presets[direction.target].copy()
        if self.bundle.has_array("style_mean", direction.target):
            return self.bundle.array("style_mean", direction.target).astype(np.float32)[None]
        return np.zeros((1, self.style_dim), np.float32)

    def _typical_code(self, direction: Direction) -> np.ndarray:
        return self._typical_codes(direction)[0]
