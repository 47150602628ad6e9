"""Loading a user's TorchScript Inception for standard KID/FID, both input conventions, and clear errors."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from trainer.eval.inception import InceptionError, load_inception


class UnitRangeInput(nn.Module):
    """Stands in for pytorch-fid's traced InceptionV3: float [0, 1] input, list output. Its "features"
    describe the input it got (min, max, height, width), so the test can see what was fed."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        n = x.shape[0]
        stats = torch.stack([x.amin(dim=(1, 2, 3)), x.amax(dim=(1, 2, 3)),
                             torch.full([n], float(x.shape[2])), torch.full([n], float(x.shape[3]))], dim=1)
        return [stats[:, :, None, None]]


class Uint8Detector(nn.Module):
    """Stands in for the StyleGAN2-ADA detector: uint8 input of any size, ``return_features`` flag."""

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = img.to(torch.float32)
        n = x.shape[0]
        kind = torch.full([n], 1.0 if img.dtype == torch.uint8 else 0.0)
        return torch.stack([x.amax(dim=(1, 2, 3)), torch.full([n], float(x.shape[2])), kind,
                            torch.full([n], 1.0 if return_features else 0.0)], dim=1)


def save_scripted(module: nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():  # deprecated, but the Inception files users have are TorchScript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(module).save(str(path))
    return path


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 200, size=(3, 40, 40, 3), dtype=np.uint8)
    batch[0, 0, 0] = 200
    return batch


def test_unit_range_module_gets_299_pixel_inputs_in_0_1(tmp_path, images):
    inception = load_inception(save_scripted(UnitRangeInput(), tmp_path / "fid.pt"))
    assert not inception.takes_uint8
    feats = inception.embed(images, batch_size=2)
    assert feats.shape == (3, 4)
    assert feats[:, 0].min() >= 0 and feats[0, 1] == pytest.approx(200 / 255, abs=0.01)
    assert (feats[:, 2:] == 299).all()


def test_stylegan_style_detector_gets_uint8_and_return_features(tmp_path, images):
    inception = load_inception(save_scripted(Uint8Detector(), tmp_path / "inception-2015-12-05.pt"))
    assert inception.takes_uint8
    feats = inception.embed(images)
    np.testing.assert_array_equal(feats[0], [200, 40, 1, 1])


def test_bad_weight_files_give_clear_errors(tmp_path):
    with pytest.raises(InceptionError, match="not found"):
        load_inception(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(InceptionError, match="not a TorchScript file"):
        load_inception(junk)
    state = tmp_path / "pt_inception.pth"
    torch.save(nn.Linear(2, 2).state_dict(), state)
    with pytest.raises(InceptionError, match="plain state_dict"):
        load_inception(state)
