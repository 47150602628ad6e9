"""What a model can do, read once from its family spec and its bundle (the CLI and the UI ask this,
never the family's name or the bundle's style section)."""
from __future__ import annotations

from dataclasses import dataclass

from ..bundle import Bundle


@dataclass(frozen=True)
class Capabilities:
    """The controls a model supports. ``style_dim`` is 0 for models without style."""

    styles: bool  # the output depends on a style code: style choices, style mixing
    random_styles: bool  # codes can be drawn from a prior (random styles, several per input)
    reference_styles: bool  # the style of a reference image can be used
    typical_style: bool  # the target's typical (mean) style is known
    attention_map: bool  # each result carries an attention heatmap
    clusters_as_domains: bool  # the domains are clusters the model discovered; any image is a source
    style_dim: int = 0


def capabilities_of(bundle: Bundle) -> Capabilities:
    """The capabilities of ``bundle`` (no session is opened: the model list can show them too)."""
    spec = bundle.family_spec
    style = bundle.style if spec.has_style else None
    return Capabilities(
        styles=style is not None,
        random_styles=style is not None and style.prior == "normal",
        reference_styles=style is not None,
        typical_style=style is not None,
        attention_map=spec.attention_map,
        clusters_as_domains=spec.any_source,
        style_dim=style.dim if style is not None else 0,
    )
