"""``i2i-eval`` on a TUNIT bundle: labelled classes from several folders, clustering figures, target rates.

The tiny TUNIT fixture's guiding network is rewired (its weights set with onnx, its self-test dropped) so
that it clusters images by their dominant colour channel: red -> c0, green -> c1, blue -> c2. The data
are small generated folders of noisy red, green and blue pictures, so every clustering figure is known.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx import numpy_helper

from devkit.bundle_mutants import copy_bundle, edit_graph, edit_manifest
from evaluation.classifier import ClassifierConfig, TrainingClasses, cache_key
from evaluation.cli import main
from evaluation.cluster_metrics import nmi
from evaluation.grid import GAP, LABEL_HEIGHT
from evaluation.labelled import open_labelled, training_classes
from i2i_common.images import read_image, write_image

TRAIN, TEST = 6, 4
FAST = ["--classifier-epochs", "1", "--classifier-images", str(TRAIN), "--threads", "1", "--references", "2"]
CONFIG = ClassifierConfig(epochs=1)
COLOURS = {"red": (200, 40, 40), "green": (40, 200, 40), "blue": (40, 40, 200), "navy": (20, 20, 120)}


def _pictures(folder: Path, colour: tuple[int, int, int], count: int, seed: int) -> None:
    """Noisy pictures of one dominant colour with a grey square somewhere (40 x 40 PNG)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(count):
        image = np.clip(np.array(colour) + rng.normal(0, 15, (40, 40, 3)), 0, 255).astype(np.uint8)
        top, left = rng.integers(0, 24, size=2)
        image[top:top + 12, left:left + 12] = 110
        write_image(folder / f"{i:02d}.png", image)


def _dataset(root: Path, a: str, b: str) -> Path:
    for k, (split, colour) in enumerate([("trainA", a), ("trainB", b), ("testA", a), ("testB", b)]):
        _pictures(root / split, COLOURS[colour], TRAIN if split.startswith("train") else TEST, seed=k)
    return root


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("labelled")
    return {"red2green": _dataset(root / "red2green", "red", "green"),  # classes "red", "green"
            "plain": _dataset(root / "plain", "blue", "navy")}            # "plain/testA", "plain/testB"


@pytest.fixture(scope="module")
def colour_tunit(tiny_bundles, tmp_path_factory) -> Path:
    """The tiny TUNIT bundle with a guiding network whose cluster is the input's dominant colour channel."""
    bundle = copy_bundle(tiny_bundles["tunit"], tmp_path_factory.mktemp("bundle") / "colour-tunit")
    weights = {"enc.conv.weight": np.zeros((8, 3, 3, 3)), "enc.conv.bias": np.zeros(8),
               "enc.head.weight": np.eye(4, 8), "enc.head.bias": np.zeros(4),
               "cluster.weight": 10 * np.eye(3, 4), "cluster.bias": np.zeros(3)}
    for channel in range(3):  # conv channel c = input channel c + 1 (the input is in [-1, 1]), kept by the ReLU
        weights["enc.conv.weight"][channel, channel, 1, 1] = 1.0
        weights["enc.conv.bias"][channel] = 1.0

    def rewire(model):
        for init in model.graph.initializer:
            init.CopyFrom(numpy_helper.from_array(weights[init.name].astype(np.float32), init.name))

    edit_graph(bundle, "guiding.onnx", rewire)
    edit_manifest(bundle, lambda manifest: manifest.pop("self_test"))
    return bundle


@pytest.fixture(autouse=True)
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _run(bundle: Path, data: list[Path], out: Path, *extra: str) -> int:
    return main(["--bundle", str(bundle), *(a for d in data for a in ("--data", str(d))), "--out", str(out),
                 *FAST, *extra])


def _check_consistent(results: dict) -> None:
    """Every figure in range and derived from the contingency table as documented."""
    table = np.array(results["contingency"]["counts"])
    assert table.sum(axis=1).tolist() == [c["images"] for c in results["classes"]]
    assert [c["size"] for c in results["clusters"]] == table.sum(axis=0).tolist()
    names = results["contingency"]["classes"]
    majority_hits = sum(table[names.index(c["majority_class"]), k]
                        for k, c in enumerate(results["clusters"]) if c["majority_class"])
    assert results["accuracy"]["majority"] == pytest.approx(majority_hits / table.sum())
    assert results["nmi"] == pytest.approx(nmi(table)) and 0.0 <= results["nmi"] <= 1.0
    for c, column in zip(results["clusters"], table.T):
        if column.sum():
            assert c["majority_share"] == pytest.approx(column.max() / column.sum())
    for mode in ("typical", "reference"):
        rates = results["target_rates"][mode]
        for k, cluster in enumerate(results["contingency"]["clusters"]):
            per_cluster = rates["per_cluster"][cluster]
            pairs = [rates["per_pair"][name][cluster] for name in names]
            if results["clusters"][k]["majority_class"] is None:
                assert per_cluster is None and pairs == [None] * len(names)
                continue
            assert all(0.0 <= r <= 1.0 for r in pairs)
            assert sum(per_cluster["judged_as"].values()) == pytest.approx(1.0)
            assert per_cluster["judged_as"][per_cluster["target_class"]] == pytest.approx(per_cluster["rate"])
            if mode == "typical":  # one output per input: the cluster's rate is the image-weighted mean
                assert per_cluster["outputs"] == table.sum()
                assert per_cluster["rate"] == pytest.approx(
                    sum(r * n for r, n in zip(pairs, table.sum(axis=1))) / table.sum())
            else:  # two references per input, never the input itself
                assert per_cluster["outputs"] == 2 * table.sum()
    assert all(0.0 <= v <= 1.0 for v in results["classifier"]["accuracy"].values())


def test_four_classes_from_two_folders_in_three_colour_clusters(colour_tunit, datasets, tmp_path, capsys):
    out = tmp_path / "eval"
    assert _run(colour_tunit, [datasets["red2green"], datasets["plain"]], out) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["evaluation"] == "clusters" and results["bundle"]["family"] == "tunit"
    assert [c["name"] for c in results["classes"]] == ["red", "green", "plain/testA", "plain/testB"]
    assert results["contingency"]["clusters"] == ["c0", "c1", "c2"]
    assert results["contingency"]["counts"] == [[4, 0, 0], [0, 4, 0], [0, 0, 4], [0, 0, 4]]
    assert [c["majority_class"] for c in results["clusters"]] == ["red", "green", "plain/testA"]
    assert results["accuracy"] == {"majority": 0.75, "hungarian": None}  # 3 clusters for 4 classes
    assert results["classifier"]["training"]["images"] == {
        "red": TRAIN, "green": TRAIN, "plain/testA": TRAIN, "plain/testB": TRAIN}
    assert set(results["classifier"]["accuracy"]) == set(results["contingency"]["classes"])
    _check_consistent(results)

    members = read_image(out / "clusters.png")  # 3 titled rows of up to 8 members (c2 has 8), 128 px tiles
    assert members.shape[:2] == (3 * (LABEL_HEIGHT + 128 + 2 * GAP), 8 * 128 + 9 * GAP)
    first = members[LABEL_HEIGHT + GAP:LABEL_HEIGHT + GAP + 128, GAP:GAP + 128].reshape(-1, 3).mean(axis=0)
    assert first[0] > first[1] + 50 and first[0] > first[2] + 50  # cluster c0's members are red
    translations = read_image(out / "translations.png")  # 4 classes x 2 inputs; input then 3 clusters
    assert translations.shape[:2] == (4 * (LABEL_HEIGHT + 2 * (128 + GAP) + GAP), 4 * 128 + 5 * GAP)
    table = (out / "results.md").read_text(encoding="utf-8")
    assert "| red | 4 | 0 | 0 | 4 |" in table and "(clusters.png)" in table and "(translations.png)" in table
    printed = capsys.readouterr().out
    assert "accuracy (Hungarian)" in printed and "clusters.png, translations.png" in printed


def test_a_perfect_clustering_of_two_classes(colour_tunit, datasets, tmp_path):
    out = tmp_path / "eval"
    assert _run(colour_tunit, [datasets["red2green"]], out, "--max-images", "3") == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["contingency"]["counts"] == [[3, 0, 0], [0, 3, 0]]
    assert results["accuracy"] == {"majority": 1.0, "hungarian": 1.0}
    assert results["nmi"] == pytest.approx(1.0)
    assert [c["hungarian_class"] for c in results["clusters"]] == ["red", "green", None]
    assert results["target_rates"]["typical"]["per_cluster"]["c2"] is None  # empty cluster: no target class
    _check_consistent(results)


def test_labelled_classes_of_each_layout(datasets, tmp_path):
    afhq = tmp_path / "afhq"
    for split, classes in (("train", ("cat", "red", "wild")), ("test", ("cat", "red", "wild"))):
        for name in classes:
            _pictures(afhq / split / name, COLOURS["red"], 2, seed=0)
    classes = open_labelled([datasets["red2green"], afhq])
    assert [(c.name, c.train_split, c.test_split) for c in classes] == [
        ("red2green/red", "trainA", "testA"), ("green", "trainB", "testB"), ("cat", "train/cat", "test/cat"),
        ("afhq/red", "train/red", "test/red"), ("wild", "train/wild", "test/wild")]
    assert [len(c.data.files[c.test_split]) for c in classes] == [TEST, TEST, 2, 2, 2]
    # the judge's cache key follows the class names and files
    keys = {cache_key(training_classes(classes), CONFIG),
            cache_key(training_classes(classes[::-1]), CONFIG),
            cache_key(training_classes(open_labelled([datasets["red2green"]])), CONFIG)}
    assert len(keys) == 3
    assert isinstance(training_classes(classes), TrainingClasses)


@pytest.mark.parametrize("case, message", [
    ("unlabeled folder", "labelled classes are needed"),
    ("same folder twice", "the same dataset is given twice"),
    ("no test images", "no images in testB"),
    ("swap", "--swap-domains is for two-domain bundles"),
    ("references", "--references must be at least 1"),
])
def test_clear_one_line_errors(case, message, colour_tunit, datasets, tmp_path, capsys):
    data, extra = [datasets["red2green"]], []
    if case == "unlabeled folder":
        data = [datasets["red2green"] / "trainA"]
    elif case == "same folder twice":
        data = [datasets["red2green"], datasets["red2green"]]
    elif case == "no test images":
        broken = _dataset(tmp_path / "broken", "red", "green")
        for image in (broken / "testB").iterdir():
            image.unlink()
        data = [broken]
    elif case == "swap":
        extra = ["--swap-domains"]
    elif case == "references":
        extra = ["--references", "0"]
    assert _run(colour_tunit, data, tmp_path / "out", *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2i-eval: error:") and message in err and "\n" not in err

