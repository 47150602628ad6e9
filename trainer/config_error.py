"""The one error a config can raise, in its own module so that families can raise it too."""
from __future__ import annotations


class ConfigError(ValueError):
    """A config file or override that cannot be used."""
