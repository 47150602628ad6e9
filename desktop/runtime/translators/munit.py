"""MUNIT: per domain a content encoder, a style encoder and a decoder (content, style) -> image."""
from __future__ import annotations

import numpy as np

from ..bundle import Direction
from ..style import sample_prior
from .base import StyledTranslator


class MunitTranslator(StyledTranslator):
    """a->b is ``decoder_b(content_encoder_a(x), s)``; ``s`` from N(0, I), ``style_encoder_b`` or a mix."""

    family = "munit"

    def _open_graphs(self) -> None:
        for domain in self.bundle.domains:
            for role in ("content_encoder", "style_encoder", "decoder"):
                self._open(role, domain=domain.id)
            for role, shape in (("style_mean", (self.style_dim,)), ("style_cov", (self.style_dim,) * 2)):
                if self.bundle.has_array(role, domain.id):
                    self._check_array_shape(role, shape, domain.id)

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

    def _typical_code(self, direction: Direction) -> np.ndarray:
        """The mean code of the target domain's training images, or the prior's mean (zeros)."""
        if self.bundle.has_array("style_mean", direction.target):
            return self.bundle.array("style_mean", direction.target)
        return np.zeros(self.style_dim, np.float32)
