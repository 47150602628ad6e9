"""TUNIT export round trip: a tiny model trained a few steps from one unlabeled folder -> i2i-export -> the
torch-free runtime opens the bundle (self-test included) and translates towards each discovered cluster."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.runtime.bundle import load_bundle
from desktop.runtime.clusters import EXEMPLARS, SIZES
from desktop.runtime.style import ReferenceStyle, TypicalStyle
from desktop.runtime.translators import open_translator
from export.cli import main as export_main
from export.data import DatasetImages
from export.families.tunit import EXEMPLAR_SIDE, EXEMPLARS_PER_CLUSTER, TunitExporter, thumbnails
from i2i_common.images import read_image
from trainer.config import load_config
from trainer.loop import train

K = 3
TINY = ["model.img_size=32", "model.ngf=8", "model.ndf=8", "model.guide_width=8", "model.mlp_dim=16",
        "model.style_dim=16", f"model.output_k={K}", "model.dis_max_dim=16", "data.size=32", "data.load_size=32",
        "data.workers=0", "train.batch_size=4", "train.warmup_iterations=2", "train.iterations=6",
        "train.queue_size=8", "train.sample_every=1000", "train.checkpoint_every=1000", "train.sample_rows=2"]
EXPORT_ARGS = ["--style-images", "8", "--calibration-images", "8"]


@pytest.fixture(scope="module")
def pets(tmp_path_factory, shared_data) -> Path:
    """Eight cat and dog photos in one folder, no labels."""
    folder = tmp_path_factory.mktemp("data") / "pets"
    folder.mkdir()
    for letter in "AB":
        for path in sorted((shared_data / "cat2dog" / f"train{letter}").glob("*.jpg"))[:4]:
            shutil.copy(path, folder / f"{letter}_{path.name}")
    return folder


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory, pets) -> Path:
    run = tmp_path_factory.mktemp("run") / "tiny-tunit"
    train(load_config("tunit_cpu", TINY), pets, run, device="cpu", progress=False)
    out = tmp_path_factory.mktemp("bundle") / "tiny-pets-tunit.i2i"
    with pytest.MonkeyPatch.context() as mp:  # the writer's validation extracts into the user cache
        mp.setenv("I2I_STUDIO_HOME", str(out.parent / "home"))
        code = export_main(["--run", str(run), "--data", str(pets), "--out", str(out), *EXPORT_ARGS,
                            "--precisions", "fp32,fp16"])
    assert code == 0
    return out


def test_manifest_says_tunit_with_k_clusters_and_checked_graphs(bundle_path):
    bundle = load_bundle(bundle_path)
    manifest = bundle.manifest
    assert bundle.family == "tunit" and manifest["style"] == {"dim": 16, "prior": "empirical"}
    assert [(d.id, d.name) for d in bundle.domains] == [(f"c{k}", f"cluster {k}") for k in range(K)]
    assert [(d.id, d.source, d.target) for d in bundle.directions] == [(f"to_c{k}", "*", f"c{k}") for k in range(K)]
    assert manifest["image"]["sizes"] == {"kind": "multiple", "multiple": 2, "min": 32, "max": 1024}
    assert bundle.array("cluster_styles").shape == (K, 16)
    cases = manifest["verification"]["parity"]["cases"]
    assert {c["graph"] for c in cases} == {"guiding.onnx", "generator.onnx"}
    assert {c["batch"] for c in cases} == {1, 3} and max(c["max_abs_diff"] for c in cases) <= 1e-4


def test_the_bundle_has_each_clusters_size_and_most_typical_training_images(bundle_path, pets):
    bundle = load_bundle(bundle_path)
    sizes, exemplars = bundle.array(SIZES), bundle.array(EXEMPLARS)
    assert sizes.dtype == np.int64 and sizes.shape == (K,) and sizes.min() >= 0
    assert sizes.sum() == len(list(pets.iterdir())) == 8  # every training image falls in one cluster
    assert exemplars.dtype == np.uint8
    assert exemplars.shape == (K, EXEMPLARS_PER_CLUSTER, EXEMPLAR_SIDE, EXEMPLAR_SIDE, 3)
    for k in range(K):  # the filled slots are photos, the rest blank
        shown = min(int(sizes[k]), EXEMPLARS_PER_CLUSTER)
        assert all(exemplars[k, j].std() > 5 for j in range(shown)) and not exemplars[k, shown:].any()
    clusters = open_translator(bundle, provider="cpu").clusters
    assert [c.size for c in clusters] == sizes.tolist()
    assert [len(c.exemplars) for c in clusters] == [min(int(s), EXEMPLARS_PER_CLUSTER) for s in sizes]


def test_exemplars_are_the_assigned_images_the_guiding_network_rates_most_typical(pets):
    config = load_config("tunit_cpu", TINY)
    exporter = TunitExporter()
    torch.manual_seed(1)
    model = exporter.build(config, None)
    images = DatasetImages.from_config(config, pets).images("a", "train", limit=8)
    arrays = exporter.arrays(model, {"a": [images[:5], images[5:]]})
    with torch.no_grad():
        probabilities = torch.softmax(model["guide"](torch.from_numpy(images))[1].double(), 1).numpy()
    assigned, thumbs = probabilities.argmax(1), thumbnails(torch.from_numpy(images))
    np.testing.assert_array_equal(arrays[(SIZES, None)], np.bincount(assigned, minlength=K))
    for k in range(K):
        members = np.flatnonzero(assigned == k)
        ranked = members[np.argsort(-probabilities[members, k])][:EXEMPLARS_PER_CLUSTER]
        np.testing.assert_array_equal(arrays[(EXEMPLARS, None)][k, :len(ranked)], thumbs[ranked])
    assert thumbs.shape == (8, EXEMPLAR_SIDE, EXEMPLAR_SIDE, 3) and abs(thumbs.mean() - 127.5 * (images.mean() + 1)) < 2


def test_runtime_translates_towards_each_cluster(bundle_path, shared_data):
    translator = open_translator(load_bundle(bundle_path), provider="cpu")
    assert translator.self_test != "no self-test recorded"
    tests = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))
    image, reference = read_image(tests[0])[:90, :70], read_image(tests[1])
    probabilities = translator.classify(image)
    assert probabilities.shape == (K,) and np.isclose(probabilities.sum(), 1, atol=1e-5)
    outputs = []
    for k in range(K):
        for style in (TypicalStyle(), ReferenceStyle(reference)):
            result = translator.translate(image, f"to_c{k}", style)
            assert result.image.dtype == np.uint8 and result.image.shape == image.shape
            outputs.append(result.image)
    assert all(np.isfinite(o).all() and o.min() < o.max() for o in outputs)
    assert any(not np.array_equal(outputs[0], o) for o in outputs[1:])
    with pytest.raises(ValueError, match="no style prior"):
        translator.translate(image, "to_c0")


def test_a_cluster_no_image_falls_in_gets_the_overall_mean_style_and_no_exemplars(caplog):
    exporter = TunitExporter()
    model = exporter.build(load_config("tunit_cpu", TINY), None)
    with torch.no_grad():
        model["guide"].disc.bias.copy_(torch.tensor([0.0, 1e3, -1e3]))  # every image lands in cluster 1
    images = np.random.default_rng(0).uniform(-1, 1, (5, 3, 32, 32)).astype(np.float32)
    with caplog.at_level(logging.WARNING):
        arrays = exporter.arrays(model, {"a": [images[:3], images[3:]]})
    styles = arrays[("cluster_styles", None)]
    with torch.no_grad():
        mean = model["guide"].style(torch.from_numpy(images)).double().mean(0).numpy()
    assert styles.shape == (K, 16)
    np.testing.assert_allclose(styles, np.repeat(mean[None], K, axis=0), atol=1e-5)
    assert "no training image falls in cluster(s) c0, c2" in caplog.text
    exemplars = arrays[(EXEMPLARS, None)]
    assert arrays[(SIZES, None)].tolist() == [0, 5, 0] and not exemplars[[0, 2]].any()  # empty: no exemplars
    assert exemplars[1, :5].reshape(5, -1).any(axis=1).all() and not exemplars[1, 5].any()  # 5 images, 6 slots
