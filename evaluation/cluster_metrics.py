"""How well discovered clusters match labelled classes: contingency table, accuracies, NMI.

Everything is computed from the contingency table ``table[class, cluster]`` (counts of images of a class
that a model put into a cluster), so the figures a report shows can be checked against the table itself.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


def contingency(classes: np.ndarray, clusters: np.ndarray, n_classes: int, n_clusters: int) -> np.ndarray:
    """Counts ``[n_classes, n_clusters]`` of (class, cluster) pairs in two equally long label arrays."""
    classes, clusters = np.asarray(classes, np.int64), np.asarray(clusters, np.int64)
    if classes.shape != clusters.shape or classes.ndim != 1:
        raise ValueError("class and cluster labels must be 1-d arrays of the same length")
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes
                         or clusters.min() < 0 or clusters.max() >= n_clusters):
        raise ValueError("labels out of range")
    table = np.zeros((n_classes, n_clusters), np.int64)
    np.add.at(table, (classes, clusters), 1)
    return table


@dataclass(frozen=True)
class Mapping:
    """A cluster -> class mapping and the share of images it gets right (0 for an empty table)."""

    class_of_cluster: tuple[int | None, ...]  # per cluster: its class, None where it is mapped to none
    accuracy: float


def _accuracy(table: np.ndarray, class_of_cluster: list[int | None]) -> float:
    total = table.sum()
    hits = sum(table[c, k] for k, c in enumerate(class_of_cluster) if c is not None)
    return float(hits / total) if total else 0.0


def majority_mapping(table: np.ndarray) -> Mapping:
    """Each cluster mapped to its most frequent class (the first on ties; an empty cluster to none).
    Several clusters may share a class: this accuracy rewards over-clustering."""
    mapping = [int(np.argmax(column)) if column.sum() else None for column in table.T]
    return Mapping(tuple(mapping), _accuracy(table, mapping))


def hungarian_mapping(table: np.ndarray) -> Mapping | None:
    """The one-to-one class <-> cluster mapping with the most images right (``linear_sum_assignment``);
    clusters left over map to none. None when there are fewer clusters than classes."""
    n_classes, n_clusters = table.shape
    if n_clusters < n_classes:
        return None
    rows, cols = linear_sum_assignment(table, maximize=True)
    mapping: list[int | None] = [None] * n_clusters
    for c, k in zip(rows, cols):
        mapping[int(k)] = int(c)
    return Mapping(tuple(mapping), _accuracy(table, mapping))


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def nmi(table: np.ndarray) -> float:
    """Normalised mutual information of the two labellings behind ``table``: I(class; cluster) divided by
    the arithmetic mean of their entropies (natural log; scikit-learn's default normalisation). 1 when
    both labellings put every image in one group; 0 when only one of them does, or for independent ones."""
    table = np.asarray(table, np.float64)
    total = table.sum()
    if total == 0:
        raise ValueError("NMI of an empty table")
    h_class, h_cluster = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    if h_class == h_cluster == 0.0:
        return 1.0
    joint = table / total
    outer = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    nonzero = joint > 0
    mutual = float((joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])).sum())
    return float(np.clip(mutual / ((h_class + h_cluster) / 2.0), 0.0, 1.0))
