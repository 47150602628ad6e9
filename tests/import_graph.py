"""The project's imports read with ast (never executed): which module imports what, at which line.

Used by tests/test_architecture.py. Every import counts, at module level or inside a function, absolute or
relative; ``from pkg import name`` is an import of ``pkg.name`` when that is a project module and of ``pkg``
otherwise. Imports under ``if TYPE_CHECKING:`` are kept but marked as never run (they cannot close a circle).
"""
from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

PROJECT_PACKAGES = ("desktop", "trainer", "export", "evaluation", "i2i_common", "devkit")
SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", "build", "dist", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Import:
    """One imported module: ``file``:``line`` of ``importer`` (its dotted name) imports ``target``."""

    file: Path
    line: int
    importer: str
    target: str
    runs: bool = True  # False under ``if TYPE_CHECKING:``


def python_files(root: Path) -> list[Path]:
    """Every .py file under ``root``, skipping virtual environments, caches and build output."""
    return sorted(p for p in root.rglob("*.py")
                  if not any(part in SKIPPED_DIRS or part.endswith(".egg-info")
                             for part in p.relative_to(root).parts[:-1]))


def module_name(root: Path, path: Path) -> str:
    """Dotted module name of ``path`` relative to ``root`` (a package is named by its folder)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file of every module in the project packages under ``root``."""
    return {module_name(root, p): p for package in PROJECT_PACKAGES if (root / package).is_dir()
            for p in python_files(root / package)}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Collector(ast.NodeVisitor):
    def __init__(self, root: Path, path: Path, modules: set[str]) -> None:
        self.path, self.modules = path, modules
        self.name = module_name(root, path)
        self.package = self.name if path.name == "__init__.py" else self.name.rpartition(".")[0]
        self.runs = True
        self.found: list[Import] = []

    def _add(self, node: ast.stmt, target: str) -> None:
        self.found.append(Import(self.path, node.lineno, self.name, target, self.runs))

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        runs, self.runs = self.runs, False
        for child in node.body:
            self.visit(child)
        self.runs = runs
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self.package.split(".") if self.package else []
            if node.level - 1 > len(anchor):
                raise ValueError(f"{self.path}:{node.lineno}: relative import above the top-level package")
            anchor = anchor[:len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        for alias in node.names:
            full = f"{base}.{alias.name}" if base else alias.name
            self._add(node, full if full in self.modules else base)


def imports_of(root: Path, path: Path, modules: set[str]) -> list[Import]:
    """Every import in ``path`` (``modules``: the project's dotted names, to tell modules from other names)."""
    collector = _Collector(root, path, modules)
    collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return collector.found


def within(name: str, prefix: str) -> bool:
    """Whether module ``name`` is ``prefix`` or inside it."""
    return name == prefix or name.startswith(prefix + ".")


def cycles(edges: list[Import]) -> list[list[Import]]:
    """One shortest circle through each strongly connected group of modules (run-time imports only)."""
    graph: dict[str, dict[str, Import]] = {}
    for edge in edges:
        if edge.runs:
            graph.setdefault(edge.importer, {}).setdefault(edge.target, edge)
    found = []
    for group in _strong_components(graph):
        start = min(group)
        if len(group) > 1 or start in graph.get(start, {}):
            found.append(_shortest_circle(graph, start, group))
    return sorted(found, key=lambda circle: circle[0].importer)


def _strong_components(graph: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (groups of modules that all reach each other)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, {})))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def _shortest_circle(graph: dict[str, dict[str, Import]], start: str, group: set[str]) -> list[Import]:
    came_from: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target, edge in sorted(graph.get(node, {}).items()):
            if target == start:
                path = [edge]
                while path[0].importer != start:
                    path.insert(0, came_from[path[0].importer])
                return path
            if target in group and target not in came_from:
                came_from[target] = edge
                queue.append(target)
    raise AssertionError(f"{start} is in a strongly connected group but no circle leads back to it")
