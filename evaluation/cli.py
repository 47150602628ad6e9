"""``i2i-eval``: evaluate a bundle on a dataset's held-out test images.

    i2i-eval --bundle resources/models/cat2dog-munit.i2i --data path/to/cat2dog --out eval/cat2dog

Writes ``results.json``, ``results.md`` and ``grid.png`` into ``--out`` (see docs/evaluation.md). A bundle
whose domains are discovered clusters (TUNIT) is scored on the labelled classes of one or more ``--data``
folders instead (evaluation/bundle_kinds.py).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from desktop.runtime.bundle import PRECISIONS, BundleError, resolve_bundle
from desktop.runtime.translators import TranslationError, capabilities_of, open_translator
from evaluation.bundle_kinds import EVAL_MODES
from evaluation.classifier import ClassifierConfig, get_classifier
from evaluation.data import EvalDataError, open_data
from evaluation.evaluate import (
    EvalOptions,
    EvalSetupError,
    bundle_summary,
    evaluate_direction,
    held_out_images,
    split_of_domains,
)
from evaluation.grid import write_grid
from evaluation.inception import InceptionError, load_inception
from evaluation.judge import get_judge
from evaluation.report import check_writable, markdown, write_results
from i2i_common.images import ImageWriteError

log = logging.getLogger("i2i-eval")

NO_INCEPTION_NOTE = ("skipped: no --inception-weights given (i2i-eval downloads nothing; see "
                     "docs/evaluation.md for which local Inception files it accepts)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="i2i-eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, help="bundle folder, .i2i file or installed model name")
    parser.add_argument("--data", required=True, type=Path, action="append",
                        help="dataset with trainA, trainB, testA, testB (or AFHQ train/<class>/, val/<class>/); "
                             "repeatable for bundles with discovered clusters (TUNIT)")
    parser.add_argument("--swap-domains", action="store_true",
                        help="the bundle's first domain is the data's B (default: A), e.g. a dog2cat model on cat2dog")
    parser.add_argument("--out", type=Path, help="output folder (default: eval/<bundle name>)")
    parser.add_argument("--max-images", type=int, help="test images per domain (default: all)")
    parser.add_argument("--inception-weights", type=Path,
                        help="local Inception weights (pytorch-fid .pth, torchvision state_dict or TorchScript) "
                             "for standard KID/FID")
    parser.add_argument("--styles", type=int, default=4,
                        help="random styles per input (input i: seeds i*N..i*N+N-1), all judged; diversity, grid")
    parser.add_argument("--references", type=int, default=EvalOptions.references,
                        help="real target test images whose styles make the reference and mix modes (discovered "
                             "clusters: per cluster, translating towards it)")
    parser.add_argument("--classifier-epochs", type=int, default=ClassifierConfig.epochs)
    parser.add_argument("--classifier-images", type=int, default=ClassifierConfig.max_per_domain,
                        help="training images per domain (or labelled class) for the domain classifier")
    parser.add_argument("--provider", default="auto", help="onnxruntime provider (auto, cpu, cuda, directml)")
    parser.add_argument("--precision", default="fp32", choices=PRECISIONS,
                        help="graph variant to evaluate (falls back to fp32 where the bundle has none)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads for the classifier and Inception (0: torch's default)")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser




def run(args: argparse.Namespace) -> dict:
    """Evaluate as the arguments say; returns the results written to ``results.json``."""
    started = time.perf_counter()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.max_images is not None and args.max_images < 2:
        raise EvalSetupError("--max-images must be at least 2")
    if args.styles < 1 or args.references < 0:
        raise EvalSetupError("--styles must be at least 1 and --references at least 0")
    bundle = resolve_bundle(args.bundle)
    mode = next((m for m in EVAL_MODES.values() if m.accepts(capabilities_of(bundle))), None)
    if mode is not None:
        return mode.run(args, bundle)
    if len(args.data) != 1:
        raise EvalSetupError(f"a {bundle.family} bundle is evaluated on one --data folder, not {len(args.data)}")
    data = open_data(args.data[0], [domain.name for domain in bundle.domains])
    if args.swap_domains and data.kind != "ab":
        raise EvalSetupError("--swap-domains is for trainA/trainB folders; AFHQ class folders are already "
                             "picked by the bundle's domain names")
    splits = split_of_domains(bundle, swap=args.swap_domains)
    out = args.out or Path("eval") / bundle.name
    check_writable(out)
    inception = load_inception(args.inception_weights) if args.inception_weights else None
    options = EvalOptions(max_images=args.max_images, styles=args.styles, references=args.references)

    config = replace(ClassifierConfig(), epochs=args.classifier_epochs, max_per_domain=args.classifier_images)
    classifier = get_classifier(data, config)
    log.info("domain classifier: %s (%s)", classifier.path, "trained now" if classifier.trained_now else "cached")
    judge = get_judge(classifier, data)
    translator = open_translator(bundle, provider=args.provider, precision=args.precision)
    tests = held_out_images(data, options)
    directions = [evaluate_direction(translator, d, splits, tests, judge, inception, options)
                  for d in bundle.directions]

    grid_path = write_grid(out / "grid.png", [(d.grid_title, d.grid_rows) for d in directions])
    results = {
        "bundle": bundle_summary(bundle),
        "data": str(data.root.resolve()),
        "splits": {bundle.domain(domain_id).name: split for domain_id, split in splits.items()},
        "options": {"max_images": args.max_images, "styles": args.styles, "references": args.references,
                    "kid_subsets": options.kid_subsets, "kid_subset_size": options.kid_subset_size},
        "classifier": {**classifier.summary(),
                       "accuracy": {d.target: d.classifier_accuracy_on_real_target for d in directions},
                       "judge": {"cache": str(judge.path), "trained_now": judge.trained_now, **judge.info,
                                 "reject_rate_on_real": {d.target: d.real_target["reject_rate"] for d in directions}}},
        "inception": {"used": inception is not None,
                      "weights": str(inception.path) if inception else None,
                      "note": f"{inception.kind} from {inception.path}" if inception else NO_INCEPTION_NOTE},
        "provider": translator.provider_info.active,
        "precision": translator.precision,
        "directions": [d.as_dict() for d in directions],
        "grid": grid_path.name,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_results(out, results)
    return results | {"out": str(out)}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        results = run(args)
    except (BundleError, EvalDataError, EvalSetupError, InceptionError, ImageWriteError, TranslationError) as exc:
        print(f"i2i-eval: error: {exc}", file=sys.stderr)
        return 2
    if (mode := EVAL_MODES.get(results.get("evaluation", ""))) is not None:
        print(mode.markdown(results))
        print(f"Results written to {results['out']} ({', '.join(mode.files)}).")
        return 0
    print(markdown(results))
    if not results["inception"]["used"]:
        print(f"Inception KID/FID {NO_INCEPTION_NOTE}.")
    print(f"Results written to {results['out']} (results.json, results.md, grid.png).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
