"""The judge's "neither" verdict on real photos and on images of no domain, and the caches' keys."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from evaluation.classifier import ClassifierConfig, cache_key, get_classifier
from evaluation.data import load_stack, open_data, read_rgb
from evaluation.judge import NEITHER, JudgeConfig, Judgement, get_judge, judge_key
from evaluation.nodomain import KINDS, no_domain_images

SMALL = ClassifierConfig(size=32, width=16, epochs=6, batch_size=32, lr=3e-3, max_per_domain=100)


@pytest.fixture(scope="module")
def cat2dog(shared_data):
    return open_data(shared_data / "cat2dog")


@pytest.fixture(scope="module")
def judge(cat2dog, tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny net trains faster on one thread, and other tests share the cores
    try:
        classifier = get_classifier(cat2dog, SMALL, cache=tmp_path_factory.mktemp("judge-cache"))
        return get_judge(classifier, cat2dog)
    finally:
        torch.set_num_threads(threads)


def _reject_rate(judge, images) -> float:
    return judge.judge(images).rates(target_is_b=True)["reject_rate"]


def test_flat_grey_and_noise_are_rejected_far_more_often_than_real_photos(judge, cat2dog):
    real = [read_rgb(p) for split in ("testA", "testB") for p in cat2dog.files[split][:30]]
    grey = [np.full((256, 256, 3), value, np.uint8) for value in range(60, 200, 7)]
    noise = list(np.random.default_rng(3).integers(0, 256, (20, 256, 256, 3), dtype=np.uint8))
    real_rate = _reject_rate(judge, real)  # this tiny classifier (32 px, 100 images per domain) rejects ~30%
    assert judge.trained_now and real_rate < 0.5
    assert _reject_rate(judge, grey) > max(0.75, real_rate + 0.4)
    assert _reject_rate(judge, noise) > max(0.75, real_rate + 0.4)


def test_a_rejected_image_is_no_target_verdict(judge, cat2dog):
    real_dogs = [read_rgb(p) for p in cat2dog.files["testB"][:10]]
    judged = judge.judge([*real_dogs, np.full((64, 64, 3), 128, np.uint8)])
    assert judged.verdict[-1] == NEITHER and judged.neither[-1] >= 0.5
    assert judged.features.shape == (11, judge.classifier.model.feature_dim)
    accepted = judged.verdict != NEITHER
    np.testing.assert_array_equal(judged.verdict[accepted], (judged.prob_b[accepted] >= 0.5).astype(int))


def test_rates_count_only_confident_target_verdicts():
    judged = Judgement(features=np.zeros((4, 2)), prob_b=np.array([0.9, 0.8, 0.2, 0.7]),
                       neither=np.array([0.1, 0.9, 0.1, 0.2]), verdict=np.array([1, NEITHER, 0, 1]))
    assert judged.rates(target_is_b=True) == {"target_rate": 0.5, "reject_rate": 0.25, "target_rate_two_class": 0.75}
    assert judged.rates(target_is_b=False) == {"target_rate": 0.25, "reject_rate": 0.25,
                                               "target_rate_two_class": 0.25}


def test_the_judge_is_cached_and_a_corrupt_entry_is_retrained(judge, cat2dog, monkeypatch):
    import evaluation.judge as module

    with monkeypatch.context() as patch:
        patch.setattr(module, "train_head", lambda *_: pytest.fail("the cached judge should have been used"))
        again = get_judge(judge.classifier, cat2dog)
    assert not again.trained_now and again.path == judge.path
    np.testing.assert_allclose(again.weight, judge.weight)
    assert json.loads(judge.path.read_text())["info"]["config"]["seed"] == 0
    judge.path.write_text('{"weight": [1, 2], "bias": 0, "info": {}}')  # the wrong size for these features
    assert get_judge(judge.classifier, cat2dog).trained_now


def test_the_cache_keys_follow_every_config_field(judge, cat2dog):
    """The classifier's key changes with each of its settings, and the judge's with each of its own and with
    the classifier it sits on."""
    changed = {"size": 48, "width": 8, "epochs": 1, "batch_size": 16, "lr": 1e-3, "max_per_domain": 99,
               "blur_probability": 0.25, "max_blur": 2.0, "seed": 1}
    assert set(changed) == {f.name for f in dataclasses.fields(ClassifierConfig)}
    keys = {cache_key(cat2dog, dataclasses.replace(SMALL, **{name: value})) for name, value in changed.items()}
    assert len(keys | {cache_key(cat2dog, SMALL)}) == len(changed) + 1

    base = JudgeConfig()
    changed_judge = {"no_domain_per_real": 2.0, "no_domain_blur": (5.0, 10.0), "l2": 1e-2, "reject_at": 0.6, "seed": 1}
    assert set(changed_judge) == {f.name for f in dataclasses.fields(JudgeConfig)}
    keys = {judge_key(judge.classifier, dataclasses.replace(base, **{n: v})) for n, v in changed_judge.items()}
    other_classifier = dataclasses.replace(judge.classifier, path=judge.classifier.path.with_name("other.pt"))
    keys |= {judge_key(judge.classifier, base), judge_key(other_classifier, base)}
    assert len(keys) == len(changed_judge) + 2


def test_no_domain_images_cycle_through_the_kinds_reproducibly(cat2dog):
    cats, dogs = (load_stack(cat2dog.files[split][:4], 32) for split in ("trainA", "trainB"))
    images = no_domain_images(cats, dogs, 8, np.random.default_rng(0))
    assert images.shape == (8, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, no_domain_images(cats, dogs, 8, np.random.default_rng(0)))
    flat = images[KINDS.index("flat")]
    assert np.abs(np.diff(flat.astype(int), n=2, axis=0)).max() <= 2  # a linear ramp: no second differences
    with pytest.raises(ValueError, match="both domains"):
        no_domain_images(cats, dogs[:0], 4, np.random.default_rng(0))
