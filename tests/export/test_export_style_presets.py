"""Style presets: k-medoids of the style codes under their Mahalanobis distance, the most typical first."""
from __future__ import annotations

import numpy as np
import pytest

from export.style_presets import style_presets


def groups(sizes: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Codes [N, 3] in tight groups of the given sizes around far-apart centres; and the group of each code."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 1.0, -2.0], [-5.0, 4.0, 3.0], [2.0, -6.0, 5.0]])[:len(sizes)]
    labels = np.repeat(np.arange(len(sizes)), sizes)
    return (centres[labels] + 0.2 * rng.standard_normal((len(labels), 3))).astype(np.float32), labels


def row_index(codes: np.ndarray, row: np.ndarray) -> int:
    matches = np.flatnonzero((codes == row).all(axis=1))
    assert len(matches) == 1, "a preset must be one of the codes, unchanged"
    return int(matches[0])


def test_presets_are_codes_one_per_group_most_central_first():
    codes, labels = groups([30, 20, 10, 5])
    presets = style_presets(codes, count=4)
    assert presets.shape == (4, 3) and presets.dtype == np.float32
    picked = [row_index(codes, p) for p in presets]
    assert sorted(labels[picked]) == [0, 1, 2, 3]  # every group is represented
    inverse = np.linalg.inv(np.cov(codes.astype(np.float64), rowvar=False))
    centred = presets - codes.mean(axis=0)
    distance = np.einsum("pi,ij,pj->p", centred, inverse, centred)
    assert np.all(np.diff(distance) > 0)
    group = codes[labels == labels[picked[0]]]  # each preset is its group's medoid, not just any member
    spread = np.abs(group[:, None] - group[None]).sum(axis=2).sum(axis=1)
    assert spread[row_index(group, presets[0])] <= np.quantile(spread, 0.25)


def test_the_choice_does_not_depend_on_the_scale_of_a_dimension():
    codes, _ = groups([25, 15, 10])
    scaled = codes * np.array([30.0, 1.0, 0.03], np.float32)
    plain = [row_index(codes, p) for p in style_presets(codes, count=3)]
    assert [row_index(scaled, p) for p in style_presets(scaled, count=3)] == plain  # Mahalanobis, not Euclidean


def test_few_or_repeated_codes_give_fewer_presets_and_one_code_is_refused():
    codes = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, -1.0], [3.0, -1.0], [1.0, 2.0]], np.float32)
    presets = style_presets(codes, count=4)
    assert len(presets) == 2 and len({p.tobytes() for p in presets}) == 2
    assert len(style_presets(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]], np.float32))) == 2  # rank-1 covariance
    with pytest.raises(ValueError, match="at least 2 codes"):
        style_presets(np.zeros((1, 8), np.float32))
