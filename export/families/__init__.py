"""Per-family exporters, one module each; ``export/registry.py`` lists them."""
