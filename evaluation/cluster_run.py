"""``i2i-eval`` for a bundle whose domains are clusters it discovered (TUNIT): labelled test classes from
one or more ``--data`` folders, an N-class judge trained on their training folders, the figures of
evaluation/clustering.py, two pictures and the results files."""
from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path

from desktop.runtime.bundle import Bundle
from desktop.runtime.translators import open_translator
from evaluation.classifier import ClassifierConfig, get_classifier
from evaluation.cluster_report import cluster_markdown
from evaluation.clustering import ClusteringTranslator, ClusterOptions, evaluate_clusters
from evaluation.evaluate import EvalSetupError, bundle_summary, load_test_images
from evaluation.grid import write_grid
from evaluation.labelled import open_labelled, training_classes
from evaluation.report import check_writable, write_results

log = logging.getLogger("i2i-eval")

NAME = "clusters"  # results.json's "evaluation"
MEMBERS_GRID, TRANSLATIONS_GRID = "clusters.png", "translations.png"
CLUSTER_FILES = ("results.json", "results.md", MEMBERS_GRID, TRANSLATIONS_GRID)


def run_clusters(args: argparse.Namespace, bundle: Bundle) -> dict:
    """Evaluate ``bundle``'s clusters as the i2i-eval arguments say; returns the results written to
    ``results.json`` (plus ``"out"``)."""
    started = time.perf_counter()
    for flag, given in (("--swap-domains", args.swap_domains), ("--inception-weights", args.inception_weights)):
        if given:
            raise EvalSetupError(f"{flag} is for two-domain bundles; {bundle.name} has discovered clusters")
    if args.references < 1:
        raise EvalSetupError("--references must be at least 1")
    classes = open_labelled(args.data)
    out = args.out or Path("eval") / bundle.name
    check_writable(out)
    options = ClusterOptions(max_images=args.max_images, references=args.references)
    config = replace(ClassifierConfig(), epochs=args.classifier_epochs, max_per_domain=args.classifier_images)
    tests = [load_test_images(c.data, c.test_split, options.max_images) for c in classes]
    classifier = get_classifier(training_classes(classes), config)
    log.info("%d-class judge: %s (%s)", len(classes), classifier.path,
             "trained now" if classifier.trained_now else "cached")
    translator = open_translator(bundle, provider=args.provider, precision=args.precision)
    if not isinstance(translator, ClusteringTranslator):
        raise EvalSetupError(f"{bundle.name}: its translator cannot classify images into clusters")
    evaluation = evaluate_clusters(translator, classes, tests, classifier, options)
    write_grid(out / MEMBERS_GRID, evaluation.members_grid)
    write_grid(out / TRANSLATIONS_GRID, evaluation.translations_grid)
    results = {
        "evaluation": NAME,
        "bundle": bundle_summary(bundle),
        "data": list(dict.fromkeys(str(c.data.root.resolve()) for c in classes)),
        "options": {"max_images": args.max_images, "references": options.references},
        "classifier": {**classifier.summary(), "accuracy": evaluation.judge_accuracy},
        "provider": translator.provider_info.active,
        "precision": translator.precision,
        **evaluation.figures,
        "grids": {"members": MEMBERS_GRID, "translations": TRANSLATIONS_GRID},
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_results(out, results, cluster_markdown)
    return results | {"out": str(out)}
