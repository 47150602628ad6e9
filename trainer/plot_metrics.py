"""Plot the loss curves of a run's ``metrics.csv`` to a PNG (raw values faint, moving average solid).

The panels are those the run's family declares (``plot_panels``, found through the ``config.toml`` beside
the CSV); without one, every logged value of the family goes into one panel. Several runs go into the same
panels (one line style per run, the legend names each run with its iterations and wall time), e.g. to compare
fp32 with bf16.

    python -m trainer.plot_metrics runs/NAME            # writes runs/NAME/losses.png
    python -m trainer.plot_metrics runs/NAME --out docs/figures/losses.png --smooth 200
    python -m trainer.plot_metrics runs/A runs/B --out compare.png
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from i2i_common.atomic import atomic_open

from .config import ConfigError, load_config
from .distill.family import training_family
from .metrics import LOOP_LOGGED_VALUES, read_metrics


def panels_for(csv_path: Path, columns: Sequence[str]) -> dict[str, list[str]]:
    """Panel title -> the series of ``columns`` it shows: the family's ``plot_panels`` (a distillation run's
    own) when the run's ``config.toml`` names one that declares them, else one ``losses`` panel of every
    non-loop column."""
    panels: dict[str, Sequence[str]] = {}
    config_path = Path(csv_path).parent / "config.toml"
    if config_path.is_file():
        try:
            panels = training_family(load_config(config_path)).plot_panels
        except ConfigError:
            panels = {}
    if not panels:
        panels = {"losses": [c for c in columns if c != "iteration" and c not in LOOP_LOGGED_VALUES]}
    chosen = {title: [s for s in series if s in columns] for title, series in panels.items()}
    return {title: series for title, series in chosen.items() if series}


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values (shorter at the start)."""
    cumsum = np.cumsum(np.insert(values.astype(np.float64), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (cumsum[idx] - cumsum[lo]) / (idx - lo)


def run_label(csv_path: Path, rows: Sequence[dict[str, float]]) -> str:
    """The run's folder name, its last iteration and (from the logged ``it_per_s``) its wall time."""
    last = rows[-1]
    label = f"{csv_path.parent.name}: {int(last['iteration'])} it"
    if last.get("it_per_s"):
        label += f", {last['iteration'] / last['it_per_s'] / 60:.0f} min"
    return label


def plot_metrics(csv_paths: Path | Sequence[Path], out: Path, smooth: int = 100) -> Path:
    """Draw one panel per loss group of the run(s) ``csv_paths`` into the PNG ``out`` (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = [Path(csv_paths)] if isinstance(csv_paths, str | Path) else [Path(p) for p in csv_paths]
    runs = [(path, read_metrics(path)) for path in paths]
    for path, rows in runs:
        if not rows:
            raise ValueError(f"{path} has no rows yet")
    panels = panels_for(paths[0], list(runs[0][1][0]))
    if not panels:
        raise ValueError(f"{paths[0]} has no values to plot")
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6 + 0.3 * len(runs)), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items(), strict=True):
        for index, name in enumerate(series):
            color = f"C{index % 10}"
            for style, (path, rows) in zip(("-", "--", ":", "-."), runs, strict=False):
                if name not in rows[0]:
                    continue
                iterations = np.array([r["iteration"] for r in rows])
                values = np.array([r[name] for r in rows])
                label = name if len(runs) == 1 else f"{name} ({path.parent.name})"
                ax.plot(iterations, moving_average(values, smooth), color=color, linestyle=style, label=label,
                        linewidth=1.5)
                ax.plot(iterations, values, color=color, alpha=0.15 / len(runs), linewidth=0.5)
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("\n".join(run_label(path, rows) for path, rows in runs) + f" (moving average of {smooth} logs)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_open(out, "wb") as handle:
            fig.savefig(handle, format="png", dpi=80)
    finally:
        plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: plot the RUNs' metrics.csv; exit status 2 when one is missing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folder(s) holding metrics.csv (or the CSVs)")
    parser.add_argument("--out", type=Path, help="PNG to write (default: the first RUN/losses.png)")
    parser.add_argument("--smooth", type=int, default=100, help="moving-average window, in logged rows")
    args = parser.parse_args(argv)
    csv_paths = [run if run.suffix == ".csv" else run / "metrics.csv" for run in args.runs]
    for csv_path in csv_paths:
        if not csv_path.is_file():
            print(f"plot_metrics: {csv_path} not found", file=sys.stderr)
            return 2
    print(plot_metrics(csv_paths, args.out or csv_paths[0].parent / "losses.png", args.smooth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
