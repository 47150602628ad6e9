"""Style modes: the ways a style can be chosen in the app, each evaluated on its own.

A mode gives each input a list of style sources of the same length (one runtime ``translate_many``
call per input covers all modes, the input encoded once). Which modes a bundle gets follows from its
capabilities (:data:`MODES`, in report order; the first available one is the direction's headline):

- ``random``: N seeded draws from the prior per input (``--styles N``), seeds i*N .. i*N+N-1 for input i,
  so every output has its own code: one code decides much of a MUNIT output's look, and N codes shared by
  all inputs would make the figures depend on which N codes they are (docs/evaluation.md);
- ``typical``: the bundle's typical style of the target domain;
- ``reference``: the style of each of R real test images of the target domain (``--references R``);
- ``mix``: the equal blend of two references, the runtime's :class:`MixStyle` (what the Mix canvas makes
  with its handle halfway between two anchors), for every pair of references;
- ``fixed``: models without style translate each input one way.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from desktop.runtime.style import MixStyle, RandomStyle, ReferenceStyle, StyleSource, TypicalStyle
from desktop.runtime.translators.capabilities import Capabilities


@dataclass(frozen=True)
class ModePlan:
    """The styles of one mode and what the results grid shows of it."""

    name: str
    count: int  # styles per input
    styles_for: Callable[[int], list[StyleSource | None]]  # input index -> its ``count`` styles
    grid_columns: int  # how many of an input's outputs in this mode the grid shows (the first ones)
    grid_label: str


@dataclass(frozen=True)
class StyleMode:
    name: str
    available: Callable[[Capabilities], bool]
    plan: Callable[[int, Sequence[np.ndarray]], ModePlan]  # (random styles per input, reference images) -> plan


def _random(styles: int, _references: Sequence[np.ndarray]) -> ModePlan:
    return ModePlan("random", styles, lambda i: [RandomStyle(seed=i * styles + k) for k in range(styles)], styles,
                    f"{styles} random style{'s' if styles != 1 else ''}")


def _same(name: str, styles: list[StyleSource | None], label: str) -> ModePlan:
    """A mode giving every input the same ``styles``; the grid shows the first."""
    return ModePlan(name, len(styles), lambda _i: styles, 1, label)


def _typical(_styles: int, _references: Sequence[np.ndarray]) -> ModePlan:
    return _same("typical", [TypicalStyle()], "typical")


def _reference(_styles: int, references: Sequence[np.ndarray]) -> ModePlan:
    return _same("reference", [ReferenceStyle(image) for image in references], "reference 1")


def _mix(_styles: int, references: Sequence[np.ndarray]) -> ModePlan:
    pairs = combinations(range(len(references)), 2)
    return _same("mix", [MixStyle([ReferenceStyle(references[i]), ReferenceStyle(references[j])]) for i, j in pairs],
                 "mix of references 1+2")


def _fixed(_styles: int, _references: Sequence[np.ndarray]) -> ModePlan:
    return _same("fixed", [None], "translation")


MODES = (
    StyleMode("random", lambda caps: caps.random_styles, _random),
    StyleMode("typical", lambda caps: caps.typical_style, _typical),
    StyleMode("reference", lambda caps: caps.reference_styles, _reference),
    StyleMode("mix", lambda caps: caps.reference_styles, _mix),
    StyleMode("fixed", lambda caps: not caps.styles, _fixed),
)


def plans_for(capabilities: Capabilities, styles: int, references: Sequence[np.ndarray]) -> list[ModePlan]:
    """The plans of the modes ``capabilities`` allow, in :data:`MODES` order, leaving out empty ones
    (no random styles asked for, fewer than 2 references for a mix)."""
    plans = [mode.plan(styles, references) for mode in MODES if mode.available(capabilities)]
    return [plan for plan in plans if plan.count]


def pick_references(images: Sequence[np.ndarray], count: int) -> list[np.ndarray]:
    """``count`` images spread evenly over ``images`` (the first, the last and between), fewer if there are fewer."""
    if count <= 0 or not images:
        return []
    picks = np.unique(np.linspace(0, len(images) - 1, min(count, len(images))).round().astype(int))
    return [images[i] for i in picks]


def grid_title(source: str, target: str, plans: Sequence[ModePlan], attention: bool) -> str:
    """The grid section title naming its columns."""
    if attention:
        return f"{source} -> {target}: input, output, attention"
    return f"{source} -> {target}: input, " + ", ".join(plan.grid_label for plan in plans)
