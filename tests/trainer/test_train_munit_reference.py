"""MUNIT's example-guided additions (issue 15): the reference-guided path and the style prior term train, are logged
and finite, enter the generator total with their weights, are absent when off (the paper's configs), and a run
with them resumes exactly (the style memory is part of the checkpoint)."""
from __future__ import annotations

import math

import pytest
import torch
from resume_support import assert_resumes_exactly

from trainer.checkpoint import load_checkpoint
from trainer.config import load_config, resolve_config
from trainer.families import Placement
from trainer.families.munit import LOGGED_VALUES, REFERENCE_WEIGHTS, MunitFamily, _GeneratorPair
from trainer.loop import train
from trainer.losses import prior_moment_penalty
from trainer.metrics import read_metrics
from trainer.plot_metrics import panels_for
from trainer.precision import Precision

from tiny_munit import TINY_MUNIT

NEW_WEIGHTS = (*REFERENCE_WEIGHTS, "style_prior_w")
NEW_TERMS = ("dis_ref", "ref_adv", "ref_content", "ref_style", "style_prior")
GEN_WEIGHTS = {"gen_adv": "gan_w", "recon_x": "recon_x_w", "recon_s": "recon_s_w", "recon_c": "recon_c_w",
               "ref_adv": "ref_adv_w", "ref_content": "ref_content_w", "ref_style": "ref_style_w",
               "style_prior": "style_prior_w"}


def tiny_config(name: str, *overrides: str) -> dict:
    return load_config(name, [*TINY_MUNIT, "train.sample_every=100", *overrides])


@pytest.mark.parametrize("name", ["munit_paper", "munit_cpu", "munit_128"])
def test_the_shipped_munit_configs_keep_every_addition_off(name):
    loss = resolve_config(load_config(name))["loss"]
    assert all(loss[k] == 0.0 for k in NEW_WEIGHTS)
    family = MunitFamily(resolve_config(tiny_config(name, "train.amp=\"none\"", "train.channels_last=false")),
                         Placement(torch.device("cpu"), Precision("none", torch.device("cpu"))))
    assert family.logged_values == LOGGED_VALUES  # no new column, no style memory in the checkpoint
    assert set(family.models()) == {"gen_a", "gen_b", "dis_a", "dis_b"}


def test_the_ref_config_is_munit_cpu_with_the_additions_on():
    cpu, ref = (resolve_config(load_config(n)) for n in ("munit_cpu", "munit_cpu_ref"))
    changed = {k for k in ref["loss"] if ref["loss"][k] != cpu["loss"][k]}
    assert changed == {*NEW_WEIGHTS} and all(ref["loss"][k] > 0 for k in NEW_WEIGHTS)
    assert {t: ref[t] for t in ("model", "data", "train")} == {t: cpu[t] for t in ("model", "data", "train")}


def test_reference_path_and_prior_train_with_every_term_logged_finite_and_weighted(tiny_cat2dog, tmp_path):
    run = tmp_path / "run"
    weights = ("loss.ref_adv_w=0.5", "loss.ref_content_w=2.0", "loss.ref_style_w=3.0", "loss.style_prior_w=0.25")
    train(tiny_config("munit_cpu", "train.iterations=3", "train.batch_size=2", *weights), tiny_cat2dog, run,
          device="cpu", progress=False)
    rows = read_metrics(run / "metrics.csv")
    assert len(rows) == 3 and set(NEW_TERMS) <= set(rows[0])
    loss = load_config(run / "config.toml")["loss"]
    for row in rows:
        assert all(math.isfinite(row[k]) and row[k] > 0 for k in NEW_TERMS), row
        weighted = sum(loss[w] * row[k] for k, w in GEN_WEIGHTS.items())
        assert row["gen_total"] == pytest.approx(weighted, rel=1e-5)  # each term enters with its own weight
    assert {"dis_ref", "ref_adv"} <= set(panels_for(run / "metrics.csv", list(rows[0]))["adversarial"])
    assert any((run / "tb").iterdir())


def test_a_reference_weight_alone_turns_the_path_on_without_the_discriminator_side(tiny_cat2dog, tmp_path):
    run = tmp_path / "run"
    train(tiny_config("munit_cpu", "train.iterations=1", "loss.ref_style_w=1.0"), tiny_cat2dog, run,
          device="cpu", progress=False)
    row = read_metrics(run / "metrics.csv")[0]
    assert {"ref_adv", "ref_content", "ref_style"} <= set(row) and not {"dis_ref", "style_prior"} & set(row)


def test_reference_styles_come_from_the_other_real_images_of_the_batch():
    torch.manual_seed(0)
    family = MunitFamily(resolve_config(tiny_config("munit_cpu_ref")),
                         Placement(torch.device("cpu"), Precision("none", torch.device("cpu"))))
    pair = _GeneratorPair(family.gen_a, family.gen_b).eval()
    x_a, x_b = torch.rand(3, 3, 32, 32) * 2 - 1, torch.rand(3, 3, 32, 32) * 2 - 1
    s = torch.randn(3, 8)
    with torch.no_grad():
        out = pair(x_a, x_b, s, s, cycle=False, reference=True)
        expected = family.gen_b.decode(family.gen_a.content_encoder(x_a), family.gen_b.style_encoder(x_b.roll(1, 0)))
        single = pair(x_a[:1], x_b[:1], s[:1], s[:1], cycle=False, reference=True)
    torch.testing.assert_close(out["x_ab_ref"], expected)
    assert not torch.equal(out["s_b_ref"], out["s_b_prime"])  # another image's style, not the paired one
    torch.testing.assert_close(single["s_b_ref"], single["s_b_prime"])  # batch 1: the image itself


def test_prior_penalty_is_small_for_prior_samples_and_reaches_only_the_live_codes():
    torch.manual_seed(0)
    prior = torch.randn(20_000, 4)
    assert float(prior_moment_penalty(prior)) < 0.01
    shifted = (prior[:500] * 0.3 + 2.0).requires_grad_(True)
    memory = (prior[500:600] * 0.3 + 2.0).requires_grad_(True)
    penalty = prior_moment_penalty(shifted, memory)
    assert float(penalty.detach()) > 10.0
    penalty.backward()
    assert shifted.grad is not None and shifted.grad.abs().sum() > 0 and memory.grad is None
    one = torch.tensor([[1.0, -2.0]])
    assert float(prior_moment_penalty(one)) == pytest.approx(5.0)  # one code: the squared mean alone


def test_prior_penalty_gradient_counts_the_live_codes_for_the_whole_pool():
    torch.manual_seed(1)
    live, memory = torch.randn(2, 3).requires_grad_(True), torch.randn(6, 3) * 0.5 + 1.0
    with_memory = prior_moment_penalty(live, memory)
    grad, = torch.autograd.grad(with_memory, live)
    pooled = prior_moment_penalty(torch.cat([live, memory]))  # the same value, all codes live
    plain, = torch.autograd.grad(pooled, live)
    assert float(with_memory.detach()) == pytest.approx(float(pooled.detach()))
    torch.testing.assert_close(grad, plain * 8 / 2)  # (B + K) / B


def test_run_with_reference_path_and_style_memory_resumes_exactly(tiny_cat2dog, tmp_path):
    config = ["train.iterations=4", "train.checkpoint_every=2", "train.ema=0.9", "loss.style_prior_memory=3"]
    full, part = tmp_path / "full", tmp_path / "part"
    result = train(tiny_config("munit_cpu_ref", *config), tiny_cat2dog, full, device="cpu", progress=False)
    state = load_checkpoint(result.checkpoint)
    memory = state["models"]["style_memory_a"]
    assert int(memory["count"]) == 3 and not torch.equal(memory["keys"][0], memory["keys"][1])
    assert_resumes_exactly(tiny_config("munit_cpu_ref", *config), tiny_cat2dog, full, part, result.checkpoint,
                           read_metrics(full / "metrics.csv"))
