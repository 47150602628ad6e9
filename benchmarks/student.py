"""A distilled student against its teacher at 256 px through the runtime: frames per second of a translation
with a fixed style (what Live runs per frame: for MUNIT the content encoder and the decoder), fp32 and int8 where
a bundle has them, next to the GMACs of one frame counted from its graphs (export/macs.py); with --quality, also
what ``i2i-eval`` measures of both on that dataset's test folders (target-domain rate per style mode and KID, per
direction) and the student's fidelity to its teacher (PSNR of the student's output against the teacher's on the
same test images and styles: the judge calls a blurred dog a dog, pixels do not), so speed and quality come from
one run.

    python benchmarks/student.py --student runs/student.i2i [--teacher cat2dog-munit] [--size 256] [--seconds 5]
    python benchmarks/student.py --student cat2dog-munit-fast --quality ../shared/data/cat2dog

Without --teacher the student's ``student_of`` names it (a shipped or installed model, or give a path); without
--student the teacher's student is looked up among the installed models (``student_for``). Prints a table and
writes benchmarks/results/student.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from pipeline import DATA, raw_rate  # noqa: E402

from desktop.runtime.bundle import Bundle, BundleError, find_bundles, resolve_bundle, student_for  # noqa: E402
from desktop.runtime.preprocess import resize  # noqa: E402
from desktop.runtime.style import ExplicitStyle, RandomStyle, ReferenceStyle, TypicalStyle  # noqa: E402
from desktop.runtime.translators import open_translator  # noqa: E402
from export.macs import frame_macs  # noqa: E402
from i2i_common.atomic import write_bytes  # noqa: E402
from i2i_common.images import read_image  # noqa: E402
from trainer.provenance import hardware  # noqa: E402

MEASURED_PRECISIONS = ("fp32", "int8")


def pick(teacher: str | None, student: str | None) -> tuple[Bundle, Bundle]:
    """The (teacher, student) pair the arguments name, one found from the other when only one is given."""
    if student is not None:
        found = resolve_bundle(student)
        if teacher is None and found.student_of is None:
            raise SystemExit(f"{student} names no teacher (no student_of): give --teacher")
        return resolve_bundle(teacher or str(found.student_of)), found
    if teacher is None:
        raise SystemExit("give --student (and --teacher, unless the student names it)")
    taught = resolve_bundle(teacher)
    found_student = student_for(taught.name, find_bundles().bundles)
    if found_student is None:
        raise SystemExit(f"no installed model is a student of {taught.name}: give --student")
    return taught, found_student


def frames(folder: Path, size: int, count: int) -> list[np.ndarray]:
    """``count`` real images of ``folder`` resized to ``size`` x ``size``."""
    paths = sorted(folder.glob("*.jpg"))[:count]
    if not paths:
        raise SystemExit(f"no .jpg images in {folder} (give --data, a folder of images)")
    return [resize(read_image(p)[..., :3], size, size) for p in paths]


def measure(bundle: Bundle, role: str, direction: str, images: list[np.ndarray], seconds: float) -> list[dict]:
    """One row per precision of ``bundle``: GMACs per frame and frames per second at the images' size."""
    size = images[0].shape[0]
    gmacs = frame_macs(bundle, direction, size, size) / 1e9
    rows = []
    for precision in (p for p in MEASURED_PRECISIONS if p in bundle.precisions()):
        translator = open_translator(bundle, provider="cpu", precision=precision)
        style = None
        if translator.capabilities.styles:
            style = ExplicitStyle(np.asarray(translator.style_code(RandomStyle(seed=0), direction)))
        fps = raw_rate(translator, images, direction, style, seconds, mode="native")
        rows.append({"role": role, "model": bundle.name, "precision": precision, "gmacs_per_frame": gmacs,
                     "fps": fps, "ms_per_frame": 1000 / fps})
    return rows


def quality(bundle: Bundle, data: Path, out: Path) -> dict[str, dict]:
    """Per direction id: i2i-eval's target-domain rate of each style mode and the headline KID (x100) of ``bundle``
    on ``data``'s test folders (its report, grid included, goes to ``out``)."""
    from evaluation.cli import build_parser, run

    results = run(build_parser().parse_args(["--bundle", str(bundle.source), "--data", str(data), "--out", str(out)]))
    return {d["direction"]: {"kid_x100": d["classifier_kid_x100"],
                             "target_rate": {mode: f["target_rate"] for mode, f in d["modes"].items()}}
            for d in results["directions"]}


def psnr(image: np.ndarray, wanted: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 images (capped at 99 when equal)."""
    mse = float(np.mean((image.astype(np.float64) - wanted.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def fidelity(teacher: Bundle, student: Bundle, data: Path, size: int, count: int) -> dict[str, dict[str, float]]:
    """Per direction id and style mode, the mean PSNR (dB) of the student's fp32 output against the teacher's
    on the first ``count`` test images of the source domain at ``size`` px: a random style (seed = the image's
    index), the typical style, and a reference (a test image of the target domain, another for each input)."""
    from evaluation.evaluate import split_of_domains

    splits = split_of_domains(teacher)
    pair = [open_translator(b, provider="cpu", precision="fp32") for b in (teacher, student)]
    figures = {}
    for direction in teacher.directions:
        sources = frames(data / splits[direction.source], size, count)
        references = frames(data / splits[direction.target], size, count)
        modes = {"random": [RandomStyle(seed=i) for i in range(len(sources))],
                 "typical": [TypicalStyle()] * len(sources),
                 "reference": [ReferenceStyle(r) for r in reversed(references)]}
        figures[direction.id] = {
            mode: float(np.mean([psnr(*(t.translate(x, direction.id, style=style, mode="native").image
                                        for t in pair)) for x, style in zip(sources, styles, strict=False)]))
            for mode, styles in modes.items()}
    return figures


def print_quality(figures: dict[str, dict[str, dict]]) -> None:
    """The quality table: one row per (role, direction), a column per style mode, then KID."""
    modes = list(next(iter(next(iter(figures.values())).values()))["target_rate"])
    print(f"{'role':<8} {'direction':<9} " + " ".join(f"{m:>9}" for m in modes) + f" {'KID x100':>9}")
    for role, directions in figures.items():
        for direction, f in directions.items():
            rates = " ".join(f"{f['target_rate'].get(m, float('nan')):>9.2f}" for m in modes)
            print(f"{role:<8} {direction:<9} {rates} {f['kid_x100']:>9.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--student", help="the student bundle (path or installed name)")
    parser.add_argument("--teacher", help="the teacher bundle (default: the student's student_of)")
    parser.add_argument("--direction", help="direction id (default: the teacher's first)")
    parser.add_argument("--size", type=int, default=256, help="frame side in pixels (default 256)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each rate is measured")
    parser.add_argument("--frames", type=int, default=30, help="distinct frames cycled through")
    parser.add_argument("--data", type=Path, default=DATA, help="a folder of .jpg images (default cat2dog testA)")
    parser.add_argument("--quality", type=Path, metavar="DATASET",
                        help="also run i2i-eval on both with this dataset's test folders (trainA/testA layout)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "student.json")
    args = parser.parse_args(argv)

    try:
        teacher, student = pick(args.teacher, args.student)
    except BundleError as exc:
        parser.error(str(exc))
    direction = args.direction or teacher.directions[0].id
    images = frames(args.data, args.size, args.frames)
    rows = [*measure(teacher, "teacher", direction, images, args.seconds),
            *measure(student, "student", direction, images, args.seconds)]
    base = rows[0]  # the teacher at fp32
    for row in rows:
        row["speedup_vs_teacher_fp32"] = row["fps"] / base["fps"]

    print(f"{direction} at {args.size}x{args.size}, fixed style, CPU ({hardware()})")
    print(f"{'role':<8} {'model':<28} {'precision':<9} {'GMACs':>6} {'fps':>7} {'ms/frame':>9} {'x teacher':>9}")
    for r in rows:
        print(f"{r['role']:<8} {r['model']:<28} {r['precision']:<9} {r['gmacs_per_frame']:>6.2f} {r['fps']:>7.1f} "
              f"{r['ms_per_frame']:>9.1f} {r['speedup_vs_teacher_fp32']:>9.2f}")
    report = {"teacher": teacher.name, "student": student.name, "student_of": student.student_of,
              "direction": direction, "size": args.size, "frames": len(images), "seconds": args.seconds,
              "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": hardware(), "rows": rows}
    if args.quality is not None:
        evals = args.out.parent / "student_eval"
        report["quality"] = {role: quality(bundle, args.quality, evals / role)
                             for role, bundle in (("teacher", teacher), ("student", student))}
        print(f"\ni2i-eval on {args.quality} (reports in {evals})")
        print_quality(report["quality"])
        report["fidelity_psnr_db"] = fidelity(teacher, student, args.quality, args.size, args.frames)
        print(f"\nstudent against teacher, PSNR (dB) on {args.frames} test images at {args.size} px, fp32")
        for direction_id, modes in report["fidelity_psnr_db"].items():
            print(f"{direction_id:<9} " + " ".join(f"{mode} {db:5.1f}" for mode, db in modes.items()))
    write_bytes(args.out, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
