"""The ``i2i`` command line, in-process through main(argv) and once as a real subprocess."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from desktop.cli import COMMANDS, main
from desktop.cli.models import describe
from desktop.runtime.attention import coloured
from desktop.runtime.bundle import load_bundle
from desktop.runtime.paths import user_models_dir
from desktop.runtime.translators import open_translator
from i2i_common.images import read_image, write_image

from repo_paths import REPO


@pytest.fixture()
def photos(tmp_path, shared_data):
    """Two real cat photos, a cat with an alpha channel, a truncated JPEG and a text file named .jpg."""
    folder = tmp_path / "in"
    folder.mkdir()
    cats = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[:2]
    for cat in cats:
        shutil.copy(cat, folder / cat.name)
    rgb = read_image(cats[0])
    write_image(folder / "alpha.png", np.dstack([rgb, np.full(rgb.shape[:2], 99, np.uint8)]))
    data = cats[1].read_bytes()
    (folder / "cut.jpg").write_bytes(data[: len(data) // 2])
    (folder / "fake.jpg").write_text("not an image", encoding="utf-8")
    return {"cats": [folder / c.name for c in cats], "alpha": folder / "alpha.png",
            "cut": folder / "cut.jpg", "fake": folder / "fake.jpg"}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_registry_lists_the_commands():
    assert {"models", "providers", "translate"} <= set(COMMANDS)


def test_providers(capsys):
    code, out, _ = run(capsys, "providers")
    assert code == 0 and "CPUExecutionProvider" in out and "<- used by --provider auto" in out


def test_models_lists_installed_and_broken(capsys, tiny_bundles):
    code, out, _ = run(capsys, "models", "--install", tiny_bundles["munit"])
    assert code == 0 and "installed tiny-munit" in out
    broken = user_models_dir() / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text('{"schema_version": 9}', encoding="utf-8")
    code, out, _ = run(capsys, "models")
    assert code == 0
    assert "tiny-munit  [munit]" in out and "UNTRAINED" in out and "directions: a2b (a->b), b2a (b->a)" in out
    assert f"broken: {broken}: unknown schema version 9" in out
    code, _, err = run(capsys, "models", "--install", tiny_bundles["munit"])
    assert code == 1 and err.strip() == f"i2i: error: a model named 'tiny-munit' is already installed at " \
                                         f"{user_models_dir() / 'tiny-munit'}; install it under another name " \
                                         "with --as tiny-munit-2, or replace yours with --overwrite"


@pytest.mark.parametrize("family, summary", [
    ("munit", "; styles (dim 4: random, reference, typical);"),
    ("ugatit", "; no style, attention map;"),
    ("tunit", "; styles (dim 4: reference, typical), domains are discovered clusters;"),
])
def test_models_describe_what_each_model_can_do(tiny_bundles, family, summary):
    assert summary in "\n".join(describe(load_bundle(tiny_bundles[family])))


def test_models_check(capsys, tiny_archives, tmp_path):
    code, out, _ = run(capsys, "models", "--check", tiny_archives["tunit"])
    assert code == 0 and "is a valid bundle (2 graphs, 3 arrays)" in out
    code, out, err = run(capsys, "models", "--check", tmp_path)
    assert code == 1 and err == f"i2i: error: {tmp_path}: no manifest.json\n"


def test_translate_several_random_styles(capsys, photos, tiny_bundles, tmp_path):
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "translate", *photos["cats"], "-o", out_dir, "--model", tiny_bundles["munit"],
                         "--count", 3, "--seed", 10, "--mode", "native")
    assert code == 0, err
    made = sorted(p.name for p in out_dir.iterdir())
    stems = [p.stem for p in photos["cats"]]
    assert made == sorted(f"{s}_a2b_s{k}.jpg" for s in stems for k in (10, 11, 12))
    images = [read_image(out_dir / name) for name in made[:3]]
    assert all(im.shape == (256, 256, 3) for im in images)
    assert len({im.tobytes() for im in images}) == 3  # three different styles
    first = (out_dir / made[0]).read_bytes()
    code, _, err = run(capsys, "translate", photos["cats"][0], "-o", out_dir, "--model", tiny_bundles["munit"],
                       "--count", 3, "--seed", 10, "--mode", "native")
    assert code == 1 and "already exists (use --overwrite to replace it)" in err
    assert (out_dir / made[0]).read_bytes() == first
    code, _, _ = run(capsys, "translate", photos["cats"][0], "-o", out_dir, "--model", tiny_bundles["munit"],
                     "--count", 3, "--seed", 10, "--mode", "native", "--overwrite")
    assert code == 0 and (out_dir / made[0]).read_bytes() == first  # same seed, same result


def test_bad_inputs_fail_alone(capsys, photos, tiny_bundles, tmp_path):
    out_dir = tmp_path / "out"
    inputs = [photos["cut"], photos["cats"][0], photos["fake"], photos["alpha"]]
    before = {p: p.read_bytes() for p in inputs}
    code, out, err = run(capsys, "translate", *inputs, "-o", out_dir, "--model", tiny_bundles["ugatit"])
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0] == f"i2i: error: {photos['cut']}: truncated JPEG (the file ends before the image does)"
    assert lines[1].startswith(f"i2i: error: {photos['fake']}: not an image")
    assert lines[2] == "i2i: 2 of 4 images failed"
    expected = sorted([f"{photos['cats'][0].stem}_a2b.jpg", "alpha_a2b.png"])
    assert sorted(p.name for p in out_dir.iterdir()) == expected
    assert read_image(out_dir / "alpha_a2b.png")[..., 3].min() == 99  # alpha kept
    assert all(p.read_bytes() == data for p, data in before.items())  # inputs untouched


def test_single_output_file_and_styles(capsys, photos, tiny_bundles, tmp_path):
    target = tmp_path / "dog.png"
    code, out, _ = run(capsys, "translate", photos["cats"][0], "-o", target, "--model", tiny_bundles["tunit"],
                       "--direction", "to_c1", "--style", photos["cats"][1])
    assert code == 0 and read_image(target).shape == (256, 256, 3)
    code, _, _ = run(capsys, "translate", photos["cats"][0], "-o", tmp_path / "t", "--model", tiny_bundles["tunit"],
                     "--style", "typical")
    assert code == 0 and (tmp_path / "t" / f"{photos['cats'][0].stem}_to_c0_typical.jpg").is_file()


@pytest.mark.parametrize("extra, message", [
    (["--model", "no-such-model"], "no model named 'no-such-model'"),
    (["--direction", "x2y"], "no direction 'x2y' (offers a2b, b2a)"),
    (["--style", "typical", "--count", "2"], "--count needs --style random"),
    (["--count", "0"], "--count must be at least 1"),
    (["--style", "missing.png"], "missing.png: cannot be read"),
])
def test_usage_errors_are_one_line(capsys, photos, tiny_bundles, tmp_path, extra, message):
    args = ["translate", photos["cats"][0], "-o", tmp_path / "o", "--model", tiny_bundles["munit"], *extra]
    code, _, err = run(capsys, *args)
    assert code == 1 and err.startswith("i2i: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_attention_maps_are_written_beside_the_outputs(capsys, photos, tiny_bundles, tmp_path):
    out_dir = tmp_path / "out"
    code, out, _ = run(capsys, "translate", photos["cats"][0], photos["alpha"], "-o", out_dir,
                       "--model", tiny_bundles["ugatit"], "--attention", "--colour-map", "inferno")
    assert code == 0 and out.count(".attention.png") == 2
    stem = photos["cats"][0].stem
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(
        [f"{stem}_a2b.jpg", f"{stem}_a2b.attention.png", "alpha_a2b.png", "alpha_a2b.attention.png"])
    translator = open_translator(load_bundle(tiny_bundles["ugatit"]))
    heatmap = translator.translate(read_image(photos["cats"][0]), "a2b").heatmap
    assert np.array_equal(read_image(out_dir / f"{stem}_a2b.attention.png"), coloured(heatmap, "inferno"))
    # an existing map is kept like an existing output: that input fails alone, with the reason
    (out_dir / f"{stem}_a2b.jpg").unlink()
    code, _, err = run(capsys, "translate", photos["cats"][0], "-o", out_dir, "--model", tiny_bundles["ugatit"],
                       "--attention")
    assert code == 1 and f"{stem}_a2b.attention.png: already exists" in err
    assert not (out_dir / f"{stem}_a2b.jpg").exists()  # nothing half-written
    code, _, err = run(capsys, "translate", photos["cats"][0], "-o", tmp_path / "m", "--model", tiny_bundles["munit"],
                       "--attention")
    assert code == 1 and err.count("\n") == 1 and "has no attention map: drop --attention" in err


def test_family_specific_refusals(capsys, photos, tiny_bundles, tmp_path):
    code, _, err = run(capsys, "translate", photos["cats"][0], "-o", tmp_path, "--model", tiny_bundles["ugatit"],
                       "--count", 2)
    assert code == 1 and "has no style: drop --style, --seed and --count" in err
    code, _, err = run(capsys, "translate", photos["cats"][0], "-o", tmp_path, "--model", tiny_bundles["tunit"])
    assert code == 1 and "has no style prior to sample from" in err


def test_refuses_folders_collisions_and_replacing_inputs(capsys, photos, tiny_bundles, tmp_path):
    code, _, err = run(capsys, "translate", photos["cats"][0].parent, "-o", tmp_path, "--model", tiny_bundles["ugatit"])
    assert code == 1 and "is a folder" in err
    code, _, err = run(capsys, "translate", *photos["cats"], "-o", tmp_path / "one.png",
                       "--model", tiny_bundles["ugatit"])
    assert code == 1 and "is a file name, but this run makes 2 images" in err
    code, _, err = run(capsys, "translate", photos["alpha"], "-o", photos["alpha"], "--model", tiny_bundles["ugatit"],
                       "--overwrite")
    assert code == 1 and "the output would replace the input" in err


def test_provider_fallback_is_announced(capsys, photos, tiny_bundles, tmp_path):
    code, out, err = run(capsys, "translate", photos["cats"][0], "-o", tmp_path, "--model", tiny_bundles["ugatit"],
                         "--provider", "directml")
    assert code == 0 and "on cpu" in out
    assert "warning: asked for directml, running on cpu: directml is not available" in err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["translate", "x.jpg"])
    assert exc.value.code == 2 and "-o/--output" in capsys.readouterr().err


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_subprocess_translate(photos, tiny_archives, tmp_path):
    out = tmp_path / "sub"
    proc = subprocess.run([sys.executable, "-m", "desktop.cli", "translate", str(photos["cats"][0]), "-o", str(out),
                           "--model", str(tiny_archives["munit"]), "--seed", "1"],
                          capture_output=True, text=True, env=_env(), cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = out / f"{photos['cats'][0].stem}_a2b_s1.jpg"
    assert result.is_file() and str(result) in proc.stdout
    assert cv2.imread(str(result)).shape == (256, 256, 3)


def test_missing_onnxruntime_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['onnxruntime'] = None\n"
            "try:\n    import desktop.runtime\nexcept ImportError as exc:\n    print(exc)\n"
            "from desktop.cli import main\nraise SystemExit(main(['providers']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 1
    assert 'pip install "i2i-studio[cpu]"' in proc.stdout and '"i2i-studio[cuda]"' in proc.stdout
    assert proc.stderr.startswith("i2i: error: i2i Studio needs onnxruntime") and proc.stderr.count("\n") == 1
