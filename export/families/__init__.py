"""Per-family exporters; importing this package registers them (see export/registry.py)."""
from . import munit  # noqa: F401
