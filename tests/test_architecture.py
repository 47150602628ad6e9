"""The one-way import rules between the wings, no import circles, no .py file over 400 lines (read with ast).

The rules: the app never needs torch or the other wings, the runtime never the
UI, the trainer never the exporter, the runtime or onnxruntime, the base package none of the wings; the runtime, UI,
CLI and base tests run without torch. Each failure names the file and line.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from import_graph import Import, cycles, imports_of, project_modules, python_files, within
from repo_paths import REPO

WINGS = ("desktop", "trainer", "export", "evaluation", "devkit")
LAYER_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (  # importer package -> what it never imports
    ("desktop", ("torch", "trainer", "export", "evaluation", "devkit")),
    ("desktop.runtime", ("desktop.ui", "desktop.cli", "PySide6")),
    ("trainer", ("export", "desktop", "evaluation", "onnxruntime", "PySide6")),
    ("export", ("desktop.ui", "desktop.cli", "evaluation", "PySide6")),
    ("evaluation", ("trainer", "export", "desktop.ui", "desktop.cli", "PySide6")),
    ("devkit", ("desktop.ui", "desktop.cli")),
    ("i2i_common", (*WINGS, "torch", "onnxruntime")),
)
TORCH_FREE_TESTS = ("tests/runtime", "tests/ui", "tests/cli", "tests/common",
                    "tests/conftest.py", "tests/repo_paths.py", "tests/batch_support.py", "tests/vcam_support.py",
                    "tests/ui/ui_support.py")
TORCH_FREE_TESTS_NEVER = ("torch", "trainer", "export", "evaluation", "devkit.bundle_factory")
MAX_LINES = 400


def project_imports(root: Path) -> list[Import]:
    modules = project_modules(root)
    return [imp for path in modules.values() for imp in imports_of(root, path, set(modules))]


def where(root: Path, imp: Import) -> str:
    return f"{imp.file.relative_to(root)}:{imp.line}"


def layer_violations(root: Path) -> list[str]:
    return sorted(f"{where(root, imp)}: {imp.importer} imports {imp.target} ({package} never imports {banned})"
                  for imp in project_imports(root) for package, never in LAYER_RULES if within(imp.importer, package)
                  for banned in never if within(imp.target, banned))


def torch_free_test_violations(root: Path) -> list[str]:
    files = [p for entry in TORCH_FREE_TESTS for p in
             ((root / entry,) if entry.endswith(".py") else python_files(root / entry)) if p.is_file()]
    modules = set(project_modules(root))
    return [f"{where(root, imp)}: imports {imp.target} (tests that run without torch never import {banned})"
            for path in sorted(set(files)) for imp in imports_of(root, path, modules)
            for banned in TORCH_FREE_TESTS_NEVER if within(imp.target, banned)]


def circles(root: Path) -> list[str]:
    return [" -> ".join(f"{e.importer} ({where(root, e)})" for e in circle) + f" -> {circle[0].importer}"
            for circle in cycles(project_imports(root))]


def long_files(root: Path) -> list[str]:
    found = []
    for path in python_files(root):
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_LINES:
            found.append(f"{path.relative_to(root)}:{MAX_LINES + 1}: {count} lines (at most {MAX_LINES})")
    return found


def test_wings_import_one_way():
    assert not (found := layer_violations(REPO)), "\n".join(found)


def test_runtime_ui_cli_and_base_tests_never_import_torch_or_its_wings():
    assert not (found := torch_free_test_violations(REPO)), "\n".join(found)


def test_no_import_circles():
    assert not (found := circles(REPO)), "import circles:\n" + "\n".join(found)


def test_no_python_file_over_400_lines():
    assert not (found := long_files(REPO)), "\n".join(found)


def test_every_project_package_is_scanned():
    modules = project_modules(REPO)
    assert {name.partition(".")[0] for name in modules} == {*WINGS, "i2i_common"}
    assert len(modules) > 100 and "desktop.runtime.bundle" in modules


# ---- each rule can fail: a small tree in tmp_path breaking every one of them


def write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def broken_tree(tmp_path) -> Path:
    for package in (*WINGS, "i2i_common", "desktop/runtime", "desktop/ui"):
        write(tmp_path, f"{package}/__init__.py")
    write(tmp_path, "devkit/bundle_factory.py")
    write(tmp_path, "desktop/ui/panel.py")
    write(tmp_path, "desktop/runtime/lazy.py",
          '"""Breaks two rules lazily and relatively."""\n\n\ndef f():\n    import torch\n    from ..ui import panel\n')
    write(tmp_path, "desktop/runtime/typed.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                                "    from desktop.ui.panel import Panel\n")
    write(tmp_path, "trainer/loop.py", "x = 1\nfrom onnxruntime.quantization import quantize_dynamic\n")
    write(tmp_path, "i2i_common/images.py", "from desktop.runtime import lazy\n")
    write(tmp_path, "export/registry.py", "from .families import munit\n")
    write(tmp_path, "export/families/__init__.py", "from . import munit\n")
    write(tmp_path, "export/families/munit.py", "def f():\n    from ..registry import exporter_for\n")
    write(tmp_path, "evaluation/a.py", "from evaluation import b\n")
    write(tmp_path, "evaluation/b.py", "from .a import name\n")
    write(tmp_path, "tests/runtime/test_x.py", "import numpy\nfrom devkit import bundle_factory\n")
    write(tmp_path, "tests/conftest.py", "import torch.nn\n")
    write(tmp_path, "scripts/long.py", "x = 1\n" * (MAX_LINES + 1))
    write(tmp_path, "scripts/ok.py", "x = 1\n" * MAX_LINES)
    return tmp_path


def test_layer_rules_fail_on_lazy_relative_and_type_checking_imports(broken_tree):
    assert layer_violations(broken_tree) == [
        "desktop/runtime/lazy.py:5: desktop.runtime.lazy imports torch (desktop never imports torch)",
        "desktop/runtime/lazy.py:6: desktop.runtime.lazy imports desktop.ui.panel "
        "(desktop.runtime never imports desktop.ui)",
        "desktop/runtime/typed.py:3: desktop.runtime.typed imports desktop.ui.panel "
        "(desktop.runtime never imports desktop.ui)",
        "i2i_common/images.py:1: i2i_common.images imports desktop.runtime.lazy (i2i_common never imports desktop)",
        "trainer/loop.py:2: trainer.loop imports onnxruntime.quantization (trainer never imports onnxruntime)",
    ]


def test_torch_free_test_rule_fails(broken_tree):
    assert torch_free_test_violations(broken_tree) == [
        "tests/conftest.py:1: imports torch.nn (tests that run without torch never import torch)",
        "tests/runtime/test_x.py:2: imports devkit.bundle_factory "
        "(tests that run without torch never import devkit.bundle_factory)",
    ]


def test_circles_are_found_through_packages_and_lazy_imports(broken_tree):
    assert circles(broken_tree) == [
        "evaluation.a (evaluation/a.py:1) -> evaluation.b (evaluation/b.py:1) -> evaluation.a",
        "export.families.munit (export/families/munit.py:2) -> export.registry (export/registry.py:1)"
        " -> export.families.munit",
    ]


def test_long_file_rule_fails(broken_tree):
    assert long_files(broken_tree) == [f"scripts/long.py:{MAX_LINES + 1}: {MAX_LINES + 1} lines (at most 400)"]
