"""U-GAT-IT export round trip: a tiny model trained a few steps -> i2i-export -> the torch-free runtime translates
as torch does, image and attention heatmap; the light variant takes any multiple of 4, the full one only its
training size."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.runtime.bundle import load_bundle
from desktop.runtime.preprocess import from_tensor, heatmap_to_image_size, to_tensor
from desktop.runtime.translators import open_translator
from export.cli import main as export_main
from i2i_common.images import read_image
from trainer.config import load_config
from trainer.loop import train
from trainer.models.ugatit import build_generator

TINY = ["model.ngf=4", "model.n_res=1", "model.ndf=4", "model.dis_global_layers=4", "model.dis_local_layers=3",
        "data.size=32", "data.load_size=36", "data.workers=0", "train.iterations=2", "train.sample_every=1000",
        "train.checkpoint_every=1000", "train.sample_rows=2", "train.ema=0.9"]
EXPORT_ARGS = ["--style-images", "8", "--calibration-images", "8"]


def export(run: Path, data: Path, out: Path, *extra: str) -> int:
    with pytest.MonkeyPatch.context() as mp:  # the writer's validation extracts into the user cache
        mp.setenv("I2I_STUDIO_HOME", str(out.parent / "home"))
        return export_main(["--run", str(run), "--data", str(data), "--out", str(out), *EXPORT_ARGS, *extra])


@pytest.fixture(scope="module")
def light_run(tmp_path_factory, shared_data) -> Path:
    run = tmp_path_factory.mktemp("run") / "tiny-ugatit"
    train(load_config("ugatit_cpu", TINY), shared_data / "selfie2anime", run, device="cpu", progress=False)
    return run


@pytest.fixture(scope="module")
def light_bundle(tmp_path_factory, light_run, shared_data) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "tiny-selfie2anime-ugatit.i2i"
    assert export(light_run, shared_data / "selfie2anime", out, "--precisions", "fp32,fp16,int8") == 0
    return out


def torch_generator(run: Path, direction: str) -> torch.nn.Module:
    """The EMA generator of ``direction``, rebuilt with the trainer's own code."""
    ckpt = torch.load(next((run / "checkpoints").glob("ckpt_*.pt")), weights_only=True)
    gen = build_generator(ckpt["config"]["model"])
    gen.load_state_dict(ckpt["ema"][f"gen_{direction}"])
    return gen.eval()


def test_manifest_says_family_variant_sizes_and_provenance(light_bundle):
    bundle = load_bundle(light_bundle)
    manifest = bundle.manifest
    assert (bundle.family, manifest["variant"], manifest["style"]) == ("ugatit", "light", None)
    assert manifest["image"]["sizes"] == {"kind": "multiple", "multiple": 4, "min": 32, "max": 1024}
    assert [d.name for d in bundle.domains] == ["selfie", "anime"] and [d.id for d in bundle.directions] == [
        "a2b", "b2a"]
    assert bundle.provenance["iterations"] == 2 and bundle.provenance["ema"] is True
    cases = manifest["verification"]["parity"]["cases"]
    assert {c["batch"] for c in cases} == {1, 3} and {c["inputs"] for c in cases} == {"random", "real"}
    assert {tuple(c["size"]) for c in cases} == {(32, 32), (32, 40)}  # the training size and a non-square one
    assert max(c["max_abs_diff"] for c in cases) <= 1e-4


@pytest.mark.parametrize("mode", ["fit", "native"])
def test_runtime_translates_and_attends_like_torch(light_bundle, light_run, shared_data, mode):
    bundle = load_bundle(light_bundle)
    translator = open_translator(bundle, provider="cpu")
    assert translator.capabilities.attention_map
    selfie = read_image(sorted((shared_data / "selfie2anime" / "testA").iterdir())[0])[:200, :168]
    prepared = to_tensor(selfie, bundle.image, mode)
    with torch.no_grad():
        image, _, heatmap = torch_generator(light_run, "a2b")(torch.from_numpy(prepared.tensor))
    expected = from_tensor(image.numpy(), bundle.image, prepared)
    result = translator.translate(selfie, "a2b", mode=mode)
    assert result.image.shape == selfie.shape and result.style is None
    assert np.abs(result.image.astype(int) - expected.astype(int)).max() <= 1
    expected_map = heatmap_to_image_size(heatmap.numpy(), prepared.size)
    assert result.heatmap is not None and result.heatmap.shape == expected_map.shape
    np.testing.assert_allclose(result.heatmap, expected_map, atol=1e-3)
    assert 0 <= result.heatmap.min() < result.heatmap.max() <= 1


def test_precision_variants_keep_image_and_heatmap_close(light_bundle, shared_data):
    bundle = load_bundle(light_bundle)
    selfie = read_image(sorted((shared_data / "selfie2anime" / "testA").iterdir())[1])
    reference = open_translator(bundle, provider="cpu").translate(selfie, "b2a")
    for precision in bundle.precisions():
        if precision == "fp32":
            continue
        result = open_translator(bundle, provider="cpu", precision=precision).translate(selfie, "b2a")
        assert np.abs(result.image.astype(int) - reference.image.astype(int)).mean() < 8, precision
        assert np.abs(result.heatmap - reference.heatmap).mean() < 0.1, precision


def test_full_variant_is_fixed_to_its_training_size(tmp_path, shared_data):
    run = tmp_path / "full"
    train(load_config("ugatit_paper", [*TINY, "model.img_size=32"]), shared_data / "selfie2anime", run,
          device="cpu", progress=False)
    out = tmp_path / "full.i2i"
    assert export(run, shared_data / "selfie2anime", out, "--precisions", "fp32") == 0
    bundle = load_bundle(out)
    assert bundle.manifest["variant"] == "full"
    assert bundle.manifest["image"]["sizes"] == {"kind": "fixed", "height": 32, "width": 32}
    assert {tuple(c["size"]) for c in bundle.manifest["verification"]["parity"]["cases"]} == {(32, 32)}
    wide = np.zeros((40, 96, 3), np.uint8)
    result = open_translator(bundle, provider="cpu").translate(wide, "a2b", mode="native")
    assert result.image.shape == wide.shape  # computed at 32x32, shown at the input's size


def test_full_variant_refuses_an_export_size_it_was_not_built_for(tmp_path, shared_data, capsys):
    out = tmp_path / "bad.i2i"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("I2I_STUDIO_HOME", str(tmp_path / "home"))
        code = export_main(["--init-random", "--config", "ugatit_paper", "--data", str(shared_data / "selfie2anime"),
                            "--out", str(out), "--set", "model.ngf=4", "--set", "model.n_res=1",
                            "--set", "model.img_size=64", "--set", "data.size=32", *EXPORT_ARGS])
    err = capsys.readouterr().err
    assert code == 1 and err.splitlines() == [
        "i2i-export: error: this ugatit model only takes 64x64 images; the export data size is 32x32",
        "i2i-export: no bundle written"]
    assert not out.exists()
