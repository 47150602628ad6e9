"""MUNIT networks: shapes, batch independence (no batch-size branches), LayerNorm and AdaIN arithmetic."""
from __future__ import annotations

import pytest
import torch

from trainer.config import dumps_config, load_config
from trainer.models.blocks import MunitLayerNorm, adain
from trainer.models.munit import build_discriminator, build_generator

TINY = {"family": "munit", "dim": 8, "style_dim": 4, "n_downsample": 2, "n_res": 1, "mlp_dim": 16,
        "dis_dim": 8, "dis_n_layer": 2, "dis_num_scales": 2}


def test_generator_shapes_and_range():
    torch.manual_seed(0)
    gen = build_generator(TINY)
    x = torch.rand(3, 3, 32, 48) * 2 - 1
    content, style = gen.encode(x)
    assert content.shape == (3, 32, 8, 12)
    assert style.shape == (3, 4)
    y = gen.decode(content, style)
    assert y.shape == x.shape
    assert y.abs().max() <= 1.0


def test_decoder_is_batch_independent():
    """Each sample's output depends only on its own inputs (what an export at batch > 1 needs)."""
    torch.manual_seed(0)
    gen = build_generator(TINY).eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        batched = gen(x)
        single = torch.cat([gen(x[i:i + 1]) for i in range(3)])
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)


def test_discriminator_one_map_per_scale():
    dis = build_discriminator(TINY)
    outs = dis(torch.zeros(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 1, 16, 16), (2, 1, 8, 8)]


def test_munit_layer_norm_uses_unbiased_std_plus_eps():
    norm = MunitLayerNorm(2)
    with torch.no_grad():
        norm.gamma.fill_(1.0)
    x = torch.randn(2, 2, 3, 3)
    flat = x.flatten(1)
    expected = (x - flat.mean(1).view(-1, 1, 1, 1)) / (flat.std(1, unbiased=True).view(-1, 1, 1, 1) + 1e-5)
    torch.testing.assert_close(norm(x), expected)


def test_adain_sets_per_channel_mean_and_std():
    x = torch.randn(2, 3, 16, 16) * 5 + 2
    mean = torch.tensor([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]])
    std = torch.tensor([[1.0, 2.0, 0.5], [3.0, 1.0, 0.1]])
    y = adain(x, mean, std)
    torch.testing.assert_close(y.mean(dim=(2, 3)), mean, atol=1e-4, rtol=0)
    torch.testing.assert_close(y.std(dim=(2, 3), unbiased=False), std, atol=1e-3, rtol=1e-3)


def test_unknown_model_key_is_an_error():
    with pytest.raises(ValueError, match="unknown"):
        build_generator({**TINY, "dimm": 3})


@pytest.mark.parametrize("name", ["munit_paper", "munit_cpu.toml"])
def test_shipped_configs_load_override_and_round_trip(name):
    import tomllib

    config = load_config(name, ["train.lr=2e-4", "loss.gan_type=hinge", "data.domain_names=['cat', 'dog']"])
    assert config["train"]["lr"] == 2e-4 and config["loss"]["gan_type"] == "hinge"
    assert config["data"]["domain_names"] == ["cat", "dog"]
    assert tomllib.loads(dumps_config(config)) == config
    build_generator(config["model"])


def test_paper_config_matches_official_settings():
    config = load_config("munit_paper")
    train = config["train"]
    assert (config["data"]["size"], train["batch_size"], train["lr"]) == (256, 1, 1e-4)
    assert (train["beta1"], train["beta2"], train["weight_decay"]) == (0.5, 0.999, 1e-4)
    assert (train["lr_step"], train["lr_gamma"], train["iterations"]) == (100_000, 0.5, 1_000_000)
    assert config["loss"]["recon_x_w"] == 10 and config["loss"]["recon_s_w"] == 1


def test_config_errors_are_clear(tmp_path):
    from trainer.config import ConfigError

    with pytest.raises(ConfigError, match="shipped configs: .*munit_cpu"):
        load_config("no_such_config")
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config("munit_cpu", ["train.lr"])
    with pytest.raises(ConfigError, match="is a value, not a table"):
        load_config("munit_cpu", ["train.lr.x=1"])
    broken = tmp_path / "broken.toml"
    broken.write_text("[model\nfamily = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(broken)


def test_resolve_config_fills_defaults_and_rejects_typos():
    from trainer.config import ConfigError, resolve_config

    resolved = resolve_config({"model": {"family": "munit"}})
    assert resolved["train"]["lr"] == 1e-4 and resolved["model"]["dim"] == 64 and resolved["loss"]["recon_x_w"] == 10
    with pytest.raises(ConfigError, match="unknown config keys: loss.recon_w"):
        resolve_config({"model": {"family": "munit"}, "loss": {"recon_w": 1}})
    with pytest.raises(ValueError, match="unknown model family 'cyclegan'"):
        resolve_config({"model": {"family": "cyclegan"}})
    with pytest.raises(ConfigError, match="must not exceed"):
        resolve_config({"model": {"family": "munit"}, "data": {"size": 300}})
