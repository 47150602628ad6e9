"""The model families a bundle may hold: which graphs and arrays each needs, and its translator class.

The role tables are plain data so that bundle validation can use them; translator classes register
themselves here with :func:`register_translator` (see ``desktop/runtime/translators/``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, TypeVar

Scope = Literal["domain", "direction", "bundle"]


@dataclass(frozen=True)
class RoleSpec:
    """A graph (or array) role and what it is per: each domain, each direction, or once per bundle."""

    role: str
    per: Scope


@dataclass(frozen=True)
class FamilySpec:
    """What a family's bundle must contain."""

    name: str
    graphs: tuple[RoleSpec, ...]
    required_arrays: tuple[RoleSpec, ...] = ()
    optional_arrays: tuple[RoleSpec, ...] = ()
    has_style: bool = True
    any_source: bool = False  # directions use source "*" (TUNIT: any image can be translated)


FAMILIES: dict[str, FamilySpec] = {
    spec.name: spec
    for spec in (
        FamilySpec(
            name="munit",
            graphs=(
                RoleSpec("content_encoder", "domain"),
                RoleSpec("style_encoder", "domain"),
                RoleSpec("decoder", "domain"),
            ),
            optional_arrays=(RoleSpec("style_mean", "domain"), RoleSpec("style_cov", "domain")),
        ),
        FamilySpec(
            name="ugatit",
            graphs=(RoleSpec("generator", "direction"),),
            has_style=False,
        ),
        FamilySpec(
            name="tunit",
            graphs=(RoleSpec("guiding", "bundle"), RoleSpec("generator", "bundle")),
            required_arrays=(RoleSpec("cluster_styles", "bundle"),),
            any_source=True,
        ),
    )
}

TRANSLATORS: dict[str, type] = {}

T = TypeVar("T", bound=type)


def register_translator(family: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` the translator for ``family`` (which must be in :data:`FAMILIES`)."""

    def register(cls: T) -> T:
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}")
        TRANSLATORS[family] = cls
        return cls

    return register
