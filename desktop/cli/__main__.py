"""``python -m desktop.cli`` is the ``i2i`` command."""
from desktop.cli import main

raise SystemExit(main())
