"""The resolved form of every shipped config (and of a config giving only the family) is pinned: moving
defaults between the loop and the families must not change what a run trains.

The snapshot was written by the code before the defaults moved (``snapshots/resolved_configs.json``);
comparing the JSON text also tells ``1`` from ``1.0``. A new setting whose default keeps what runs trained
(``model.style_enc_dim = 0``: MUNIT's style encoder as wide as ``dim``) and new shipped configs are added to
it. The MUNIT entries also gained the example-guided switches (``ref_*_w``, ``style_prior_w``: 0.0, off, in every
config but ``munit_cpu_ref``) and ``model.up_kernel`` (5, the official decoder; 3 in ``distill_munit_cpu``, whose
student was made cheaper on purpose), and the TUNIT entries ``data.view_grayscale = 0.0`` (the official second views).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from trainer.config import load_config, resolve_config, shipped_configs

SNAPSHOT = json.loads((Path(__file__).parent / "snapshots" / "resolved_configs.json").read_text(encoding="utf-8"))


def as_text(config: dict) -> str:
    return json.dumps(config, indent=1, sort_keys=True)


def test_the_snapshot_covers_every_shipped_config():
    assert sorted(k for k in SNAPSHOT if not k.startswith("(defaults)")) == shipped_configs()


@pytest.mark.parametrize("name", shipped_configs())
def test_shipped_config_resolves_as_before(name):
    assert as_text(resolve_config(load_config(name))) == as_text(SNAPSHOT[name])


@pytest.mark.parametrize("family", ["munit", "tunit", "ugatit"])
def test_family_defaults_resolve_as_before(family):
    assert as_text(resolve_config({"model": {"family": family}})) == as_text(SNAPSHOT[f"(defaults) {family}"])
