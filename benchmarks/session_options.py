"""onnxruntime session settings for one-frame latency: what each departure from the app's settings
(``desktop.runtime.providers.session_options``) does to a 256 px fixed-style translation, alone (frames per second
of translate()) and inside the Live pipeline fed by a 60 fps camera (output fps), in one run, CPU.

    python benchmarks/session_options.py [--bundle cat2dog-munit] [--bundle cat2dog-munit-fast] [--seconds 4]

Each variant changes one setting of the app's; the app's own comes first and the others are reported as a ratio
to it. Prints a table and writes benchmarks/results/session_options.json.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from pipeline import DATA, live_rate, raw_rate  # noqa: E402
from student import frames  # noqa: E402

from desktop.runtime import providers  # noqa: E402
from desktop.runtime.bundle import resolve_bundle  # noqa: E402
from desktop.runtime.style import ExplicitStyle, RandomStyle  # noqa: E402
from desktop.runtime.translators import open_translator  # noqa: E402
from i2i_common.atomic import write_bytes  # noqa: E402
from trainer.provenance import hardware  # noqa: E402

ort.set_default_logger_severity(3)  # the spinning variant overrides an entry the app set: a warning per session
Change = Callable[[ort.SessionOptions], None]


def _config(key: str, value: str) -> Change:
    return lambda opts: opts.add_session_config_entry(key, value)


def _threads(n: int) -> Change:
    def change(opts: ort.SessionOptions) -> None:
        opts.intra_op_num_threads = n
    return change


def _set(name: str, value) -> Change:
    return lambda opts: setattr(opts, name, value)


def _parallel(opts: ort.SessionOptions) -> None:
    opts.execution_mode = ort.ExecutionMode.ORT_PARALLEL
    opts.inter_op_num_threads = 2


CORES = os.cpu_count() or 1
VARIANTS: dict[str, Change | None] = {
    f"app ({CORES} threads, no spinning, all optimisations, sequential)": None,
    "busy-wait spinning on": _config("session.intra_op.allow_spinning", "1"),
    "1 intra-op thread": _threads(1),
    **({f"{CORES + 1} intra-op threads (one more than cores)": _threads(CORES + 1)} if CORES > 1 else {}),
    "extended optimisations only (no layout)": _set("graph_optimization_level",
                                                      ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED),
    "parallel execution, 2 inter-op threads": _parallel,
    "no CPU memory arena": _set("enable_cpu_mem_arena", False),
    "denormals as zero": _config("session.set_denormal_as_zero", "1"),
}


@contextlib.contextmanager
def variant(change: Change | None) -> Iterator[None]:
    """Sessions created inside use the app's options with ``change`` applied."""
    app_options = providers.session_options

    def options(threads: int | None = None, provider: str = "cpu") -> ort.SessionOptions:
        opts = app_options(threads, provider)
        if change is not None:
            change(opts)
        return opts

    providers.session_options = options
    try:
        yield
    finally:
        providers.session_options = app_options


def measure(bundle_name: str, images: list[np.ndarray], seconds: float) -> list[dict]:
    """One row per variant: fps of translate() alone and Live output fps at a 60 fps camera."""
    bundle = resolve_bundle(bundle_name)
    direction = bundle.directions[0].id
    rows = []
    for name, change in VARIANTS.items():
        with variant(change):
            translator = open_translator(bundle, provider="cpu")
        style = None
        if translator.capabilities.styles:
            style = ExplicitStyle(np.asarray(translator.style_code(RandomStyle(seed=0), direction)))
        alone = raw_rate(translator, images, direction, style, seconds, mode="native")
        live = live_rate(translator, images, direction, style, camera_fps=60.0, seconds=seconds)["output_fps"]
        rows.append({"model": bundle.name, "direction": direction, "variant": name, "fps": alone, "live_fps": live})
    base = rows[0]
    for row in rows:
        row["fps_vs_app"], row["live_fps_vs_app"] = row["fps"] / base["fps"], row["live_fps"] / base["live_fps"]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", action="append", help="bundle path or installed name (repeatable; "
                        "default cat2dog-munit)")
    parser.add_argument("--size", type=int, default=256, help="frame side in pixels (default 256)")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long each rate is measured")
    parser.add_argument("--data", type=Path, default=DATA, help="a folder of .jpg frames (default cat2dog testA)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "session_options.json")
    args = parser.parse_args(argv)
    images = frames(args.data, args.size, 30)
    rows = [row for name in (args.bundle or ["cat2dog-munit"]) for row in measure(name, images, args.seconds)]
    print(f"{args.size}x{args.size}, fixed style, CPU ({hardware()}), onnxruntime {ort.__version__}")
    print(f"{'model':<22} {'variant':<60} {'fps':>6} {'x app':>6} {'Live fps':>9} {'x app':>6}")
    for r in rows:
        print(f"{r['model']:<22} {r['variant']:<60} {r['fps']:>6.1f} {r['fps_vs_app']:>6.2f} "
              f"{r['live_fps']:>9.1f} {r['live_fps_vs_app']:>6.2f}")
    report = {"size": args.size, "seconds": args.seconds, "onnxruntime": ort.__version__, "machine": hardware(),
              "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "rows": rows}
    write_bytes(args.out, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
