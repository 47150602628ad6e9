"""TUNIT's discovered clusters (desktop/runtime/clusters.py) on the committed tiny bundle: sizes and exemplars from
its optional arrays, an older bundle without them, and damaged arrays refused in one line."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from desktop.runtime.bundle import BundleError, load_bundle
from desktop.runtime.clusters import EXEMPLARS, SIZES, read_clusters
from desktop.runtime.translators import open_translator
from devkit.bundle_mutants import copy_bundle, drop_arrays, edit_manifest

FIXTURE_SIZES = (9, 4, 2)  # devkit/bundle_factory.py CLUSTER_SIZES; 3 exemplars of 16 px each at most


def replace_array(folder: Path, role: str, make: Callable[[np.ndarray], np.ndarray]) -> Path:
    """Store ``make(current values)`` as the role's array, whatever its shape, the manifest updated to match."""
    path = folder / f"{role}.npy"
    values = make(np.load(path, allow_pickle=False))
    np.save(path, values, allow_pickle=False)
    edit_manifest(folder, lambda m: next(a for a in m["arrays"] if a["role"] == role).update(
        shape=list(values.shape), dtype=str(values.dtype)))
    return folder


def test_the_tiny_bundle_lists_its_clusters_with_sizes_and_exemplars(tiny_bundles):
    translator = open_translator(tiny_bundles["tunit"])
    clusters = translator.clusters
    assert [(c.id, c.name, c.index, c.size) for c in clusters] == [
        (f"c{k}", f"cluster {k}", k, size) for k, size in enumerate(FIXTURE_SIZES)]
    assert [len(c.exemplars) for c in clusters] == [3, 3, 2]  # the last cluster has fewer images than slots
    stored = load_bundle(tiny_bundles["tunit"]).array(EXEMPLARS)
    for cluster in clusters:
        for j, image in enumerate(cluster.exemplars):
            assert image.shape == (16, 16, 3) and image.dtype == np.uint8 and image.max() > 0
            np.testing.assert_array_equal(image, stored[cluster.index, j])
    assert stored[2, 2].max() == 0  # the blank slot is not shown


def test_an_older_bundle_without_sizes_or_exemplars_still_opens_and_classifies(tiny_bundles, tmp_path):
    folder = drop_arrays(copy_bundle(tiny_bundles["tunit"], tmp_path / "old"), SIZES, EXEMPLARS)
    translator = open_translator(folder)
    assert [(c.id, c.size, c.exemplars) for c in translator.clusters] == [(f"c{k}", None, ()) for k in range(3)]
    probabilities = translator.classify(np.full((20, 24, 3), 90, np.uint8))
    assert probabilities.shape == (3,) and np.isclose(probabilities.sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("role, make, message", [
    (SIZES, lambda v: np.array([9, -1, 2], np.int64), "cluster_sizes holds a negative count"),
    (SIZES, lambda v: np.array([9, 4, 2, 1], np.int64), r"cluster_sizes is \[4\], the bundle has 3 clusters"),
    (EXEMPLARS, lambda v: v[:, :, :, :8], r"cluster_exemplars is \[3, 3, 16, 8, 3\], not \[3, E, S, S, 3\]"),
    (EXEMPLARS, lambda v: v[:2], r"cluster_exemplars is \[2, 3, 16, 16, 3\], not \[3, E, S, S, 3\]"),
    (EXEMPLARS, lambda v: v[..., :1], r"cluster_exemplars is \[3, 3, 16, 16, 1\]"),
])
def test_damaged_cluster_arrays_are_refused_in_one_line(tiny_bundles, tmp_path, role, make, message):
    folder = replace_array(copy_bundle(tiny_bundles["tunit"], tmp_path / "t"), role, make)
    with pytest.raises(BundleError, match=message) as refused:
        open_translator(folder)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("role, dtype", [(EXEMPLARS, np.float32), (SIZES, np.float64), (EXEMPLARS, "<U1")])
def test_an_array_of_another_dtype_is_refused_when_the_bundle_loads(tiny_bundles, tmp_path, role, dtype):
    folder = replace_array(copy_bundle(tiny_bundles["tunit"], tmp_path / "t"), role, lambda v: v.astype(dtype))
    with pytest.raises(BundleError, match=f"array {role}.npy: dtype .* family tunit stores {role} as "):
        load_bundle(folder)


def test_exemplars_without_sizes_are_refused(tiny_bundles, tmp_path):
    folder = drop_arrays(copy_bundle(tiny_bundles["tunit"], tmp_path / "t"), SIZES)
    with pytest.raises(BundleError, match="cluster_exemplars needs cluster_sizes"):
        read_clusters(load_bundle(folder))
