"""The loss-curve plot reads a real metrics.csv and writes a PNG that decodes."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from trainer.config import dumps_config, resolve_config
from trainer.metrics import MetricsLog, read_metrics
from trainer.plot_metrics import main, moving_average, panels_for, run_label

MUNIT_VALUES = ["dis_total", "gen_total", "gen_adv", "recon_x", "recon_s", "recon_c"]


def test_moving_average_is_a_trailing_mean():
    np.testing.assert_allclose(moving_average(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])


def test_plot_from_metrics_csv(tmp_path):
    log = MetricsLog(tmp_path, 0, MUNIT_VALUES, tensorboard=False)
    for i in range(1, 31):
        log.log(i, {"dis_total": 4 - i / 10, "gen_adv": 1 + math.sin(i), "recon_x": 1 / i, "recon_s": 0.5,
                    "recon_c": 2 / i, "gen_total": 20 / i})
    log.close()
    assert [row["iteration"] for row in read_metrics(tmp_path / "metrics.csv")] == list(range(1, 31))
    out = tmp_path / "figures" / "losses.png"
    assert main([str(tmp_path), "--out", str(out), "--smooth", "5"]) == 0
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] > image.shape[0] > 100
    assert main([str(tmp_path / "missing")]) == 2


def test_resumed_log_drops_rows_after_the_checkpoint(tmp_path):
    log = MetricsLog(tmp_path, 0, ["loss"], tensorboard=False)
    for i in range(1, 6):
        log.log(i, {"loss": float(i)})
    log.close()
    MetricsLog(tmp_path, 3, ["loss"], tensorboard=False).log(4, {"loss": 40.0})
    assert [(r["iteration"], r["loss"]) for r in read_metrics(tmp_path / "metrics.csv")] == \
        [(1, 1.0), (2, 2.0), (3, 3.0), (4, 40.0)]


def test_header_comes_from_the_declared_columns(tmp_path):
    log = MetricsLog(tmp_path, 0, ["a", "b", "lr"], tensorboard=False)
    assert (tmp_path / "metrics.csv").read_text(encoding="utf-8").splitlines() == ["iteration,a,b,lr"]
    log.log(1, {"b": 2.0})  # a row need not hold every column: the header does not depend on it
    assert (tmp_path / "metrics.csv").read_text(encoding="utf-8").splitlines() == ["iteration,a,b,lr", "1,,2.0,"]
    with pytest.raises(ValueError, match=r"\['c'\] are not among the declared columns"):
        log.log(2, {"a": 1.0, "c": 3.0})


def test_panels_come_from_the_runs_family(tmp_path):
    columns = ["iteration", *MUNIT_VALUES, "lr", "it_per_s"]
    assert panels_for(tmp_path / "metrics.csv", columns) == {"losses": MUNIT_VALUES}  # no config.toml
    (tmp_path / "config.toml").write_text(dumps_config(resolve_config({"model": {"family": "munit"}})),
                                          encoding="utf-8")
    assert panels_for(tmp_path / "metrics.csv", columns) == {
        "adversarial": ["dis_total", "gen_adv"], "reconstruction (L1, unweighted)": ["recon_x", "recon_s", "recon_c"],
        "generator total (weighted)": ["gen_total"]}


def test_two_runs_share_the_panels_and_are_named_with_their_wall_time(tmp_path):
    runs = []
    for name, scale in (("fp32", 1.0), ("bf16", 1.1)):
        (tmp_path / name).mkdir()
        log = MetricsLog(tmp_path / name, 0, [*MUNIT_VALUES, "it_per_s"], tensorboard=False)
        for i in range(1, 21):
            log.log(i, {**{k: scale / i for k in MUNIT_VALUES}, "it_per_s": 0.5})
        log.close()
        runs.append(tmp_path / name)
    assert run_label(runs[0] / "metrics.csv", read_metrics(runs[0] / "metrics.csv")) == "fp32: 20 it, 1 min"
    out = tmp_path / "compare.png"
    assert main([str(runs[0]), str(runs[1]), "--out", str(out), "--smooth", "3"]) == 0
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] > image.shape[0] > 100
    assert main([str(runs[0]), str(tmp_path / "missing"), "--out", str(out)]) == 2
