"""TUNIT: a guiding network (image -> style code, cluster logits) and a generator (image, style) -> image."""
from __future__ import annotations

import numpy as np

from ..bundle import Direction
from ..clusters import ClusterInfo, read_clusters
from .base import StyledTranslator


class TunitTranslator(StyledTranslator):
    """Translating towards cluster k uses the cluster's mean code or a reference image's code.

    The generator takes the image itself, so the reusable "content" is the preprocessed input tensor.
    There is no style prior: random styles are refused with an explanation. :attr:`clusters` describes the
    discovered clusters (sizes and exemplar images where the bundle has them) and :meth:`classify` rates an image.
    """

    family = "tunit"

    def _open_graphs(self) -> None:
        self._open("guiding")
        self._open("generator")
        self._check_array_shape("cluster_styles", (len(self.bundle.domains), self.style_dim))
        self._cluster_styles = self.bundle.array("cluster_styles")
        self.clusters: list[ClusterInfo] = read_clusters(self.bundle)

    def _warm_up(self) -> None:
        x = self._blank_input()
        style = self._graph("guiding").run(x)[0]
        self._graph("generator").run(x, style)

    def _content(self, tensor: np.ndarray, direction: Direction) -> np.ndarray:
        return tensor

    def _generate(self, content: np.ndarray, code: np.ndarray, direction: Direction) -> np.ndarray:
        return self._graph("generator").run(content, code[None])[0]

    def _reference_code(self, tensor: np.ndarray, direction: Direction) -> np.ndarray:
        return self._graph("guiding").run(tensor)[0][0]

    def _random_code(self, seed: int | None, direction: Direction) -> np.ndarray:
        raise ValueError(f"{self.bundle.name}: TUNIT has no style prior to sample from; "
                         "use a reference image or the cluster's typical style")

    def _typical_code(self, direction: Direction) -> np.ndarray:
        index = [d.id for d in self.bundle.domains].index(direction.target)
        return self._cluster_styles[index]

    def classify(self, image: np.ndarray) -> np.ndarray:
        """Probabilities that ``image`` belongs to each discovered cluster (float32 [K], sums to 1)."""
        logits = self._graph("guiding").run(self._prepare(image).tensor)[1][0]
        e = np.exp(logits - logits.max())
        return (e / e.sum()).astype(np.float32)
