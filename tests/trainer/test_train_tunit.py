"""TUNIT training: the MoCo queue and the IIC / contrastive losses on constructed cases, the second view's
determinism, and a tiny run from one unlabeled folder through the real loop (warm-up, joint phase, exact resume)."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from resume_support import assert_resumes_exactly

from i2i_common.datasets import DatasetError
from trainer.checkpoint import load_checkpoint
from trainer.code_queue import KeyQueue
from trainer.config import load_config, resolve_config
from trainer.data import find_layout, load_rgb
from trainer.data.augment import second_view
from trainer.data.views import TwoViewTransform, pooled
from trainer.families import Placement
from trainer.families.tunit import TunitFamily
from trainer.families.tunit_losses import contrastive_loss, iic_loss
from trainer.loop import train
from trainer.metrics import read_metrics
from trainer.precision import Precision

TINY_TUNIT = ["model.img_size=32", "model.ngf=8", "model.ndf=8", "model.guide_width=8", "model.mlp_dim=16",
              "model.style_dim=16", "model.output_k=3", "model.dis_max_dim=16", "data.size=32", "data.load_size=32",
              "data.workers=0", "train.batch_size=4", "train.warmup_iterations=2", "train.queue_size=8",
              "train.log_every=1", "train.sample_rows=3", "train.sample_every=100", "train.checkpoint_every=2"]


def test_queue_keeps_the_newest_keys_oldest_first():
    queue = KeyQueue(4, 2)
    assert queue.contents().shape == (0, 2)
    batches = [torch.full((2, 2), float(i)) + torch.tensor([[0.0], [0.5]]) for i in range(3)]
    queue.push(batches[0])
    torch.testing.assert_close(queue.contents(), batches[0])
    for batch in batches[1:]:
        queue.push(batch)
    torch.testing.assert_close(queue.contents(), torch.cat(batches[1:]))  # the first batch dequeued
    queue.push(torch.arange(12.0).view(6, 2))  # more than the queue holds: the last four stay
    torch.testing.assert_close(queue.contents(), torch.arange(4.0, 12.0).view(4, 2))
    restored = KeyQueue(4, 2)
    restored.load_state_dict(queue.state_dict())
    torch.testing.assert_close(restored.contents(), queue.contents())


def test_iic_of_identical_confident_balanced_views_is_minus_log_k():
    k = 5
    one_hot = torch.eye(k).repeat(3, 1)
    assert float(iic_loss(one_hot, one_hot)) == pytest.approx(-math.log(k), abs=1e-6)
    uniform = torch.full((15, k), 1.0 / k)
    assert float(iic_loss(uniform, uniform)) == pytest.approx(0.0, abs=1e-6)  # no information


def test_contrastive_loss_is_cross_entropy_with_the_key_first():
    query = torch.tensor([[1.0, 0.0]])
    key, negatives = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    logits = torch.tensor([2.0, 0.0, -1.0]) / 0.5
    expected = -torch.log_softmax(logits, 0)[0]
    torch.testing.assert_close(contrastive_loss(query, key, negatives, 0.5), expected)


def test_second_view_is_deterministic_for_a_seed_and_keeps_the_shape(tiny_cat2dog):
    image = TwoViewTransform(48).eval(load_rgb(sorted(tiny_cat2dog.glob("trainA/*.jpg"))[0]))
    first, again = (second_view(image, np.random.default_rng([1, 0, 7])) for _ in range(2))
    other = second_view(image, np.random.default_rng([1, 0, 8]))
    assert first.shape == image.shape and first.min() >= -1 and first.max() <= 1
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert not torch.equal(first, image)


def test_grey_views_are_an_opt_in_that_leaves_the_official_views_unchanged(tiny_cat2dog):
    image = TwoViewTransform(48).eval(load_rgb(sorted(tiny_cat2dog.glob("trainA/*.jpg"))[0]))
    official = second_view(image, np.random.default_rng([1, 0, 7]))
    assert torch.equal(second_view(image, np.random.default_rng([1, 0, 7]), grayscale=0.0), official)
    grey = second_view(image, np.random.default_rng([1, 0, 7]), grayscale=1.0)
    assert torch.allclose(grey[0], grey[1]) and torch.allclose(grey[1], grey[2])
    assert not torch.allclose(official[0], official[1])  # a colour photo: the official view keeps its colours
    views = TwoViewTransform(48, grayscale=1.0).train(load_rgb(sorted(tiny_cat2dog.glob("trainA/*.jpg"))[0]),
                                                      np.random.default_rng(3))
    assert not torch.allclose(views[0][0], views[0][1]) and torch.allclose(views[1][0], views[1][1])


def test_a_grey_share_outside_0_to_1_is_refused(tiny_cat2dog, tmp_path):
    with pytest.raises(DatasetError, match="data.view_grayscale must be between 0 and 1, not 1.5"):
        train(load_config("tunit_cpu", [*TINY_TUNIT, "data.view_grayscale=1.5"]), tiny_cat2dog, tmp_path / "run",
              device="cpu", progress=False)


def test_a_labelled_layout_is_pooled(tiny_cat2dog):
    domain = pooled(find_layout(tiny_cat2dog))
    assert len(domain.train) == 8
    assert [p.parent.name for p in domain.test] == ["testA", "testB", "testA", "testB"]


def test_keys_use_batch_statistics_and_leave_the_key_encoders_running_statistics_alone():
    cpu = torch.device("cpu")
    family = TunitFamily(resolve_config(load_config("tunit_cpu", TINY_TUNIT)), Placement(cpu, Precision("none", cpu)))
    encoder = family.ema["guide"].module
    before = [b.clone() for b in encoder.buffers()]
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    keys = family._keys(x)
    assert all(torch.equal(b, saved) for b, saved in zip(encoder.buffers(), before, strict=True))
    assert not encoder.training
    with torch.no_grad():
        assert torch.allclose(keys, encoder.train().style(x))  # batch statistics, as the official C_EMA
        assert not torch.allclose(keys, encoder.eval().style(x))  # not the running ones


def test_tiny_run_warms_up_trains_jointly_samples_and_resumes_exactly(one_folder, tmp_path):
    config = [*TINY_TUNIT, "train.iterations=4"]
    full, part = tmp_path / "full", tmp_path / "part"
    result = train(load_config("tunit_cpu", config), one_folder, full, device="cpu", progress=False)
    rows = read_metrics(full / "metrics.csv")
    assert len(rows) == 4
    for row in rows:
        assert all(math.isfinite(v) for v in row.values()), row
        assert sum(row[f"cluster_{k}"] for k in range(3)) == 4
    assert all(row["dis_total"] == 0 and row["gen_total"] == 0 for row in rows[:2])  # warm-up: guiding only
    assert all(row["dis_total"] > 0 and row["r1"] > 0 and row["rec"] > 0 for row in rows[2:])
    assert rows[2]["guide_total"] == pytest.approx(0.1 * (rows[2]["moco"] + 5 * rows[2]["iic"]), rel=1e-4)
    state = load_checkpoint(result.checkpoint)
    assert set(state["models"]) == {"guide", "gen", "dis", "queue"} and set(state["ema"]) == {"gen", "guide"}
    assert int(state["models"]["queue"]["count"]) == 8  # seeded with 4 keys, then 4 per iteration, capped at 8
    assert state["data"]["layout"] == "unlabeled" and state["data"]["images"] == {"all": 8}
    warm = load_checkpoint(full / "checkpoints" / "ckpt_00000002.pt")
    # the warm-up left the generator and discriminator alone: no optimiser step, the generator still equal to
    # its EMA copy (made at the start, not updated before the joint phase)
    assert not warm["optimizers"]["gen"]["state"] and not warm["optimizers"]["dis"]["state"]
    assert all(torch.equal(t, warm["ema"]["gen"][k]) for k, t in warm["models"]["gen"].items())
    assert any(not torch.equal(t, state["models"]["gen"][k]) for k, t in warm["models"]["gen"].items())
    grid = cv2.imread(str(full / "samples" / "sample_00000004.png"))
    assert grid.shape == (128, 128, 3)  # a reference row and 3 input rows, each 1 + 3 images of 32 px

    assert_resumes_exactly(load_config("tunit_cpu", config), one_folder, full, part, result.checkpoint, rows)


def test_a_travel_checkpoint_resumes_in_the_joint_phase_with_the_queue(one_folder, tmp_path):
    config = [*TINY_TUNIT, "train.iterations=3", "train.checkpoint_every=3"]
    travel = tmp_path / "travel"
    train(load_config("tunit_cpu", config), one_folder, tmp_path / "first", device="cpu", progress=False,
          travel_out=travel)
    later = [*TINY_TUNIT, "train.iterations=4"]
    result = train(load_config("tunit_cpu", later), one_folder, tmp_path / "second", device="cpu", progress=False,
                   resume_from=travel)
    rows = read_metrics(tmp_path / "second" / "metrics.csv")
    assert [row["iteration"] for row in rows] == [4] and rows[0]["dis_total"] > 0  # still the joint phase
    state = load_checkpoint(result.checkpoint)
    assert int(state["models"]["queue"]["count"]) == 8 and state["schedulers"]["guide"]["last_epoch"] == 4
