"""Write the evaluation results: ``results.json`` (everything) and ``results.md`` (the table)."""
from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from evaluation.evaluate import EvalSetupError
from i2i_common.atomic import write_bytes


def _fmt(value: float | None, std: float | None = None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f} ± {std:.{digits}f}" if std is not None else f"{value:.{digits}f}"


def markdown(results: dict) -> str:
    """The results as a markdown section: a header line, the per-direction table and notes."""
    bundle, cls = results["bundle"], results["classifier"]
    lines = [
        f"### {bundle['title'] or bundle['name']}",
        "",
        f"`{bundle['name']}`: {bundle['family']}, {bundle['iterations'] or 0} training iterations, "
        f"{bundle['train_size']} px{', untrained placeholder' if bundle['untrained'] else ''}; "
        f"{results['precision']} graphs on {results['provider']}.",
        "",
        "| direction | test images | target-domain rate | classifier accuracy on real target | "
        "KID×100 (classifier) | KID×100 untranslated | FID (classifier) | KID×100 (Inception) | "
        "FID (Inception) | diversity: feature L2 | diversity: pixel L1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in results["directions"]:
        div = d["diversity"] or {}
        lines.append(
            f"| {d['source']} → {d['target']} | {d['images']} | {d['target_rate']:.1%} | "
            f"{d['classifier_accuracy_on_real_target']:.1%} | "
            f"{_fmt(d['classifier_kid_x100'], d['classifier_kid_x100_std'])} | "
            f"{_fmt(d['classifier_kid_x100_untranslated'])} | {_fmt(d['classifier_fid'])} | "
            f"{_fmt(d['inception_kid_x100'], d['inception_kid_x100_std'])} | {_fmt(d['inception_fid'])} | "
            f"{_fmt(div.get('feature_distance'), digits=3)} | {_fmt(div.get('pixel_l1'), digits=3)} |")
    accuracy = ", ".join(f"{split} {value:.1%}" for split, value in cls["accuracy"].items())
    lines += [
        "",
        f"- Domain classifier ({cls['feature_dim']}-d features, {cls['config']['size']} px, trained on "
        f"{cls['training']['images']['a']} + {cls['training']['images']['b']} training images): accuracy on the real "
        f"test images {accuracy}.",
        "- KID×100 untranslated: the source images themselves against the real target images, the "
        "baseline a translation must beat. A high target-domain rate with a KID near or above this "
        "baseline means the outputs fool the classifier without looking like the target (noise can).",
        f"- Inception metrics: {results['inception']['note']}",
        f"- Diversity: mean pairwise distance between {results['options']['styles']} random styles of the "
        "same input (classifier-feature L2 and pixel L1 in [0, 1]; LPIPS is not available offline).",
        "- KID is the unbiased polynomial-kernel MMD² ×100, on the whole sets when they hold at most "
        f"{results['options']['kid_subset_size']} images (else mean ± std over "
        f"{results['options']['kid_subsets']} random subsets of that size). FID is biased upwards on few "
        "images: compare it only between runs with the same image counts.",
    ]
    lines += ["", f"![{bundle['name']}: inputs and translations]({results['grid']})"]
    return "\n".join(lines) + "\n"


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed; :class:`EvalSetupError` (one line) when files cannot be written there."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise EvalSetupError(f"output folder {folder} is not writable ({exc.strerror or exc})") from None


def write_results(out_dir: Path, results: dict, render: Callable[[dict], str] = markdown) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` (``render(results)``) into ``out_dir``; returns both paths."""
    return (write_bytes(out_dir / "results.json", (json.dumps(results, indent=2) + "\n").encode("utf-8")),
            write_bytes(out_dir / "results.md", render(results).encode("utf-8")))
