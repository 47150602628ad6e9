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
        "| direction | test images | style mode | target-domain rate | rejected | judge on real target | "
        "KID×100 (classifier) | KID×100 untranslated | FID (classifier) | KID×100 (Inception) | "
        "FID (Inception) | content: beats random | diversity: feature L2 | diversity: pixel L1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in results["directions"]:
        div = d["diversity"] or {}
        lines.append(
            f"| {d['source']} → {d['target']} | {d['images']} | {d['primary_mode']} | {d['target_rate']:.1%} | "
            f"{d['reject_rate']:.1%} | {d['real_target']['target_rate']:.1%} | "
            f"{_fmt(d['classifier_kid_x100'], d['classifier_kid_x100_std'])} | "
            f"{_fmt(d['classifier_kid_x100_untranslated'])} | {_fmt(d['classifier_fid'])} | "
            f"{_fmt(d['inception_kid_x100'], d['inception_kid_x100_std'])} | {_fmt(d['inception_fid'])} | "
            f"{d['content']['beats_random']:.1%} | "
            f"{_fmt(div.get('feature_distance'), digits=3)} | {_fmt(div.get('pixel_l1'), digits=3)} |")
    lines += _modes_table(results["directions"])
    accuracy = ", ".join(f"{split} {value:.1%}" for split, value in cls["accuracy"].items())
    rejected = ", ".join(f"{split} {value:.1%}" for split, value in cls["judge"]["reject_rate_on_real"].items())
    lines += [
        "",
        f"- Domain classifier ({cls['feature_dim']}-d features, {cls['config']['size']} px, trained on "
        f"{cls['training']['images']['a']} + {cls['training']['images']['b']} training images): two-class accuracy "
        f"on the real test images {accuracy}.",
        "- Target-domain rate: the share of outputs the judge calls the target domain; the judge can also say "
        "\"neither\" (*rejected*: blurred, ghosted, noisy or flat outputs), and rejects real test images too: "
        f"{rejected}. *Judge on real target*: the target-domain rate of the real target images, the ceiling.",
        "- Content: the low-pass layout of an output correlates more with its own input than with another input "
        "in this share of pairings (50% = the input is ignored; 100% = always more like its own input).",
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


def _modes_table(directions: list[dict]) -> list[str]:
    """The per-style-mode table, when some direction has more than one mode."""
    if all(len(d["modes"]) < 2 for d in directions):
        return []
    lines = ["", "| direction | style mode | outputs judged | target-domain rate | rejected | two-class rate | "
                 "KID×100 (classifier) | KID×100 (Inception) | content: own / random | content: beats random |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for d in directions:
        for name, m in d["modes"].items():
            lines.append(
                f"| {d['source']} → {d['target']} | {name} | {m['outputs']} ({m['styles_per_input']} per input) | "
                f"{m['target_rate']:.1%} | {m['reject_rate']:.1%} | {m['target_rate_two_class']:.1%} | "
                f"{_fmt(m['kid_x100'], m['kid_x100_std'])} | "
                f"{_fmt(m['inception_kid_x100'], m['inception_kid_x100_std'])} | "
                f"{m['content']['own']:.2f} / {m['content']['random']:.2f} | {m['content']['beats_random']:.1%} |")
    return lines


def write_results(out_dir: Path, results: dict, render: Callable[[dict], str] = markdown) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` (``render(results)``) into ``out_dir``; returns both paths."""
    return (write_bytes(out_dir / "results.json", (json.dumps(results, indent=2) + "\n").encode("utf-8")),
            write_bytes(out_dir / "results.md", render(results).encode("utf-8")))
