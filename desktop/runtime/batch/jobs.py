"""What a batch job is: its settings (stored as JSON in the queue) and the states jobs and files go through."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum


class JobState(str, Enum):
    """Life of a job in the queue."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"  # the job itself could not run (model missing, input folder gone)


class ItemState(str, Enum):
    """Life of one input file of a job."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


STYLE_KINDS = ("random", "typical", "code", "reference", "blend")


@dataclass(frozen=True)
class JobStyle:
    """How each image of a job gets its style code.

    - ``random``: a fresh prior draw per image, reproducible from ``seed`` and the file's path;
    - ``typical``: the target domain's typical style (MUNIT's stored mean, TUNIT's cluster style);
    - ``code``: one fixed code (``code``);
    - ``reference``: the code encoded from the image at ``reference``;
    - ``blend``: the weighted sum of ``codes`` with ``weights`` (e.g. the Mix canvas).
    Models without style ignore it.
    """

    kind: str = "random"
    seed: int = 0
    code: tuple[float, ...] = ()
    reference: str = ""
    codes: tuple[tuple[float, ...], ...] = ()
    weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in STYLE_KINDS:
            raise ValueError(f"unknown style kind {self.kind!r}; choose one of {', '.join(STYLE_KINDS)}")
        if self.kind == "code" and not self.code:
            raise ValueError("style kind 'code' needs a code")
        if self.kind == "reference" and not self.reference:
            raise ValueError("style kind 'reference' needs a reference image path")
        if self.kind == "blend" and (not self.codes or len(self.codes) != len(self.weights)):
            raise ValueError("style kind 'blend' needs codes and as many weights")


OUTPUT_FORMATS = ("png", "jpg")
PATTERN_FIELDS = ("stem", "ext", "direction", "model", "source_ext")


@dataclass(frozen=True)
class JobSpec:
    """Everything the user chose for one batch job. Paths are stored as strings (JSON-friendly)."""

    input_dir: str
    output_dir: str
    model: str  # a bundle name (installed or shipped) or a path to a bundle folder / .i2i file
    direction: str
    style: JobStyle = field(default_factory=JobStyle)
    recursive: bool = False
    output_format: str = "png"
    pattern: str = "{stem}_{direction}.{ext}"
    keep_structure: bool = True
    skip_existing: bool = False
    shard: tuple[int, int] = (1, 1)  # (k, n): this job covers the k-th of n shards, 1-based
    provider: str = "auto"
    include_outputs: bool = False  # also translate files that earlier jobs of the queue wrote

    def __post_init__(self) -> None:
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {self.output_format!r}; choose png or jpg")
        k, n = self.shard
        if not (n >= 1 and 1 <= k <= n):
            raise ValueError(f"shard must be K/N with 1 <= K <= N, got {k}/{n}")
        try:
            self.pattern.format(**{name: "x" for name in PATTERN_FIELDS})
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"bad naming pattern {self.pattern!r}: use the fields {', '.join(PATTERN_FIELDS)}"
            ) from exc
        if "/" in self.pattern or "\\" in self.pattern:
            raise ValueError("the naming pattern names a file, it must not contain folder separators")

    def to_json(self) -> str:
        # ASCII escapes keep any file name (even one that is not valid UTF-8) storable as SQLite text
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=True)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        data = json.loads(text)
        style = data.pop("style")
        style["code"] = tuple(style.get("code", ()))
        style["codes"] = tuple(tuple(c) for c in style.get("codes", ()))
        style["weights"] = tuple(style.get("weights", ()))
        data["shard"] = tuple(data["shard"])
        return cls(style=JobStyle(**style), **data)
