"""U-GAT-IT: one generator per direction returning the image and its CAM attention heatmap."""
from __future__ import annotations

import numpy as np

from ..preprocess import Mode, from_tensor, heatmap_to_image_size
from ..style import StyleSource
from .base import TranslationResult, Translator, timed


class UgatitTranslator(Translator):
    """No style: ``style`` is ignored and ``res.style`` is None; ``res.heatmap`` is the attention map."""

    family = "ugatit"

    def _open_graphs(self) -> None:
        for direction in self.bundle.directions:
            self._open("generator", direction=direction.id)

    def _warm_up(self) -> None:
        x = self._blank_input()
        for direction in self.bundle.directions:
            self._graph("generator", direction=direction.id).run(x)

    def translate(self, image: np.ndarray, direction: str, style: StyleSource | None = None,
                  mode: Mode = "fit") -> TranslationResult:
        d = self.bundle.direction(direction)
        timings: dict[str, float] = {}
        with timed(timings, "preprocess"):
            prepared = self._prepare(image, mode)
        with timed(timings, "decode"):
            out, heatmap = self._graph("generator", direction=d.id).run(prepared.tensor)
        with timed(timings, "postprocess"):
            result = from_tensor(out, self.bundle.image, prepared)
            attention = heatmap_to_image_size(heatmap, prepared.size)
        return TranslationResult(image=result, timings=timings, heatmap=attention)
