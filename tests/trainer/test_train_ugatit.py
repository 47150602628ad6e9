"""U-GAT-IT networks and training: the paper's shapes (official parameter counts), AdaILN/ILN arithmetic, the CAM
heatmap, the full generator's fixed size, and a tiny run that trains, clips rho, samples and resumes exactly."""
from __future__ import annotations

import math

import pytest
import torch
from resume_support import assert_resumes_exactly

from trainer.checkpoint import load_checkpoint
from trainer.config import load_config, resolve_config
from trainer.families import Placement
from trainer.families.ugatit import UgatitFamily, heat_colours, linear_decay
from trainer.loop import train
from trainer.metrics import read_metrics
from trainer.models.ugatit import ILN, AdaILN, build_discriminators, build_generator, check_input_size
from trainer.precision import Precision

TINY_UGATIT = ["model.ngf=4", "model.n_res=1", "model.ndf=4", "model.dis_global_layers=4",
               "model.dis_local_layers=3", "data.size=32", "data.load_size=36", "data.workers=0",
               "train.log_every=1", "train.sample_rows=2", "train.sample_every=100"]


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("config, generator", [("ugatit_light", 10_589_888), ("ugatit_paper", 278_959_808)])
def test_paper_configs_have_the_official_parameter_counts(config, generator):
    model = load_config(config)["model"]
    with torch.device("meta"):  # counted without allocating the full generator's 1.1 GB
        gen = build_generator(model)
        global_dis, local_dis = build_discriminators(model)
    assert (count(gen), count(global_dis), count(local_dis)) == (generator, 53_130_176, 3_290_560)
    if config == "ugatit_paper":
        assert tuple(gen.fc[0].weight.shape) == (256, 1_048_576)  # Linear over the whole 64x64x256 map


def test_paper_discriminators_output_the_official_patch_grids():
    global_dis, local_dis = build_discriminators({"ndf": 8})
    x = torch.zeros(1, 3, 256, 256)
    with torch.no_grad():
        assert global_dis(x)[0].shape[2:] == (6, 6) and local_dis(x)[0].shape[2:] == (30, 30)
        assert global_dis(x)[1].shape == (1, 2)  # the CAM logits: GAP and GMP


def test_adailn_mixes_instance_and_layer_norm_by_rho_with_unbiased_variance():
    x = torch.randn(2, 3, 5, 5) * 3 + 1
    gamma, beta = torch.rand(2, 3) + 0.5, torch.randn(2, 3)
    norm = AdaILN(3)
    assert torch.all(norm.rho == 0.9)
    with torch.no_grad():
        norm.rho.fill_(1.0)
        x_in = (x - x.mean((2, 3), keepdim=True)) / torch.sqrt(x.var((2, 3), unbiased=True, keepdim=True) + 1e-5)
        torch.testing.assert_close(norm(x, gamma, beta), x_in * gamma[..., None, None] + beta[..., None, None])
        norm.rho.fill_(0.0)
        x_ln = (x - x.mean((1, 2, 3), keepdim=True)) / torch.sqrt(x.var((1, 2, 3), keepdim=True) + 1e-5)
        torch.testing.assert_close(norm(x, gamma, beta), x_ln * gamma[..., None, None] + beta[..., None, None])
    iln = ILN(3)
    assert torch.all(iln.rho == 0) and torch.all(iln.gamma == 1) and torch.all(iln.beta == 0)
    torch.testing.assert_close(iln(x), x_ln)


def test_generator_returns_image_cam_logits_and_the_heatmap_as_channel_sum():
    torch.manual_seed(0)
    gen = build_generator({"ngf": 4, "n_res": 1, "light": True}).eval()
    x = torch.rand(3, 3, 48, 80) * 2 - 1  # the light generator takes any multiple of 4
    with torch.no_grad():
        image, cam_logit, heatmap = gen(x)
        features = gen.cam(gen.down(x))[0]
        single = torch.cat([gen(x[i:i + 1])[0] for i in range(3)])
    assert image.shape == x.shape and image.abs().max() <= 1
    assert cam_logit.shape == (3, 2) and heatmap.shape == (3, 1, 12, 20)
    torch.testing.assert_close(heatmap, features.sum(1, keepdim=True))
    torch.testing.assert_close(image, single, atol=1e-5, rtol=1e-4)  # no batch-size branches (export at B > 1)
    colours = heat_colours(heatmap, (48, 80))
    assert colours.shape == (3, 3, 48, 80) and colours.min() >= -1 and colours.max() <= 1


def test_input_sizes_are_checked_with_a_clear_message():
    light = build_generator({"ngf": 4, "n_res": 1, "light": True})
    check_input_size(light, 48, 80)
    with pytest.raises(ValueError, match="multiples of 4"):
        check_input_size(light, 50, 64)
    with torch.device("meta"):
        full = build_generator({"ngf": 4, "n_res": 1, "light": False, "img_size": 64})
    check_input_size(full, 64, 64)
    with pytest.raises(ValueError, match="only takes 64x64"):
        check_input_size(full, 128, 128)


def test_full_generator_needs_data_size_equal_to_its_img_size():
    config = resolve_config(load_config("ugatit_paper", [*TINY_UGATIT, "model.img_size=64"]))
    cpu = torch.device("cpu")
    with pytest.raises(ValueError, match="img_size"):
        UgatitFamily(config, Placement(cpu, Precision("none", cpu)))


def test_learning_rate_decays_linearly_to_zero_over_the_second_half():
    factor = linear_decay(1000, 0.5)
    assert [factor(i) for i in (0, 499, 500, 750, 1000)] == [1.0, 1.0, 1.0, 0.5, 0.0]


def test_tiny_run_trains_clips_rho_samples_and_resumes_exactly(tiny_cat2dog, tmp_path):
    config = [*TINY_UGATIT, "train.iterations=4", "train.checkpoint_every=2", "train.ema=0.9"]
    full, part = tmp_path / "full", tmp_path / "part"
    result = train(load_config("ugatit_cpu", config), tiny_cat2dog, full, device="cpu", progress=False)
    rows = read_metrics(full / "metrics.csv")
    assert len(rows) == 4
    for row in rows:
        for key in ("dis_total", "gen_total", "gen_adv", "cycle", "identity", "cam"):
            assert math.isfinite(row[key]), (key, row)
    state = load_checkpoint(result.checkpoint)
    assert set(state["models"]) == {"gen_a2b", "gen_b2a", "dis_a", "dis_b"} and set(state["ema"]) == {
        "gen_a2b", "gen_b2a"}
    rhos = [t for name, t in state["models"]["gen_a2b"].items() if name.endswith("rho")]
    assert rhos and all(float(t.min()) >= 0 and float(t.max()) <= 1 for t in rhos)
    assert (full / "samples" / "sample_00000004.png").is_file()  # input, heatmap, translation, cycle, identity
    assert_resumes_exactly(load_config("ugatit_cpu", config), tiny_cat2dog, full, part, result.checkpoint, rows)


def test_rho_is_clipped_after_every_generator_step(tiny_cat2dog):
    config = resolve_config(load_config("ugatit_cpu", TINY_UGATIT))
    cpu = torch.device("cpu")
    family = UgatitFamily(config, Placement(cpu, Precision("none", cpu)))
    with torch.no_grad():
        for module in family.gen_a2b.modules():
            if isinstance(module, (AdaILN, ILN)):
                module.rho.fill_(1.7)
    images = [torch.rand(2, 3, 32, 32) * 2 - 1 for _ in range(2)]
    values = family.train_step(images)
    assert set(values) == set(family.logged_values)
    rhos = [m.rho for m in family.gen_a2b.modules() if isinstance(m, (AdaILN, ILN))]
    assert rhos and all(float(r.max()) <= 1.0 for r in rhos)
