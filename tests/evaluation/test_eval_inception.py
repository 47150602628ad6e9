"""Loading a user's TorchScript Inception for standard KID/FID, both input conventions, and clear errors."""
from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from evaluation.inception import InceptionError, load_inception
from evaluation.inception_net import InceptionV3


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
    with pytest.raises(InceptionError, match="neither a TorchScript module nor an Inception v3 state_dict"):
        load_inception(junk)
    state = tmp_path / "other.pth"
    torch.save(nn.Linear(2, 2).state_dict(), state)
    with pytest.raises(InceptionError, match="not an Inception v3 state_dict"):
        load_inception(state)
    torch.save({"weights": [1, 2]}, state)
    with pytest.raises(InceptionError, match="neither a TorchScript module nor an Inception v3 state_dict"):
        load_inception(state)


def test_inception_v3_matches_torchvision_parameter_count():
    # torchvision documents 27,161,264 parameters for inception_v3 with its classifier (2048 -> 1000)
    # and auxiliary head; the feature network is what remains.
    classifier = 2048 * 1000 + 1000
    aux = 768 * 128 + 2 * 128 + 128 * 768 * 25 + 2 * 768 + 768 * 1000 + 1000
    assert sum(p.numel() for p in InceptionV3().parameters()) == 27_161_264 - classifier - aux


def test_torchvision_state_dict_loads_as_the_torchvision_variant(tmp_path):
    torch.manual_seed(0)
    net = InceptionV3(fid=False)
    state = {**net.state_dict(), "fc.weight": torch.randn(1000, 2048), "fc.bias": torch.zeros(1000),
             "AuxLogits.fc.weight": torch.zeros(1000, 768)}
    torch.save(state, tmp_path / "inception_v3_google.pth")
    inception = load_inception(tmp_path / "inception_v3_google.pth")
    assert "torchvision" in inception.kind and not inception.takes_uint8 and not inception.module.fid
    loaded = inception.module.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in net.state_dict().items())


def _signal_preserving_inception(fid: bool) -> InceptionV3:
    """A random InceptionV3 whose activations keep their scale through the depth (ReLU-Kaiming init), so
    that its features depend visibly on every layer, the final pooling variant included."""
    torch.manual_seed(0)
    net = InceptionV3(fid=fid)
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    return net.eval()


def test_state_dict_inception_embeds_images_as_the_network_does(tmp_path, images):
    net = _signal_preserving_inception(fid=True)
    state = {**net.state_dict(), "fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}
    torch.save(state, tmp_path / "pt_inception.pth")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one 299 px image; other tests share the cores
    try:
        inception = load_inception(tmp_path / "pt_inception.pth")
        feats = inception.embed(images[:1])
        resized = cv2.resize(images[0], (299, 299), interpolation=cv2.INTER_LINEAR)
        x = torch.from_numpy(resized).permute(2, 0, 1)[None].float() / 255
        torchvision_variant = InceptionV3(fid=False).eval()
        torchvision_variant.load_state_dict(net.state_dict())
        with torch.no_grad():
            expected, other = net(x).numpy(), torchvision_variant(x).numpy()
    finally:
        torch.set_num_threads(threads)
    assert "TensorFlow FID" in inception.kind and inception.module.fid
    assert feats.shape == (1, 2048) and np.isfinite(feats).all() and feats.std() > 0.01
    np.testing.assert_allclose(feats, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert np.abs(other - expected).max() > 0.01 * np.abs(expected).max()  # the pooling variant matters
