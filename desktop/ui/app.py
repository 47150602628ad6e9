"""Entry point of the desktop app (`i2i-studio`)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Start the app; on a machine where no window can open, say why in one line instead of aborting."""
    from .platform_check import display_problem

    problem = display_problem()
    if problem:
        print(f"i2i-studio: {problem}", file=sys.stderr)
        return 2

    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .settings import APPLICATION, ORGANIZATION

    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    window = MainWindow()
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
