"""onnxruntime execution providers: what this build offers, which one to use, and what really runs.

A session is created with the preferred provider plus the CPU as an explicit fallback. Which provider
is active afterwards is read back from the session (``session.get_providers()``), and any difference
from the request is reported with its reason in :class:`ProviderInfo`: never a silent CPU fallback.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import onnxruntime as ort

# user-facing name -> onnxruntime provider, in order of preference
PROVIDERS: dict[str, str] = {
    "cuda": "CUDAExecutionProvider",
    "directml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
EXTRAS = {"cuda": "cuda", "directml": "directml", "cpu": "cpu"}
AUTO = "auto"


@dataclass(frozen=True)
class ProviderInfo:
    """What was asked for, what is active, and why they differ (``None`` when they do not)."""

    requested: str
    active: str
    fallback_reason: str | None = None

    @property
    def fell_back(self) -> bool:
        return self.fallback_reason is not None

    def describe(self) -> str:
        """One line for status bars and logs."""
        if self.fallback_reason:
            return f"{self.active} (asked for {self.requested}: {self.fallback_reason})"
        return self.active


def available_providers() -> list[str]:
    """The providers this onnxruntime build offers, by user-facing name, in preference order."""
    offered = set(ort.get_available_providers())
    return [name for name, ep in PROVIDERS.items() if ep in offered]


def choose_provider(requested: str = AUTO) -> tuple[str, str | None]:
    """The provider to try for ``requested`` ("auto" or a name), and why it is not the one asked for."""
    requested = requested.lower()
    if requested != AUTO and requested not in PROVIDERS:
        raise ValueError(f"unknown provider {requested!r} (choose from auto, {', '.join(PROVIDERS)})")
    available = available_providers()
    if requested == AUTO:
        return available[0], None
    if requested in available:
        return requested, None
    extra = EXTRAS.get(requested)
    hint = f' (install "i2i-studio[{extra}]" instead of the other onnxruntime extras)' if extra else ""
    return "cpu", f"{requested} is not available in this onnxruntime build{hint}"


def session_options(threads: int | None = None, provider: str = "cpu") -> ort.SessionOptions:
    """Session options chosen on purpose: full graph optimisation, sequential execution,
    ``threads`` intra-op threads (default: all cores), no busy-waiting, warnings only in the log."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = threads if threads and threads > 0 else (os.cpu_count() or 1)
    opts.inter_op_num_threads = 1
    # Idle intra-op threads sleep instead of spinning: the app runs capture, UI and writer threads beside
    # inference, and on a 2-core machine spinning made the shipped model 1.6x slower (60 vs 100 ms, 256 px).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    if provider == "directml":  # DirectML does not support memory patterns or parallel execution
        opts.enable_mem_pattern = False
    return opts


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (onnxruntime's run to many lines)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _provider_name(ep: str) -> str:
    return next((name for name, value in PROVIDERS.items() if value == ep), ep)


def create_session(path: str | os.PathLike, provider: str = AUTO,
                   threads: int | None = None) -> tuple[ort.InferenceSession, ProviderInfo]:
    """An inference session for the ONNX file at ``path`` and a report of the provider really used.

    The chosen provider is passed together with the CPU provider, so onnxruntime may fall back; if it
    does (or the provider cannot be created at all), the session still works on the CPU and
    ``ProviderInfo.fallback_reason`` says why.
    """
    chosen, reason = choose_provider(provider)
    chain = [PROVIDERS[chosen]] + ([PROVIDERS["cpu"]] if chosen != "cpu" else [])
    try:
        session = ort.InferenceSession(str(path), sess_options=session_options(threads, chosen), providers=chain)
    except Exception as exc:  # noqa: BLE001  onnxruntime raises its own types for provider failures
        if chosen == "cpu":
            raise
        reason = f"{chosen} failed to start ({first_line(exc)})"
        chosen = "cpu"
        session = ort.InferenceSession(str(path), sess_options=session_options(threads, "cpu"),
                                       providers=[PROVIDERS["cpu"]])
    active = _provider_name(session.get_providers()[0])
    if active != chosen and reason is None:
        reason = f"onnxruntime could not initialise {chosen} (its libraries or driver are missing)"
    requested = provider.lower()
    return session, ProviderInfo(requested=requested, active=active, fallback_reason=reason)
