"""Clustering figures on constructed label arrays: contingency, majority and Hungarian accuracy, NMI."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.cluster_metrics import contingency, hungarian_mapping, majority_mapping, nmi


def test_contingency_counts_pairs():
    table = contingency(np.array([0, 0, 1, 1, 1]), np.array([2, 2, 0, 2, 0]), 2, 3)
    assert table.tolist() == [[0, 0, 2], [2, 0, 1]]
    assert table.sum() == 5
    with pytest.raises(ValueError, match="out of range"):
        contingency(np.array([0, 2]), np.array([0, 0]), 2, 3)
    with pytest.raises(ValueError, match="same length"):
        contingency(np.array([0]), np.array([0, 1]), 2, 3)


def test_nmi_is_one_for_a_perfect_clustering_whatever_the_cluster_ids():
    classes = np.repeat([0, 1, 2], 5)
    for clusters in (classes, (classes + 1) % 3, np.array([4, 0, 2])[classes]):
        assert nmi(contingency(classes, clusters, 3, 5)) == pytest.approx(1.0)


def test_nmi_is_near_zero_for_independent_labels():
    classes = np.repeat([0, 1], 50)           # class: first half / second half
    clusters = np.tile([0, 1], 50)            # cluster: even / odd index, independent of the class
    assert nmi(contingency(classes, clusters, 2, 2)) == pytest.approx(0.0, abs=1e-12)
    rng = np.random.default_rng(0)
    random = nmi(contingency(rng.integers(0, 4, 4000), rng.integers(0, 10, 4000), 4, 10))
    assert 0.0 <= random < 0.01


def test_nmi_is_invariant_to_permuting_classes_clusters_and_images():
    rng = np.random.default_rng(1)
    classes = rng.integers(0, 3, 60)
    clusters = np.where(rng.random(60) < 0.7, classes, rng.integers(0, 4, 60))
    value = nmi(contingency(classes, clusters, 3, 4))
    order = rng.permutation(60)
    assert nmi(contingency(classes[order], clusters[order], 3, 4)) == pytest.approx(value)
    assert nmi(contingency(np.array([2, 0, 1])[classes], np.array([3, 1, 0, 2])[clusters], 3, 4)) == \
        pytest.approx(value)
    assert 0.0 < value < 1.0


def test_nmi_of_a_small_case_worked_by_hand():
    # classes [0 0 1 1], clusters [0 0 0 1]: H(class) = ln 2, H(cluster) = -(3/4 ln 3/4 + 1/4 ln 1/4) = 0.5623,
    # I = 1/2 ln(4/3) + 1/4 ln(2/3) + 1/4 ln 2 = 0.2158; NMI = 0.2158 / ((0.6931 + 0.5623) / 2) = 0.3437
    assert nmi(contingency(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1]), 2, 2)) == pytest.approx(0.3437, abs=1e-4)


def test_nmi_limit_cases():
    assert nmi(np.array([[5]])) == 1.0               # one class, one cluster: the same partition
    assert nmi(np.array([[3, 0], [0, 0]])) == 1.0     # empty rows and columns do not count
    assert nmi(np.array([[2, 2, 2]])) == 0.0          # one class split over clusters
    with pytest.raises(ValueError, match="empty"):
        nmi(np.zeros((2, 2)))


def test_majority_mapping_rewards_over_clustering_and_hungarian_does_not():
    # class 0 split over clusters 0 and 1, class 1 in cluster 2, cluster 3 empty
    table = np.array([[6, 4, 0, 0], [0, 1, 9, 0]])
    majority = majority_mapping(table)
    assert majority.class_of_cluster == (0, 0, 1, None)
    assert majority.accuracy == pytest.approx((6 + 4 + 9) / 20)
    hungarian = hungarian_mapping(table)
    assert hungarian is not None
    assert hungarian.class_of_cluster == (0, None, 1, None)
    assert hungarian.accuracy == pytest.approx((6 + 9) / 20)


def test_hungarian_finds_the_best_one_to_one_matching_not_the_greedy_one():
    # greedy (largest cell first) takes class 0 -> cluster 0 (5) then class 1 -> cluster 1 (0): 5;
    # the best matching is class 0 -> cluster 1 (4) and class 1 -> cluster 0 (4): 8
    table = np.array([[5, 4], [4, 0]])
    assert hungarian_mapping(table).class_of_cluster == (1, 0)
    assert hungarian_mapping(table).accuracy == pytest.approx(8 / 13)


def test_hungarian_needs_at_least_as_many_clusters_as_classes():
    assert hungarian_mapping(np.array([[3, 1], [1, 3], [2, 2]])) is None
    assert hungarian_mapping(np.array([[3], [1]])) is None
    square = hungarian_mapping(np.eye(3, dtype=np.int64) * 4)
    assert square is not None and square.accuracy == 1.0


def test_accuracies_of_an_empty_table_are_zero():
    assert majority_mapping(np.zeros((2, 3), np.int64)).accuracy == 0.0
