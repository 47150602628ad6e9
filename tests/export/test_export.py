"""Export round trip: a tiny MUNIT trained a few steps -> i2i-export -> the desktop runtime loads the
bundle and translates exactly as torch does (random style, reference style, a 50/50 mix)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.runtime.bundle import load_bundle
from desktop.runtime.mixcanvas import MixCanvas
from desktop.runtime.preprocess import from_tensor, to_tensor
from desktop.runtime.style import MixStyle, RandomStyle, ReferenceStyle, TypicalStyle, sample_prior
from desktop.runtime.translators import open_translator
from export.cli import main as export_main
from export.data import spread
from i2i_common.images import read_image
from trainer.config import load_config
from trainer.loop import train
from trainer.models.munit import build_generator

# A real MUNIT, shrunk so two training steps and an export take seconds on two cores.
TINY = ["model.dim=8", "model.n_res=1", "model.mlp_dim=16", "model.dis_dim=8", "model.dis_n_layer=2",
        "model.dis_num_scales=1", "data.size=32", "data.load_size=36", "data.workers=0",
        "train.iterations=2", "train.sample_every=1000", "train.checkpoint_every=1000", "train.sample_rows=2",
        "train.ema=0.9"]
EXPORT_ARGS = ["--style-images", "16", "--calibration-images", "8"]


def tiny_config() -> dict:
    return load_config("munit_cpu", TINY)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, shared_data) -> Path:
    """A run folder holding a checkpoint of a tiny MUNIT trained for two iterations (EMA on)."""
    run = tmp_path_factory.mktemp("run") / "tiny"
    train(tiny_config(), shared_data / "cat2dog", run, device="cpu", progress=False)
    return run


# fp16 stays within ~70-80 dB of fp32, int8 within ~30-45 dB: a 60 dB bar keeps one and drops the other.
STRICT_PSNR_DB = 60.0


@pytest.fixture(scope="module")
def exported(tmp_path_factory, trained_run, shared_data) -> Path:
    """The run exported to a .i2i archive, all precisions asked for, under a 60 dB variant bar."""
    out = tmp_path_factory.mktemp("bundle") / "tiny-cat2dog.i2i"
    with pytest.MonkeyPatch.context() as mp:  # the writer's validation extracts into the user cache
        mp.setenv("I2I_STUDIO_HOME", str(out.parent / "home"))
        mp.setattr("export.pipeline.MIN_VARIANT_PSNR_DB", STRICT_PSNR_DB)
        code = export_main(["--run", str(trained_run), "--data", str(shared_data / "cat2dog"), "--out", str(out),
                            "--precisions", "fp32,fp16,int8", *EXPORT_ARGS])
    assert code == 0
    return out


def torch_generators(run: Path) -> dict[str, torch.nn.Module]:
    """The EMA generators of the run's checkpoint, rebuilt with the trainer's own code."""
    ckpt = torch.load(next((run / "checkpoints").glob("ckpt_*.pt")), weights_only=True)
    gens = {}
    for domain in "ab":
        gen = build_generator(ckpt["config"]["model"])
        gen.load_state_dict(ckpt["ema"][f"gen_{domain}"])
        gens[domain] = gen.eval()
    return gens


def test_manifest_records_verification_and_provenance(exported):
    bundle = load_bundle(exported, check_graphs=True)
    assert bundle.family == "munit" and bundle.untrained is False
    assert [d.name for d in bundle.domains] == ["cat", "dog"]
    assert bundle.precisions() == ["fp32", "fp16"]
    ver = bundle.verification
    assert 0 <= ver["max_abs_diff"]["fp32"] <= 1e-4
    cases = ver["parity"]["cases"]
    assert {c["batch"] for c in cases} == {1, 3} and {c["inputs"] for c in cases} == {"random", "real"}
    assert len({tuple(c["size"]) for c in cases}) == 2
    assert ver["psnr_db"]["fp16"] >= STRICT_PSNR_DB > ver["psnr_db"]["int8"]
    assert "int8" in ver["variants_dropped"] and not any(g.precision == "int8" for g in bundle.graphs)
    assert all(ver["ms_per_image"][p] > 0 for p in ("fp32", "fp16", "int8"))
    prov = bundle.provenance
    assert prov["iterations"] == 2 and prov["ema"] is True and prov["dataset"] == "cat2dog"
    assert prov["images"] == {"a": 2000, "b": 2008}
    assert prov["config"]["model"]["dim"] == 8 and prov["software"]["onnxruntime"]
    assert prov["training"]["seconds"] > 0 and "CPUs" in prov["training"]["sessions"][0]["hardware"]


def test_slim_checkpoint_exports_the_same_model(exported, trained_run, shared_data, tmp_path):
    from trainer.slim import main as slim_main

    slim = tmp_path / "slim.pt"
    assert slim_main([str(trained_run), str(slim)]) == 0
    out = tmp_path / "from-slim.i2i"
    assert export_main(["--checkpoint", str(slim), "--data", str(shared_data / "cat2dog"), "--out", str(out),
                        "--precisions", "fp32", *EXPORT_ARGS]) == 0
    cat = read_image(next(iter(sorted((shared_data / "cat2dog" / "testA").iterdir()))))
    images = [open_translator(load_bundle(path), provider="cpu").translate(
        cat, "a2b", style=RandomStyle(4), mode="native").image for path in (exported, out)]
    assert np.array_equal(images[0], images[1])
    assert load_bundle(out).provenance["iterations"] == 2


@pytest.mark.parametrize("style_kind", ["random", "reference", "mix"])
def test_runtime_translates_like_torch(exported, trained_run, shared_data, style_kind):
    gens = torch_generators(trained_run)
    bundle = load_bundle(exported)
    tr = open_translator(bundle, provider="cpu")
    cat = read_image(shared_data / "cat2dog" / "testA" / sorted(p.name for p in (shared_data / "cat2dog" /
                                                                              "testA").iterdir())[0])
    dog = read_image(next(iter(sorted((shared_data / "cat2dog" / "testB").iterdir()))))
    prepared = to_tensor(cat, bundle.image, "fit")
    with torch.no_grad():
        content = gens["a"].content_encoder(torch.from_numpy(prepared.tensor))
        prior = torch.from_numpy(sample_prior(bundle.style.dim, 3))
        reference = gens["b"].style_encoder(torch.from_numpy(to_tensor(dog, bundle.image, "fit").tensor))
    styles = {"random": (RandomStyle(3), prior),
              "reference": (ReferenceStyle(dog), reference),
              "mix": (MixStyle([RandomStyle(3), ReferenceStyle(dog)], [0.5, 0.5]), 0.5 * prior + 0.5 * reference)}
    source, code = styles[style_kind]
    with torch.no_grad():
        expected = from_tensor(gens["b"].decode(content, code).numpy(), bundle.image, prepared)
    result = tr.translate(cat, "a2b", style=source, mode="fit")
    np.testing.assert_allclose(result.style, code.numpy()[0], atol=1e-5)
    assert result.image.shape == cat.shape
    # uint8 rounding of values within 1e-4 of each other can differ by one level at most
    assert np.abs(result.image.astype(int) - expected.astype(int)).max() <= 1


def test_style_statistics_are_those_of_the_training_images(exported, trained_run, shared_data):
    from trainer.data import find_layout, fixed_images

    bundle = load_bundle(exported)
    gens = torch_generators(trained_run)
    layout = find_layout(shared_data / "cat2dog")
    images = fixed_images(spread(layout.domains[1].train, 16), 16, 36, 32)  # the files export uses
    with torch.no_grad():
        codes = gens["b"].style_encoder(images).numpy().astype(np.float64)
    np.testing.assert_allclose(bundle.array("style_mean", "b"), codes.mean(0), atol=1e-5)
    np.testing.assert_allclose(bundle.array("style_cov", "b"), np.cov(codes, rowvar=False), atol=1e-5)


def test_style_presets_are_real_training_codes_and_the_typical_styles(exported, trained_run, shared_data):
    from trainer.data import find_layout, fixed_images

    bundle = load_bundle(exported)
    gens = torch_generators(trained_run)
    images = fixed_images(spread(find_layout(shared_data / "cat2dog").domains[1].train, 16), 16, 36, 32)
    with torch.no_grad():
        codes = gens["b"].style_encoder(images).numpy()
    presets = bundle.array("style_presets", "b")
    assert presets.shape == (4, bundle.style.dim) and presets.dtype == np.float32
    gaps = np.abs(presets[:, None, :] - codes[None, :, :]).max(axis=2)  # preset x training image
    matched = gaps.argmin(axis=1)
    assert gaps.min(axis=1).max() < 1e-5 and len(set(matched)) == 4  # four different training images' codes
    inverse = np.linalg.pinv(np.cov(codes.astype(np.float64), rowvar=False))
    centred = presets - codes.mean(0)
    distance = np.einsum("pi,ij,pj->p", centred, inverse, centred)
    assert np.all(np.diff(distance) >= -1e-6)  # the most typical (nearest the mean) first
    tr = open_translator(bundle, provider="cpu")
    np.testing.assert_array_equal(tr.style_code(TypicalStyle(), "a2b"), presets[0])
    np.testing.assert_array_equal(tr.typical_codes("a2b"), presets)
    canvas = MixCanvas(tr, "a2b")
    first, second = canvas.add_typical((0, 0)), canvas.add_typical((1, 0))
    assert (first.label, second.label) == ("typical 1", "typical 2")
    np.testing.assert_array_equal(np.stack([first.code, second.code]), presets[:2])
    assert bundle.manifest["style"]["presets"]["max"] == 4


def test_fp16_variant_runs_in_the_runtime_close_to_fp32(exported, shared_data):
    bundle = load_bundle(exported)
    cat = read_image(next(iter(sorted((shared_data / "cat2dog" / "testA").iterdir()))))
    images = [open_translator(bundle, provider="cpu", precision=p).translate(
        cat, "a2b", style=RandomStyle(1), mode="native").image for p in ("fp32", "fp16")]
    assert images[0].shape == cat.shape
    assert np.abs(images[0].astype(int) - images[1].astype(int)).max() <= 2


def test_export_records_a_self_test_that_every_kept_precision_passes(exported):
    bundle = load_bundle(exported)
    test = bundle.manifest["self_test"]
    assert (test["height"], test["width"]) == (32, 32) and set(test["precisions"]) == {"fp32", "fp16"}
    fp16 = test["precisions"]["fp16"]
    assert 0 < fp16["measured_vs_fp32"] and fp16["tolerance"] >= test["precisions"]["fp32"]["tolerance"]
    for precision in ("fp32", "fp16"):
        assert open_translator(bundle, provider="cpu", precision=precision).self_test.startswith(
            f"self-test passed ({precision}:")
