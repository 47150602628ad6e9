"""TUNIT networks: the official parameter counts and shapes at the paper configuration (on the meta device), and on
narrow real-tensor configs the generator's encode/decode split, batch independence, the AdaIN parameter layout,
the guiding network's heads and the discriminator's choice of the given cluster's logit."""
from __future__ import annotations

import pytest
import torch

from trainer.models.tunit import (
    MODEL_DEFAULTS,
    build_discriminator,
    build_generator,
    build_guiding_network,
    check_input_size,
    content_downsamplings,
    model_settings,
)

NARROW = {"ngf": 4, "mlp_dim": 32, "ndf": 4, "dis_max_dim": 16, "guide_width": 4}
SMALL_64 = {**NARROW, "img_size": 64, "output_k": 4, "style_dim": 16}


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_paper_config_has_the_official_parameter_counts():
    with torch.device("meta"):
        gen, guide, dis = build_generator({}), build_guiding_network({}), build_discriminator({})
    assert (count(gen), count(guide), count(dis)) == (27_333_763, 9_296_778, 70_935_242)
    # AdaIN parameters: (mean, std) for 2 x 2 residual convs at 512 and the 256, 128, 64 upsampling convs
    assert gen.mlp.model[-1].out_features == 2 * (4 * 512 + 256 + 128 + 64)
    assert (MODEL_DEFAULTS["img_size"], MODEL_DEFAULTS["output_k"], MODEL_DEFAULTS["style_dim"]) == (128, 10, 128)


def test_paper_config_shapes_on_the_meta_device():
    with torch.device("meta"):
        gen, guide, dis = build_generator({}), build_guiding_network({}), build_discriminator({})
        x = torch.empty(2, 3, 128, 128)
        content = gen.encode(x)
        style, logits = guide(x)
        out = gen.decode(content, style)
        picked = dis(out, torch.zeros(2, dtype=torch.long))
    assert content.shape == (2, 512, 16, 16) and out.shape == x.shape
    assert style.shape == (2, 128) and logits.shape == (2, 10) and picked.shape == (2,)
    assert dis.logits(x).shape == (2, 10)


def test_official_width_rule_and_downsamplings_follow_the_image_size():
    assert [content_downsamplings(s) for s in (64, 128, 256)] == [2, 3, 4]
    with torch.device("meta"):
        gen = build_generator({"img_size": 256})
        dis = build_discriminator({"img_size": 256})
    assert gen.content_encoder.model[0].conv.out_channels == 32 and gen.content_encoder.out_dim == 512
    assert dis.main[0].out_channels == 32


def test_model_settings_reject_unknown_keys_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown"):
        model_settings({"family": "tunit", "nf": 3})
    with pytest.raises(ValueError, match="power of two"):
        model_settings({"img_size": 96})
    assert model_settings({"family": "tunit", "ngf": 8})["ngf"] == 8


@pytest.mark.parametrize("cfg, content_shape", [({**NARROW}, (2, 32, 16, 16)), (SMALL_64, (2, 16, 16, 16))])
def test_real_tensor_shapes_and_encode_decode_split(cfg, content_shape):
    torch.manual_seed(0)
    size, k, style_dim = (cfg.get(key, MODEL_DEFAULTS[key]) for key in ("img_size", "output_k", "style_dim"))
    gen, guide, dis = build_generator(cfg), build_guiding_network(cfg).eval(), build_discriminator(cfg)
    x = torch.rand(2, 3, size, size) * 2 - 1
    with torch.no_grad():
        style, logits = guide(x)
        content = gen.encode(x)
        out = gen(x, style)
        decoded = gen.decode(content, style)
        picked = dis(out, torch.tensor([0, k - 1]))
    assert style.shape == (2, style_dim) and logits.shape == (2, k)
    assert content.shape == content_shape and out.shape == x.shape and out.abs().max() <= 1
    assert picked.shape == (2,)
    torch.testing.assert_close(decoded, out, rtol=0, atol=0)


def test_generator_is_batch_independent_at_any_multiple_of_its_stride():
    torch.manual_seed(1)
    gen = build_generator(SMALL_64).eval()
    x = torch.rand(3, 3, 48, 80) * 2 - 1  # 2 downsamplings: any multiple of 4
    s = torch.randn(3, 16)
    check_input_size(gen, 48, 80)
    with pytest.raises(ValueError, match="multiples of 4"):
        check_input_size(gen, 50, 80)
    with torch.no_grad():
        batch = gen(x, s)
        single = torch.cat([gen(x[i:i + 1], s[i:i + 1]) for i in range(3)])
        content = gen.encode(x)
    assert content.shape == (3, 16, 12, 20) and batch.shape == x.shape
    torch.testing.assert_close(batch, single, atol=1e-5, rtol=0)


def test_decoder_reads_a_mean_then_a_scale_per_adain_layer_in_network_order():
    torch.manual_seed(2)
    gen = build_generator(SMALL_64).eval()
    decoder = gen.decoder
    content = torch.randn(2, 16, 8, 8)
    # every AdaIN but the last: mean 0, scale 1; the last: mean 0.7, scale 0
    params = torch.cat([torch.cat([torch.zeros(2, c), torch.ones(2, c)], 1) for c in decoder.adain_channels], 1)
    last = decoder.adain_channels[-1]
    params[:, -2 * last:-last], params[:, -last:] = 0.7, 0.0
    with torch.no_grad():
        out = decoder(content, params)
        swapped = params.clone()
        swapped[:, -2 * last:] = swapped[:, -2 * last:].flip(1)  # 0.7 as the scale, 0 as the mean
        out_swapped = decoder(content, swapped)
    # scale 0 and a constant mean: the last feature map is constant, so the reflect-padded 7x7 conv is too
    flat = out.flatten(2)
    torch.testing.assert_close(flat, flat[:, :, :1].expand_as(flat))
    assert out_swapped.flatten(2).std(dim=2).min() > 1e-4


def test_guiding_network_heads_match_forward():
    torch.manual_seed(3)
    guide = build_guiding_network(SMALL_64).eval()
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        style, logits = guide(x)
        torch.testing.assert_close(guide.style(x), style)
        torch.testing.assert_close(guide.clusters(x), logits)
        torch.testing.assert_close(guide(x[1:2])[1], logits[1:2], atol=1e-5, rtol=0)
    assert style.shape == (3, 16) and logits.shape == (3, 4)
    assert torch.all(guide.cont.bias == 0) and torch.all(guide.features[1].weight == 1)


def test_discriminator_picks_the_logit_of_the_given_cluster():
    torch.manual_seed(4)
    dis = build_discriminator(SMALL_64)
    x = torch.randn(4, 3, 64, 64)
    clusters = torch.tensor([3, 0, 2, 3])
    with torch.no_grad():
        every = dis.logits(x)
        picked = dis(x, clusters)
    assert every.shape == (4, 4)
    torch.testing.assert_close(picked, every[torch.arange(4), clusters])
    with pytest.raises(ValueError, match="64x64"):
        dis.logits(torch.zeros(1, 3, 32, 32))
