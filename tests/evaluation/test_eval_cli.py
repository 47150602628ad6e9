"""``i2i-eval`` end to end: tiny real bundles (onnxruntime) on a handful of real cat and dog photos."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from test_eval_inception import UnitRangeInput, save_scripted

from evaluation.cli import main
from evaluation.grid import GAP, LABEL_HEIGHT
from i2i_common.images import read_image, write_image

TRAIN, TEST = 12, 4
FAST = ["--classifier-epochs", "1", "--classifier-images", str(TRAIN), "--styles", "3", "--threads", "1"]


@pytest.fixture(scope="module")
def small_data(shared_data, tmp_path_factory) -> Path:
    """A few real images per split in a folder with a non-ASCII name, plus a stray file and a corrupt
    image, which the evaluation must skip."""
    root = tmp_path_factory.mktemp("eval") / "données"
    for split in ("trainA", "trainB", "testA", "testB"):
        (root / split).mkdir(parents=True)
        for path in sorted((shared_data / "cat2dog" / split).iterdir())[:TRAIN if split.startswith("train") else TEST]:
            shutil.copy(path, root / split / path.name)
    (root / "testA" / "Thumbs.db").write_bytes(b"junk")
    last_dog = sorted((root / "testB").glob("*.jpg"))[-1]  # becomes a non-square PNG with a non-ASCII name
    write_image(root / "testB" / "chien_é.png", cv2.resize(read_image(last_dog), (200, 260)))
    last_dog.unlink()
    first = sorted((root / "testA").glob("*.jpg"))[0]
    (root / "testA" / "zz_truncated.jpg").write_bytes(first.read_bytes()[:2000])
    return root


@pytest.fixture(autouse=True)
def restore_threads():
    """The runs below ask for one torch thread (tiny classifier; other tests share the cores)."""
    threads = torch.get_num_threads()
    yield
    assert torch.get_num_threads() == 1
    torch.set_num_threads(threads)


def _afhq_copy(ab_data: Path, root: Path) -> Path:
    """The same images in the AFHQ layout: train/<class>/ and val/<class>/ (cat is A, dog is B)."""
    for split, folder in (("trainA", "train/cat"), ("trainB", "train/dog"), ("testA", "val/cat"), ("testB", "val/dog")):
        shutil.copytree(ab_data / split, root / folder)
    return root


def _run(bundle, data, out, *extra) -> int:
    return main(["--bundle", str(bundle), "--data", str(data), "--out", str(out), *FAST, *extra])


def test_munit_bundle_end_to_end(tiny_bundles, small_data, tmp_path, capsys):
    out = tmp_path / "eval"
    assert _run(tiny_bundles["munit"], small_data, out) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [d["direction"] for d in results["directions"]] == ["a2b", "b2a"]
    for d in results["directions"]:
        assert d["images"] == TEST  # the corrupt file and Thumbs.db were skipped
        assert 0.0 <= d["target_rate"] <= 1.0
        assert np.isfinite(d["classifier_kid_x100"]) and d["classifier_fid"] >= 0
        assert np.isfinite(d["classifier_kid_x100_untranslated"])
        assert d["inception_kid_x100"] is None
        assert d["diversity"]["styles"] == 3 and d["diversity"]["pixel_l1"] > 0
        _check_modes(d, {"random": 3, "typical": 1, "reference": 3, "mix": 3})  # 3 references: 3 pairs to mix
    assert results["classifier"]["trained_now"] and not results["inception"]["used"]
    judge = results["classifier"]["judge"]
    assert judge["trained_now"] and judge["images"] == {"real": 2 * TRAIN, "no_domain": 2 * TRAIN}
    assert set(judge["reject_rate_on_real"]) == {"cat", "dog"}
    assert "skipped" in results["inception"]["note"]
    assert set(results["classifier"]["accuracy"]) == {"cat", "dog"}
    assert results["splits"] == {"cat": "testA", "dog": "testB"}

    grid = read_image(out / "grid.png")  # input, 3 random styles, typical, reference, mix
    assert grid.shape[1] == 7 * 128 + 8 * GAP and grid.shape[0] > 2 * TEST * 128  # 2 directions x 4 rows
    assert grid.std() > 10  # photos and translations, not a blank canvas
    table = (out / "results.md").read_text(encoding="utf-8")
    assert "| cat → dog | 4 | random |" in table and "| dog → cat | 4 | random |" in table and "(grid.png)" in table
    assert "| cat → dog | mix | 12 (3 per input) |" in table
    printed = capsys.readouterr().out
    assert "Inception KID/FID skipped" in printed and "target-domain rate" in printed

    # A second run reuses the cached classifier.
    assert _run(tiny_bundles["munit"], small_data, out) == 0
    again = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert not again["classifier"]["trained_now"] and not again["classifier"]["judge"]["trained_now"]
    assert again["directions"][0]["modes"] == results["directions"][0]["modes"]


def _check_modes(direction: dict, styles_per_input: dict[str, int]) -> None:
    """Each mode judged every output of every input; the headline figures are the first mode's."""
    modes = direction["modes"]
    assert {name: (m["styles_per_input"], m["outputs"]) for name, m in modes.items()} == \
        {name: (k, k * direction["images"]) for name, k in styles_per_input.items()}
    head = modes[direction["primary_mode"]]
    assert direction["primary_mode"] == next(iter(styles_per_input))
    assert (direction["target_rate"], direction["reject_rate"], direction["content"]) == \
        (head["target_rate"], head["reject_rate"], head["content"])
    for m in modes.values():
        assert 0 <= m["target_rate"] <= min(m["target_rate_two_class"], 1 - m["reject_rate"]) + 1e-9
        assert np.isfinite(m["kid_x100"]) and -1 <= m["content"]["own"] <= 1 and 0 <= m["content"]["beats_random"] <= 1
    assert 0 <= direction["real_target"]["reject_rate"] <= 1


def test_inception_metrics_with_a_local_torchscript_file(tiny_bundles, small_data, tmp_path):
    weights = save_scripted(UnitRangeInput(), tmp_path / "inception.pt")
    out = tmp_path / "eval"
    assert _run(tiny_bundles["munit"], small_data, out, "--inception-weights", str(weights),
                "--max-images", "3", "--precision", "int8") == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["inception"]["used"] and results["precision"] == "int8"
    for d in results["directions"]:
        assert d["images"] == 3
        assert np.isfinite(d["inception_kid_x100"]) and d["inception_fid"] >= 0
        assert all(np.isfinite(m["inception_kid_x100"]) for m in d["modes"].values())


def test_afhq_layout_is_read_by_the_bundle_domain_names(tiny_bundles, small_data, tmp_path):
    out = tmp_path / "eval"
    assert _run(tiny_bundles["munit"], _afhq_copy(small_data, tmp_path / "afhq"), out, "--styles", "1") == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["splits"] == {"cat": "testA", "dog": "testB"}
    assert [d["images"] for d in results["directions"]] == [TEST, TEST]
    assert all(d["diversity"] is None for d in results["directions"])  # one style: nothing to compare
    _check_modes(results["directions"][0], {"random": 1, "typical": 1, "reference": 3, "mix": 3})


def test_fewer_references_leave_out_the_mix(tiny_bundles, small_data, tmp_path):
    out = tmp_path / "eval"
    assert _run(tiny_bundles["munit"], small_data, out, "--references", "1", "--max-images", "2") == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    _check_modes(results["directions"][1], {"random": 3, "typical": 1, "reference": 1})


def test_bundle_without_style_has_no_diversity_and_domains_can_be_swapped(tiny_bundles, small_data, tmp_path):
    out = tmp_path / "eval"
    assert _run(tiny_bundles["ugatit"], small_data, out, "--swap-domains") == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert all(d["diversity"] is None for d in results["directions"])
    for d in results["directions"]:
        _check_modes(d, {"fixed": 1})
    assert "style mode | outputs judged" not in (out / "results.md").read_text(encoding="utf-8")  # one mode
    assert results["splits"] == {"cat": "testB", "dog": "testA"}
    grid = read_image(out / "grid.png")  # input, translation, the translation under its attention map
    assert grid.shape[1] == 3 * 128 + 4 * GAP
    row = grid[LABEL_HEIGHT + GAP:LABEL_HEIGHT + GAP + 128]
    output, attention = (row[:, GAP + k * (128 + GAP):GAP + k * (128 + GAP) + 128].astype(int) for k in (1, 2))
    assert np.abs(output - attention).mean() > 10


@pytest.mark.parametrize("case, message", [
    ("missing data", "dataset folder not found"),
    ("bad bundle", "no model named"),
    ("broken bundle", "manifest"),
    ("two data folders", "is evaluated on one --data folder, not 2"),
    ("output is a file", "not writable"),
    ("bad inception", "neither a TorchScript module nor an Inception v3 state_dict"),
    ("unreadable training images", "no readable training images"),
    ("swap with afhq", "--swap-domains is for trainA/trainB folders"),
    ("no styles", "--styles must be at least 1"),
])
def test_clear_one_line_errors(case, message, tiny_bundles, small_data, tmp_path, capsys):
    bundle, data, out, extra = tiny_bundles["munit"], small_data, tmp_path / "out", []
    if case == "missing data":
        data = tmp_path / "no-such-data"
    elif case == "bad bundle":
        bundle = tmp_path / "no-such-bundle.i2i"
    elif case == "broken bundle":
        bundle = tmp_path / "broken"
        shutil.copytree(tiny_bundles["munit"], bundle)
        (bundle / "manifest.json").write_text("{not json", encoding="utf-8")
    elif case == "two data folders":
        extra = ["--data", str(small_data)]
    elif case == "output is a file":
        out.write_text("occupied", encoding="utf-8")
    elif case == "bad inception":
        (tmp_path / "inception.pt").write_bytes(b"not weights")
        extra = ["--inception-weights", str(tmp_path / "inception.pt")]
    elif case == "unreadable training images":
        data = tmp_path / "data"
        shutil.copytree(small_data, data)
        for image in (data / "trainA").iterdir():
            image.write_bytes(b"\xff\xd8 not really a JPEG")
    elif case == "swap with afhq":
        data, extra = _afhq_copy(small_data, tmp_path / "afhq"), ["--swap-domains"]
    elif case == "no styles":
        extra = ["--styles", "0"]
    assert _run(bundle, data, out, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2i-eval: error:") and message in err and "\n" not in err
