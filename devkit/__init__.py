"""Test tooling: tiny real bundles (``bundle_factory``, needs torch) and their onnx mutants (``bundle_mutants``).

For tests, scripts and benchmarks only; the app never imports it.
"""
