"""Execution-provider choice and fallback reporting, with real onnxruntime sessions."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from desktop.runtime import providers
from desktop.runtime.providers import (
    PROVIDERS,
    ProviderInfo,
    available_providers,
    choose_provider,
    create_session,
    session_options,
)


@pytest.fixture()
def graph(tiny_bundles):
    return tiny_bundles["ugatit"] / "a2b_generator.onnx"


def test_available_providers_in_preference_order():
    found = available_providers()
    assert "cpu" in found and found[-1] == "cpu"
    order = list(PROVIDERS)
    assert [order.index(p) for p in found] == sorted(order.index(p) for p in found)
    assert {PROVIDERS[p] for p in found} <= set(ort.get_available_providers())


def test_auto_picks_the_best_available(graph):
    session, info = create_session(graph)
    assert info == ProviderInfo(requested="auto", active=available_providers()[0])
    assert not info.fell_back
    out = session.run(None, {"image": np.zeros((1, 3, 16, 16), np.float32)})
    assert out[0].shape == (1, 3, 16, 16)


def test_cpu_requested(graph):
    _, info = create_session(graph, provider="CPU")
    assert info.active == "cpu" and info.fallback_reason is None and info.describe() == "cpu"


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="needs a build without CUDA")
def test_cuda_missing_falls_back_and_says_why(graph):
    session, info = create_session(graph, provider="cuda")
    assert info.requested == "cuda" and info.active == "cpu" and info.fell_back
    assert "cuda is not available in this onnxruntime build" in info.fallback_reason
    assert 'i2i-studio[cuda]' in info.fallback_reason
    assert "asked for cuda" in info.describe()
    assert session.get_providers() == ["CPUExecutionProvider"]


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="needs a build without CUDA")
def test_provider_listed_but_not_initialised_is_detected(graph, monkeypatch):
    """onnxruntime itself drops a provider it cannot start; the active one is read back from the session."""
    monkeypatch.setattr(providers.ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert choose_provider("auto") == ("cuda", None)
    with pytest.warns(UserWarning, match="not in available provider"):
        _, info = create_session(graph)
    assert info.active == "cpu" and "could not initialise cuda" in info.fallback_reason


def test_provider_that_fails_to_start_falls_back(graph, monkeypatch):
    real = ort.InferenceSession

    def failing(path, sess_options=None, providers=None):
        if providers and providers[0] != "CPUExecutionProvider":
            raise RuntimeError("DirectML device removed\nmore detail")
        return real(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(providers.ort, "get_available_providers",
                        lambda: ["DmlExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(providers.ort, "InferenceSession", failing)
    _, info = create_session(graph, provider="directml")
    assert info.active == "cpu"
    assert info.fallback_reason == "directml failed to start (DirectML device removed)"


def test_unknown_provider(graph):
    with pytest.raises(ValueError, match="unknown provider 'tpu'"):
        create_session(graph, provider="tpu")


def test_session_options_are_deliberate():
    opts = session_options(threads=2)
    assert opts.intra_op_num_threads == 2 and opts.inter_op_num_threads == 1
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert session_options(provider="directml").enable_mem_pattern is False
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
