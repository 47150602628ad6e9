"""The interface every family's translator offers, and what they share (sessions, timing, styles)."""
from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import onnxruntime as ort

from ..bundle import PRECISIONS, Bundle, BundleError, Direction, GraphSpec, check_session_io
from ..bundle.cache import discard as discard_extraction
from ..bundle.graph_policy import MAX_MODEL_PIXELS, check_contents, check_graph_file
from ..preprocess import Mode, Prepared, from_tensor, model_size, to_tensor
from ..providers import ProviderInfo, create_session, first_line
from ..selftest import check_self_test
from ..style import ExplicitStyle, MixStyle, RandomStyle, ReferenceStyle, StyleSource, TypicalStyle, mix_codes
from .capabilities import Capabilities, capabilities_of


class TranslationError(Exception):
    """A graph failed while translating; the message is one line."""


class GraphLoadError(BundleError):
    """onnxruntime could not create a session for a graph (a precision variant may fall back to fp32)."""


@dataclass
class TranslationResult:
    """One translated image and how long each stage took (milliseconds, in the order they ran)."""

    image: np.ndarray  # uint8 HxWx3, or HxWx4 when the input had alpha; the input's size
    timings: dict[str, float]
    heatmap: np.ndarray | None = None  # float32 HxW in [0, 1] (U-GAT-IT's attention), else None
    style: np.ndarray | None = None  # the style code used, float32 [D], else None

    @property
    def total_ms(self) -> float:
        return sum(self.timings.values())


@dataclass(frozen=True)
class Content:
    """An input encoded once and decoded with many styles (see :meth:`StyledTranslator.decode`)."""

    direction: str
    value: np.ndarray  # what the decoding graph takes: MUNIT's content code, TUNIT's input tensor
    prepared: Prepared
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Add the time spent in the block to ``timings[stage]`` (milliseconds)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0


class Graph:
    """An onnxruntime session for one bundle graph, fed by the manifest's input names."""

    def __init__(self, bundle: Bundle, spec: GraphSpec, provider: str, threads: int | None):
        self.spec = spec
        check_graph_file(bundle, spec)  # before onnxruntime reads it: operators, subgraphs, weight sizes
        try:
            self.session, self.provider_info = create_session(bundle.graph_path(spec), provider, threads)
        except Exception as exc:  # noqa: BLE001  onnxruntime's own exception types
            raise GraphLoadError(f"{bundle.source}: graph {spec.file} cannot be loaded ({first_line(exc)})") \
                from None
        check_session_io(bundle, spec, self.session)
        self._input_names = [t.name for t in spec.inputs]
        self._run_options = ort.RunOptions()
        self._run_options.log_severity_level = 4  # a failing node is reported once, as TranslationError

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        feed = {name: np.ascontiguousarray(x, dtype=np.float32)
                for name, x in zip(self._input_names, inputs, strict=False)}
        try:
            outputs = self.session.run(None, feed, self._run_options)
        except Exception as exc:  # noqa: BLE001
            raise TranslationError(f"{self.spec.file} failed: {first_line(exc)}") from None
        for spec, value in zip(self.spec.outputs, outputs, strict=False):
            if not np.isfinite(value).all():
                raise TranslationError(f"{self.spec.file} produced NaN or infinite values in {spec.name}")
        return outputs


class Translator:
    """Runs one bundle. Subclasses (one per family, see ``translators/__init__.py``) open their graphs
    in :meth:`_open_graphs`, warm them up in :meth:`_warm_up` and implement :meth:`translate`.
    What the model supports (styles, attention map...) is :attr:`capabilities`."""

    family: ClassVar[str]

    def __init__(self, bundle: Bundle, provider: str = "auto", precision: str = "fp32", threads: int | None = None):
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r} (choose from {', '.join(PRECISIONS)})")
        self.bundle = bundle
        self.capabilities: Capabilities = capabilities_of(bundle)
        self.requested_precision = precision
        self._provider, self._threads = provider, threads
        self._graphs: dict[tuple[str, str | None, str | None], Graph] = {}
        try:
            self._open_checked()
        except BundleError:
            discard_extraction(bundle.path)  # a refused archive leaves nothing in the cache
            raise

    def _open_checked(self) -> None:
        """Check the contents, open every graph, warm up and run the export-time self-test."""
        bundle = self.bundle
        check_contents(bundle)
        self._open_graphs()
        used = {g.spec.precision for g in self._graphs.values()}
        self.precision = used.pop() if len(used) == 1 else "mixed"
        self.precision_note = None if self.precision == self.requested_precision else \
            f"{self.requested_precision} is not available for every graph; using {self.precision}"
        infos = [g.provider_info for g in self._graphs.values()]
        self.provider_info: ProviderInfo = next((i for i in infos if i.fell_back), infos[0])
        try:
            self._warm_up()
            self.self_test = check_self_test(self)  # a line for --check and About
        except (TranslationError, ValueError) as exc:
            raise BundleError(f"{bundle.source}: cannot translate ({exc})") from None

    @property
    def directions(self) -> list[Direction]:
        return self.bundle.directions

    def _open(self, role: str, *, domain: str | None = None, direction: str | None = None) -> None:
        """Create the session for a role at the requested precision (fp32 if the variant is missing or fails)."""
        spec = self.bundle.graph(role, domain=domain, direction=direction, precision=self.requested_precision)
        try:
            graph = Graph(self.bundle, spec, self._provider, self._threads)
        except GraphLoadError:
            if spec.precision == "fp32":
                raise
            graph = Graph(self.bundle, self.bundle.graph(role, domain=domain, direction=direction),
                          self._provider, self._threads)
        self._graphs[(role, domain, direction)] = graph

    def _graph(self, role: str, *, domain: str | None = None, direction: str | None = None) -> Graph:
        return self._graphs[(role, domain, direction)]

    def _prepare(self, image: np.ndarray, mode: Mode = "fit") -> Prepared:
        """:func:`to_tensor`, refused before any work when the graph would run above :data:`MAX_MODEL_PIXELS`."""
        if image.ndim >= 2:
            height, width = model_size(self.bundle.image, image.shape[0], image.shape[1], mode)
            if height * width > MAX_MODEL_PIXELS:
                raise TranslationError(f"{self.bundle.name} would run at {width}x{height}, above the "
                                       f"{MAX_MODEL_PIXELS / 1e6:.1f} Mpx limit; use fit mode or a smaller image")
        return to_tensor(image, self.bundle.image, mode)

    def _check_array_shape(self, role: str, shape: tuple[int, ...], domain: str | None = None) -> None:
        """Refuse a stored array whose shape does not fit the graphs (e.g. a style dim they do not take)."""
        actual = next(tuple(a.shape) for a in self.bundle.arrays if a.role == role and a.domain == domain)
        if actual != shape:
            raise BundleError(f"{self.bundle.source}: array {role} is {list(actual)}, the graphs need {list(shape)}")

    def _blank_input(self) -> np.ndarray:
        """A normalised grey image at the "fit" size, for warm-up runs."""
        h, w = model_size(self.bundle.image, self.bundle.image.train_size, self.bundle.image.train_size, "fit")
        return to_tensor(np.full((h, w, 3), 128, np.uint8), self.bundle.image).tensor

    def _open_graphs(self) -> None:
        raise NotImplementedError

    def _warm_up(self) -> None:
        raise NotImplementedError

    def translate(self, image: np.ndarray, direction: str, style: StyleSource | None = None,
                  mode: Mode = "fit") -> TranslationResult:
        """Translate a uint8 RGB/RGBA image in ``direction`` (style ignored by families without style)."""
        raise NotImplementedError

    def translate_many(self, image: np.ndarray, direction: str, styles: Sequence[StyleSource | None],
                       mode: Mode = "fit") -> list[TranslationResult]:
        """Translate ``image`` once per style (None: a random style), in order. A model without style
        (``capabilities.styles`` false) translates once: the list holds one result, whatever ``styles`` is."""
        return [self.translate(image, direction, mode=mode)]


class StyledTranslator(Translator):
    """Families whose output depends on (content, style code): the input is encoded once and decoded
    with as many styles as wanted. Subclasses supply the graph calls (``_content``, ``_generate``,
    ``_reference_code``) and the style codes the family knows (``_random_code``, ``_typical_code``, and
    ``_typical_codes`` where it has several typical styles)."""

    @property
    def style_dim(self) -> int:
        return self.capabilities.style_dim

    def translate(self, image: np.ndarray, direction: str, style: StyleSource | None = None,
                  mode: Mode = "fit") -> TranslationResult:
        return self.translate_many(image, direction, [style], mode)[0]

    def translate_many(self, image: np.ndarray, direction: str, styles: Sequence[StyleSource | None],
                       mode: Mode = "fit") -> list[TranslationResult]:
        """The input is preprocessed and encoded once (those stages are in the first result's timings),
        then decoded with each style."""
        if not styles:
            raise ValueError("no styles to translate with")
        content = self.encode_content(image, direction, mode)
        results = []
        for style in styles:
            timings: dict[str, float] = {}
            with timed(timings, "style"):
                code = self.style_code(style if style is not None else RandomStyle(), direction)
            result = self.decode(content, code)
            result.timings = {**timings, **result.timings}
            results.append(result)
        results[0].timings = {**content.timings, **results[0].timings}
        return results

    def encode_content(self, image: np.ndarray, direction: str, mode: Mode = "fit") -> Content:
        """Preprocess and encode ``image`` once for ``direction``; decode it with :meth:`decode`."""
        d = self.bundle.direction(direction)
        timings: dict[str, float] = {}
        with timed(timings, "preprocess"):
            prepared = self._prepare(image, mode)
        with timed(timings, "content"):
            value = self._content(prepared.tensor, d)
        return Content(direction=d.id, value=value, prepared=prepared, timings=timings)

    def decode(self, content: Content, code: np.ndarray) -> TranslationResult:
        """Only the decoding graph runs: ``content`` with the style ``code`` (float32 [D])."""
        d = self.bundle.direction(content.direction)
        code = self._checked_code(code)
        timings: dict[str, float] = {}
        with timed(timings, "decode"):
            out = self._generate(content.value, code, d)
        with timed(timings, "postprocess"):
            image = from_tensor(out, self.bundle.image, content.prepared)
        return TranslationResult(image=image, timings=timings, style=code)

    def style_code(self, source: StyleSource, direction: str) -> np.ndarray:
        """The float32 ``[D]`` code a style source stands for, when translating in ``direction``."""
        d = self.bundle.direction(direction)
        if isinstance(source, MixStyle):
            codes = [p if isinstance(p, np.ndarray) else self.style_code(p, direction) for p in source.codes]
            return mix_codes([self._checked_code(c) for c in codes], source.weights)
        handlers = {
            RandomStyle: lambda s: self._random_code(s.seed, d),
            ReferenceStyle: lambda s: self._reference_code(self._prepare(s.image).tensor, d),
            ExplicitStyle: lambda s: s.code,
            TypicalStyle: lambda s: self._typical_code(d),
        }
        if type(source) not in handlers:
            raise TypeError(f"not a style source: {source!r}")
        return self._checked_code(handlers[type(source)](source))

    def typical_codes(self, direction: str) -> np.ndarray:
        """The target's typical styles, float32 ``[P, D]``, the most typical first (:class:`TypicalStyle`'s code):
        MUNIT's style presets (one code for bundles without them), TUNIT's cluster style."""
        return np.stack([self._checked_code(c) for c in self._typical_codes(self.bundle.direction(direction))])

    def _checked_code(self, code: np.ndarray) -> np.ndarray:
        code = np.asarray(code, np.float32).reshape(-1)
        if code.shape != (self.style_dim,):
            raise ValueError(f"a style code for {self.bundle.name} has {self.style_dim} values, not {code.size}")
        if not np.isfinite(code).all():
            raise ValueError("a style code holds NaN or infinite values")
        return code

    def _content(self, tensor: np.ndarray, direction: Direction) -> np.ndarray:
        raise NotImplementedError

    def _generate(self, content: np.ndarray, code: np.ndarray, direction: Direction) -> np.ndarray:
        raise NotImplementedError

    def _reference_code(self, tensor: np.ndarray, direction: Direction) -> np.ndarray:
        raise NotImplementedError

    def _random_code(self, seed: int | None, direction: Direction) -> np.ndarray:
        raise NotImplementedError

    def _typical_code(self, direction: Direction) -> np.ndarray:
        raise NotImplementedError

    def _typical_codes(self, direction: Direction) -> np.ndarray:
        return self._typical_code(direction)[None]
