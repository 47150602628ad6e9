"""The clusters a TUNIT model discovered, as the cluster browser shows them: id, name, how many training images
fell in each and the training images most typical of it.

Both come from optional bundle arrays (docs/bundle.md, "tunit"): ``cluster_sizes`` int64 [K] and
``cluster_exemplars`` uint8 [K, E, S, S, 3], E thumbnails of S x S RGB pixels per cluster, most typical first.
Cluster k has ``min(E, sizes[k])`` exemplars; the slots after them are blank. A bundle exported before these
arrays existed has neither: sizes are then unknown (None) and there are no exemplars.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bundle import Bundle, BundleError

SIZES = "cluster_sizes"
EXEMPLARS = "cluster_exemplars"


@dataclass(frozen=True, eq=False)
class ClusterInfo:
    """One discovered cluster: its domain id and name, its index in the guiding network's logits, the number of
    training images the export assigned to it (None when the bundle does not say) and its exemplars (uint8
    S x S x 3 each, most typical first; empty when the bundle has none)."""

    id: str
    name: str
    index: int
    size: int | None
    exemplars: tuple[np.ndarray, ...] = ()


def read_clusters(bundle: Bundle) -> list[ClusterInfo]:
    """The clusters of a bundle whose domains are clusters, in logit order; a damaged ``cluster_sizes`` or
    ``cluster_exemplars`` array is a one-line :class:`BundleError`."""
    k = len(bundle.domains)
    sizes = _sizes(bundle, k)
    exemplars = _exemplars(bundle, k)
    if exemplars is not None and sizes is None:
        raise BundleError(f"{bundle.source}: array {EXEMPLARS} needs {SIZES} (how many exemplars each cluster has)")
    clusters = []
    for index, domain in enumerate(bundle.domains):
        size = None if sizes is None else int(sizes[index])
        shown = () if exemplars is None or size is None else \
            tuple(np.ascontiguousarray(e) for e in exemplars[index][:size])
        clusters.append(ClusterInfo(domain.id, domain.name, index, size, shown))
    return clusters


def _sizes(bundle: Bundle, k: int) -> np.ndarray | None:
    if not bundle.has_array(SIZES):
        return None
    sizes = bundle.array(SIZES)
    if sizes.shape != (k,):
        raise BundleError(f"{bundle.source}: array {SIZES} is {list(sizes.shape)}, the bundle has {k} clusters")
    if (sizes < 0).any():
        raise BundleError(f"{bundle.source}: array {SIZES} holds a negative count")
    return sizes


def _exemplars(bundle: Bundle, k: int) -> np.ndarray | None:
    if not bundle.has_array(EXEMPLARS):
        return None
    exemplars = bundle.array(EXEMPLARS)
    shape = exemplars.shape
    if len(shape) != 5 or shape[0] != k or shape[4] != 3 or shape[2] != shape[3] or min(shape[1:4]) < 1:
        raise BundleError(f"{bundle.source}: array {EXEMPLARS} is {list(shape)}, not [{k}, E, S, S, 3] "
                          f"(E square S x S RGB thumbnails for each of the {k} clusters)")
    return exemplars
