"""Developer tools shared by tests, harnesses and benchmarks: tiny real bundles and their mutants (needs torch and onnx; never imported by the app)."""
