"""The app and the CLI never import torch: everything they use runs with torch made unimportable."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO

APP_MODULES = [
    "desktop.cli", "desktop.cli.batch", "desktop.cli.translate", "desktop.runtime.live", "desktop.runtime.face",
    "desktop.runtime.mixcanvas", "desktop.runtime.batch", "desktop.runtime.recorder", "desktop.ui.main_window",
]


def test_app_modules_and_a_translation_run_without_torch(tiny_bundles, shared_data):
    sample = next((shared_data / "cat2dog" / "testB").glob("*.jpg"))
    code = "\n".join([
        "import sys, importlib",
        "sys.modules['torch'] = None  # any 'import torch' now raises ImportError",
        *[f"importlib.import_module({name!r})" for name in APP_MODULES],
        "from i2i_common.images import read_image",
        "from desktop.runtime.style import RandomStyle",
        "from desktop.runtime.translators import open_translator",
        f"tr = open_translator({str(tiny_bundles['munit'])!r})",
        f"res = tr.translate(read_image({str(sample)!r}), 'b2a', style=RandomStyle(seed=1))",
        "print(res.image.shape, res.image.dtype)",
    ])
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(256, 256, 3) uint8"
