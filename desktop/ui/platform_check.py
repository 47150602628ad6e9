"""Checks run before Qt starts, so a missing display or missing X libraries give a clear message
instead of Qt's "could not load the Qt platform plugin" abort."""
from __future__ import annotations

import ctypes.util
import os
import sys

# shared library name (as ctypes.util.find_library spells it) -> Debian/Ubuntu package providing it.
# These are what the xcb platform plugin of the PySide6 wheel loads and a fresh Debian lacks.
XCB_LIBRARIES: dict[str, str] = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-shape": "libxcb-shape0",
    "xcb-image": "libxcb-image0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-randr": "libxcb-randr0",
    "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
}


def missing_xcb_packages(find_library=ctypes.util.find_library) -> list[str]:
    """Debian packages whose libraries the Qt xcb plugin needs but that cannot be found."""
    return [package for lib, package in XCB_LIBRARIES.items() if find_library(lib) is None]


def display_problem(environ=os.environ, platform: str = sys.platform,
                    find_library=ctypes.util.find_library) -> str | None:
    """A one-line explanation of why no Qt window can open here, or None when it looks fine.

    Only Linux (and other X11/Wayland systems) is checked; an explicit QT_QPA_PLATFORM is trusted.
    """
    if not platform.startswith(("linux", "freebsd", "openbsd")) or environ.get("QT_QPA_PLATFORM"):
        return None
    if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        return ("no display found: neither DISPLAY nor WAYLAND_DISPLAY is set; "
                "run inside a desktop session, or set QT_QPA_PLATFORM=offscreen for headless use")
    if environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        missing = missing_xcb_packages(find_library)
        if missing:
            return ("the Qt xcb platform plugin needs X libraries that are not installed; "
                    f"install them with: sudo apt-get install {' '.join(missing)}")
    return None
