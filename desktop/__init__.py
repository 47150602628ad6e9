"""i2i Studio's desktop side: the torch-free runtime (``desktop.runtime``), the ``i2i`` CLI
(``desktop.cli``) and the PySide6 app (``desktop.ui``)."""

__version__ = "0.1.0"
