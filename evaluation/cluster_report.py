"""``results.md`` of a clustering evaluation (evaluation/clustering.py): headline figures, the contingency
table, per-cluster figures and target rates, the judge's accuracy, the two pictures."""
from __future__ import annotations

MODE_TITLES = {"typical": "the cluster's typical style",
               "reference": "styles of real test images of the cluster's majority class"}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _row(cells: list) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list, rows: list[list]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def cluster_markdown(results: dict) -> str:
    """The results of a clustering evaluation as a markdown section."""
    bundle, table = results["bundle"], results["contingency"]
    clusters, classes, counts = table["clusters"], table["classes"], table["counts"]
    info = results["clusters"]
    accuracy, judge = results["accuracy"], results["classifier"]
    images = sum(map(sum, counts))
    lines = [
        f"### {bundle['title'] or bundle['name']}",
        "",
        f"`{bundle['name']}`: {bundle['family']}, {bundle['iterations'] or 0} training iterations, "
        f"{bundle['train_size']} px{', untrained placeholder' if bundle['untrained'] else ''}; "
        f"{len(clusters)} clusters scored on {len(classes)} labelled classes; "
        f"{results['precision']} graphs on {results['provider']}.",
        "",
        *_table(["test images", "classes", "clusters", "accuracy (majority)", "accuracy (Hungarian)", "NMI"],
                [[images, len(classes), len(clusters), _pct(accuracy["majority"]), _pct(accuracy["hungarian"]),
                  f"{results['nmi']:.3f}"]]),
        "",
        "Test images of each class per cluster (the cluster the guiding network rates most likely):",
        "",
        *_table(["class \\ cluster", *clusters, "images"],
                [[name, *row, sum(row)] for name, row in zip(classes, counts)]
                + [["**size**", *(c["size"] for c in info), images],
                   ["**majority**", *(c["majority_class"] or "-" for c in info), ""]]),
        "",
        "Per cluster: its majority class, the one-to-one (Hungarian) class, and the share of translations "
        "towards it that the judge calls its majority class (all test inputs / inputs of the other classes):",
        "",
        *_table(["cluster", "size", "majority class (share)", "Hungarian class",
                 *(f"{mode}: rate / from other classes" for mode in MODE_TITLES)],
                [[c["id"], c["size"],
                  f"{c['majority_class']} ({_pct(c['majority_share'])})" if c["majority_class"] else "-",
                  c["hungarian_class"] or "-",
                  *(_mode_cell(results["target_rates"][mode]["per_cluster"][c["id"]]) for mode in MODE_TITLES)]
                 for c in info]),
    ]
    for mode, title in MODE_TITLES.items():
        per_pair = results["target_rates"][mode]["per_pair"]
        lines += ["", f"Target rate per source class, towards each cluster with {title}:", "",
                  *_table(["source \\ towards", *(f"{c['id']} ({c['majority_class'] or '-'})" for c in info)],
                          [[name, *(_pct(per_pair[name][k]) for k in clusters)] for name in classes])]
    trained = ", ".join(f"{name} {count}" for name, count in judge["training"]["images"].items())
    real = ", ".join(f"{name} {_pct(value)}" for name, value in judge["accuracy"].items())
    lines += [
        "",
        f"- Judge: the domain classifier with {len(classes)} classes ({judge['config']['size']} px, trained on "
        f"{trained} training images); accuracy on the real test images: {real}. A target rate near the "
        "judge's accuracy on real images of the target class is as good as this judge can tell.",
        "- Accuracy (majority): each cluster counts as its most frequent class, so several clusters may share "
        "one; accuracy (Hungarian): each class is matched with one cluster (n/a with fewer clusters than "
        "classes). NMI: mutual information over the mean of the two entropies (1: the clusters are the classes).",
        f"- Reference styles: per cluster the {results['options']['references']} test images of its majority "
        "class the model rates most typical of it, never the input itself.",
        "",
        f"![{bundle['name']}: each cluster's most typical test images]({results['grids']['members']})",
        "",
        f"![{bundle['name']}: inputs translated towards each cluster]({results['grids']['translations']})",
    ]
    return "\n".join(lines) + "\n"


def _mode_cell(figures: dict | None) -> str:
    return "n/a" if figures is None else f"{_pct(figures['rate'])} / {_pct(figures['rate_other_classes'])}"
