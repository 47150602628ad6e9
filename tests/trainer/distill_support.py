"""Tiny distillation runs for the tests: a MUNIT teacher trained two iterations and the overrides that make
``distill_munit_cpu`` a tiny student of it (half the teacher's width, one residual block instead of two)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from trainer.config import load_config
from trainer.loop import train

from tiny_munit import TINY_MUNIT

TEACHER = [*TINY_MUNIT, "model.n_res=2", "train.iterations=2", "train.checkpoint_every=2", "train.ema=0.9",
           "train.sample_every=100"]
STUDENT = ["model.dim=4", "model.n_res=1", "model.mlp_dim=16", "model.style_n_downsample=2", "model.style_enc_dim=8",
           "model.dis_dim=8", "model.dis_n_layer=2", "model.dis_num_scales=2", "data.size=32", "data.load_size=36",
           "data.workers=0", "train.batch_size=1", "train.log_every=1", "train.sample_rows=2", "train.sample_styles=2",
           "train.sample_every=100"]


def train_teacher(data: Path, out: Path) -> Path:
    """A tiny MUNIT run folder (2 iterations, EMA kept) to distil."""
    train(load_config("munit_cpu", TEACHER), data, out, device="cpu", progress=False)
    return out


def student_config(teacher: Path, *overrides: str) -> dict[str, Any]:
    """``distill_munit_cpu`` made tiny, distilling ``teacher`` (a run folder or checkpoint file)."""
    return load_config("distill_munit_cpu", [*STUDENT, f"distill.teacher={teacher}", *overrides])

# family -> (shipped config, tiny teacher overrides, the student's differences): the other families' hooks
OTHER_FAMILIES = {
    "ugatit": ("ugatit_cpu",
               ["model.ngf=4", "model.n_res=2", "model.ndf=4", "model.dis_global_layers=4", "model.dis_local_layers=3",
                "data.size=32", "data.load_size=36", "data.workers=0", "train.batch_size=2", "train.log_every=1",
                "train.sample_rows=2", "train.sample_every=100", "train.ema=0.9"],
               ["model.ngf=2", "model.n_res=1"]),
    "tunit": ("tunit_cpu",
              ["model.img_size=32", "model.ngf=8", "model.ndf=8", "model.guide_width=8", "model.mlp_dim=16",
               "model.style_dim=16", "model.output_k=3", "model.dis_max_dim=16", "data.size=32", "data.load_size=32",
               "data.workers=0", "train.batch_size=4", "train.warmup_iterations=1", "train.queue_size=8",
               "train.log_every=1", "train.sample_rows=3", "train.sample_every=100"],
              ["model.ngf=4", "model.n_res=1"]),
}
