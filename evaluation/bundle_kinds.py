"""The evaluation kinds for bundles the two-domain one (evaluation/evaluate.py) does not fit, one line each.

``i2i-eval`` runs the first mode that accepts the bundle's capabilities, else the two-domain evaluation;
a mode's results carry its name under ``"evaluation"``, which says how to print them.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from desktop.runtime.bundle import Bundle
from desktop.runtime.translators import Capabilities
from evaluation.cluster_report import cluster_markdown
from evaluation.cluster_run import CLUSTER_FILES, NAME, run_clusters


@dataclass(frozen=True)
class EvalMode:
    """How a kind of bundle is evaluated: which bundles, the run, its markdown and the files it writes."""

    name: str
    accepts: Callable[[Capabilities], bool]
    run: Callable[[argparse.Namespace, Bundle], dict]  # -> results (as written, plus "out")
    markdown: Callable[[dict], str]
    files: tuple[str, ...]


EVAL_MODES: dict[str, EvalMode] = {
    NAME: EvalMode(NAME, lambda caps: caps.clusters_as_domains, run_clusters, cluster_markdown, CLUSTER_FILES),
}
