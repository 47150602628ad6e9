"""The evaluation's domain classifier on real cat and dog photos: it learns, and its cache is reused."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from evaluation.classifier import ClassifierConfig, cache_key, domain_classes, get_classifier
from evaluation.data import DomainFolders, EvalDataError, load_stack, open_data
from evaluation.labelled import open_labelled, training_classes
from evaluation.metrics import fid, kid

SMALL = ClassifierConfig(size=32, width=16, epochs=6, batch_size=32, lr=3e-3, max_per_domain=100)


@pytest.fixture(scope="module")
def cat2dog(shared_data) -> DomainFolders:
    return open_data(shared_data / "cat2dog")


@pytest.fixture(scope="module")
def trained(cat2dog, tmp_path_factory):
    cache = tmp_path_factory.mktemp("eval-cache")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny net trains faster on one thread, and other tests share the cores
    try:
        return get_classifier(cat2dog, SMALL, cache=cache), cache
    finally:
        torch.set_num_threads(threads)


def _held_out_accuracy(classifier, data: DomainFolders, count: int = 40) -> float:
    hits = []
    for label, split in enumerate(("testA", "testB")):
        _, prob_b = classifier.embed(load_stack(data.files[split][:count], SMALL.size))
        hits.append((prob_b >= 0.5) == bool(label))
    return float(np.concatenate(hits).mean())


def test_classifier_beats_chance_on_held_out_real_images(trained, cat2dog):
    classifier, _ = trained
    assert classifier.trained_now
    assert classifier.info["images"] == {"a": 100, "b": 100}
    assert _held_out_accuracy(classifier, cat2dog) > 0.65


def test_features_are_standardised_on_the_training_images(trained, cat2dog):
    classifier, _ = trained
    feats, prob_b = classifier.embed(load_stack(cat2dog.files["trainA"][:100] + cat2dog.files["trainB"][:100],
                                                SMALL.size + 2 * (SMALL.size // 16))[:, 1:-1, 1:-1])
    assert feats.shape == (200, classifier.model.feature_dim) and prob_b.shape == (200,)
    assert np.abs(feats.mean(axis=0)).max() < 0.2
    assert feats.std(axis=0).mean() == pytest.approx(1.0, abs=0.2)


def test_second_call_reuses_the_cache_without_training(trained, cat2dog, monkeypatch):
    classifier, cache = trained
    import evaluation.classifier as module

    def no_training(*_args, **_kwargs):
        raise AssertionError("the cached classifier should have been used")

    monkeypatch.setattr(module, "train", no_training)
    again = get_classifier(cat2dog, SMALL, cache=cache)
    assert not again.trained_now and again.path == classifier.path
    images = load_stack(cat2dog.files["testA"][:8], SMALL.size)
    np.testing.assert_allclose(again.embed(images)[0], classifier.embed(images)[0], rtol=1e-5, atol=1e-5)
    assert json.loads(again.path.with_suffix(".json").read_text())["config"]["epochs"] == SMALL.epochs


def test_cache_key_follows_the_config_and_the_file_list(trained, cat2dog, monkeypatch):
    classifier, cache = trained
    import evaluation.classifier as module

    trained_configs = []
    monkeypatch.setattr(module, "train", lambda data, config: trained_configs.append(config) or
                        (module.DomainClassifier(config.width), {"images": {}, "config": {}}))
    other_config = get_classifier(cat2dog, ClassifierConfig(**{**SMALL.__dict__, "epochs": 1}), cache=cache)
    fewer_files = DomainFolders(cat2dog.root, cat2dog.kind, {**cat2dog.files, "trainA": cat2dog.files["trainA"][:-1]})
    other_files = get_classifier(fewer_files, SMALL, cache=cache)
    assert other_config.trained_now and other_files.trained_now
    assert len({classifier.path, other_config.path, other_files.path}) == 3
    assert len(trained_configs) == 2


def test_training_is_reproducible_and_leaves_the_global_random_state_alone(cat2dog, tmp_path):
    config = ClassifierConfig(size=16, width=4, epochs=1, max_per_domain=16)
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = get_classifier(cat2dog, config, cache=tmp_path / "one")
    assert torch.equal(torch.rand(1), expected_next)
    second = get_classifier(cat2dog, config, cache=tmp_path / "two")
    assert first.trained_now and second.trained_now
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key


def test_a_corrupt_cache_entry_is_retrained(cat2dog, tmp_path):
    config = ClassifierConfig(size=16, width=4, epochs=1, max_per_domain=8)
    first = get_classifier(cat2dog, config, cache=tmp_path)
    first.path.write_bytes(b"not a checkpoint")
    again = get_classifier(cat2dog, config, cache=tmp_path)
    assert again.trained_now
    assert get_classifier(cat2dog, config, cache=tmp_path).trained_now is False


def test_data_folder_errors_are_clear(tmp_path):
    with pytest.raises(EvalDataError, match="dataset folder not found"):
        open_data(tmp_path / "nope")
    for split in ("trainA", "trainB", "testA"):
        (tmp_path / split).mkdir()
        (tmp_path / split / "x.jpg").write_bytes(b"listed, read later")
    (tmp_path / "testB").mkdir()
    (tmp_path / "testB" / "Thumbs.db").write_bytes(b"x")
    with pytest.raises(EvalDataError, match="no images in testB"):
        open_data(tmp_path)
    with pytest.raises(EvalDataError, match="no trainA/trainB/testA/testB or AFHQ"):
        open_data(tmp_path / "testA")


def test_afhq_layout_picks_the_classes_by_name(tmp_path):
    for split, name in (("train", "cat"), ("train", "dog"), ("train", "wild"), ("val", "cat"), ("val", "dog")):
        (tmp_path / split / name).mkdir(parents=True)
        (tmp_path / split / name / f"{name}.jpg").write_bytes(b"x")
    data = open_data(tmp_path, ["dog", "cat"])
    assert data.kind == "afhq"
    assert data.files["trainA"] == [tmp_path / "train" / "dog" / "dog.jpg"]
    assert data.files["testB"] == [tmp_path / "val" / "cat" / "cat.jpg"]
    with pytest.raises(EvalDataError, match="wild"):
        open_data(tmp_path, ["cat", "fox"])


def test_feature_kid_is_small_within_a_domain_and_large_across(trained, cat2dog):
    classifier, _ = trained

    def feats(split: str, first: int, count: int = 40) -> np.ndarray:
        return classifier.embed(load_stack(cat2dog.files[split][first:first + count], SMALL.size))[0]

    dogs_test, cats_test = feats("testB", 0), feats("testA", 0)
    dogs_train = feats("trainB", 500)  # not among the images the classifier was trained on
    within = kid(dogs_test, dogs_train).mean
    across = kid(dogs_test, cats_test).mean
    assert across > 5 * max(within, 0.01)
    assert fid(dogs_test, cats_test) > 2 * fid(dogs_test, dogs_train)


def test_training_augmentation_blurs_the_requested_share_of_images(cat2dog):
    from evaluation.classifier import _augment

    images = load_stack(cat2dog.files["trainA"][:16], 72)

    def sharpness(config: ClassifierConfig) -> np.ndarray:
        batch = _augment(images, 64, np.random.default_rng(0), config)  # [-1, 1] float, NCHW
        gray = batch.mean(dim=1).numpy()
        return np.array([cv2.Laplacian(g, cv2.CV_32F).var() for g in gray])

    sharp = sharpness(ClassifierConfig(blur_probability=0.0))
    blurred = sharpness(ClassifierConfig(blur_probability=1.0, max_blur=4.0))
    assert (blurred < sharp).all()
    assert np.median(blurred) < 0.5 * np.median(sharp)


def test_the_two_domain_cache_key_is_the_dataset_fingerprint_and_config_as_before(cat2dog):
    """Classifiers cached before the N-class generalisation are still found (the key is unchanged)."""
    payload = json.dumps({"data": cat2dog.fingerprint(("trainA", "trainB")), "config": SMALL.__dict__},
                         sort_keys=True)
    assert cache_key(cat2dog, SMALL) == hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]
    assert cache_key(cat2dog, SMALL) == cache_key(domain_classes(cat2dog), SMALL)
    assert domain_classes(cat2dog).names == ("a", "b")


def test_a_four_class_judge_tells_cats_dogs_selfies_and_anime_apart(shared_data, tmp_path):
    classes = open_labelled([shared_data / "cat2dog", shared_data / "selfie2anime"])
    config = ClassifierConfig(size=32, width=16, epochs=6, batch_size=32, lr=3e-3, max_per_domain=60)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        judge = get_classifier(training_classes(classes), config, cache=tmp_path)
    finally:
        torch.set_num_threads(threads)
    assert judge.trained_now and judge.info["images"] == {"cat": 60, "dog": 60, "selfie": 60, "anime": 60}
    hits = []
    for label, c in enumerate(classes):
        feats, probs = judge.predict(load_stack(c.data.files[c.test_split][:30], config.size))
        assert feats.shape == (30, judge.model.feature_dim) and probs.shape == (30, 4)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
        hits.append(probs.argmax(axis=1) == label)
    assert np.concatenate(hits).mean() > 0.5  # chance is 0.25; measured 0.78
    again = get_classifier(training_classes(classes), config, cache=tmp_path)  # cached, with its 4-logit head
    assert not again.trained_now and again.model.head.out_features == 4
    assert again.path != get_classifier(training_classes(classes[:2]), replace(config, epochs=1), cache=tmp_path).path
