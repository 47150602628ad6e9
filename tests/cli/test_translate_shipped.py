"""The shipped bundles translate through ``i2i translate`` (MUNIT: exactly as before issue 11, the same
seed gives the same pixels as translating each style on its own, and the colours the old code path made;
U-GAT-IT: with its attention map)."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.cli import main
from desktop.runtime.style import RandomStyle
from desktop.runtime.translators import open_translator
from i2i_common.images import read_image, write_image

from repo_paths import REPO

# mean R, G, B of `cat_1.jpg` (as PNG) translated a2b with --seed 11 --count 2, measured once with the
# encode-once loop the CLI had before translate_many (cat2dog-munit: re-measured for the fine-tuned bundle of
# 2026-12-04, by translating each style on its own, the path the old loop was shown to equal)
PINNED = {
    "cat2dog-munit": {11: (129.503, 124.367, 113.753), 12: (121.537, 103.118, 94.658)},
    "selfie2anime-munit": {11: (176.173, 148.341, 116.898), 12: (213.609, 190.56, 173.199)},
}


@pytest.mark.parametrize("model", sorted(PINNED))
def test_shipped_munit_output_is_pinned(capsys, tmp_path, model):
    bundle = REPO / "resources" / "models" / f"{model}.i2i"
    photo = read_image(REPO / "resources" / "samples" / "cat_1.jpg")
    source = tmp_path / "cat.png"
    write_image(source, photo)  # PNG in, PNG out: no JPEG loss between the CLI and the comparison
    out = tmp_path / "out"
    assert main(["translate", str(source), "-o", str(out), "--model", str(bundle), "--seed", "11", "--count", "2"]) == 0
    assert "content" in capsys.readouterr().out
    translator = open_translator(bundle)
    for seed, mean in PINNED[model].items():
        got = read_image(out / f"cat_a2b_s{seed}.png")
        alone = translator.translate(photo, "a2b", RandomStyle(seed)).image
        assert np.array_equal(got, alone)
        np.testing.assert_allclose(got.reshape(-1, 3).mean(axis=0), mean, atol=0.5)


def test_shipped_ugatit_translates_a_selfie_with_its_attention_map(capsys, tmp_path):
    bundle = REPO / "resources" / "models" / "selfie2anime-ugatit.i2i"
    out = tmp_path / "out"
    assert main(["translate", str(REPO / "resources" / "samples" / "selfie_1.jpg"), "-o", str(out),
                 "--model", str(bundle), "--attention"]) == 0
    assert "selfie2anime-ugatit [ugatit]" in capsys.readouterr().out
    anime, attention = read_image(out / "selfie_1_a2b.jpg"), read_image(out / "selfie_1_a2b.attention.png")
    assert anime.shape == attention.shape and anime.std() > 20  # a picture, not a flat field
    heatmap = open_translator(bundle).translate(read_image(REPO / "resources" / "samples" / "selfie_1.jpg"),
                                                "a2b").heatmap
    assert heatmap.max() - heatmap.min() > 0.9 and heatmap.std() > 0.1  # it looks somewhere, not everywhere
