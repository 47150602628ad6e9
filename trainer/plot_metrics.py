"""Plot the loss curves of a run's ``metrics.csv`` to a PNG (raw values faint, moving average solid).

    python -m trainer.plot_metrics runs/NAME            # writes runs/NAME/losses.png
    python -m trainer.plot_metrics runs/NAME --out docs/figures/losses.png --smooth 200
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from i2i_common.atomic import atomic_open
from .metrics import read_metrics

# panels: title -> series (those missing from the CSV are left out)
PANELS = {
    "adversarial": ["dis_total", "gen_adv"],
    "reconstruction (L1, unweighted)": ["recon_x", "recon_s", "recon_c", "recon_cyc"],
    "generator total (weighted)": ["gen_total"],
}


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` values (shorter at the start)."""
    cumsum = np.cumsum(np.insert(values.astype(np.float64), 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(0, idx - window)
    return (cumsum[idx] - cumsum[lo]) / (idx - lo)


def plot_metrics(csv_path: Path, out: Path, smooth: int = 100) -> Path:
    """Draw one panel per loss group of ``csv_path`` into the PNG ``out`` (written atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(csv_path)
    if not rows:
        raise ValueError(f"{csv_path} has no rows yet")
    iterations = np.array([r["iteration"] for r in rows])
    panels = {t: [s for s in series if s in rows[0]] for t, series in PANELS.items()}
    panels = {t: s for t, s in panels.items() if s}
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, (title, series) in zip(axes[0], panels.items()):
        for name in series:
            values = np.array([r[name] for r in rows])
            line, = ax.plot(iterations, moving_average(values, smooth), label=name, linewidth=1.5)
            ax.plot(iterations, values, color=line.get_color(), alpha=0.15, linewidth=0.5)
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{csv_path.parent.name}: {int(iterations[-1])} iterations (moving average of {smooth} logs)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_open(out, "wb") as handle:
            fig.savefig(handle, format="png", dpi=80)
    finally:
        plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="run folder holding metrics.csv (or the CSV itself)")
    parser.add_argument("--out", type=Path, help="PNG to write (default: RUN/losses.png)")
    parser.add_argument("--smooth", type=int, default=100, help="moving-average window, in logged rows")
    args = parser.parse_args(argv)
    csv_path = args.run if args.run.suffix == ".csv" else args.run / "metrics.csv"
    if not csv_path.is_file():
        print(f"plot_metrics: {csv_path} not found", file=sys.stderr)
        return 2
    print(plot_metrics(csv_path, args.out or csv_path.parent / "losses.png", args.smooth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
