"""docs/families.md's table of where each family lives matches the registries of every wing."""
from __future__ import annotations

import inspect
import re
from pathlib import Path

from desktop.runtime.translators import RUNTIME_TRANSLATORS
from devkit.bundle_factory import TINY_BUNDLE_FAMILIES
from export.registry import EXPORTERS
from trainer.families import TRAINING_FAMILIES

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ("trainer", "exporter", "runtime translator", "tiny test bundle")


def doc_table() -> dict[str, dict[str, str]]:
    """family -> column -> cell text, from the table that starts with ``| family | trainer |``."""
    lines = (REPO / "docs" / "families.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| family | trainer |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    assert tuple(header[1:]) == COLUMNS, header
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(COLUMNS, cells[1:], strict=True))
    return rows


def defining_file(obj: object) -> str:
    cls = obj if inspect.isclass(obj) else type(obj)
    return Path(inspect.getsourcefile(cls)).resolve().relative_to(REPO).as_posix()


def documented_file(cell: str) -> str | None:
    match = re.fullmatch(r"`([^`]+\.py)`", cell)
    return match.group(1) if match else None


def test_table_lists_every_registered_family():
    table = doc_table()
    registered = {*TRAINING_FAMILIES, *EXPORTERS, *RUNTIME_TRANSLATORS, *TINY_BUNDLE_FAMILIES}
    assert registered <= set(table), f"families missing from docs/families.md: {sorted(registered - set(table))}"


def test_each_column_names_the_file_its_registry_holds():
    table = doc_table()
    for column, registry in (("trainer", TRAINING_FAMILIES), ("exporter", EXPORTERS),
                             ("runtime translator", RUNTIME_TRANSLATORS)):
        documented = {family: documented_file(row[column]) for family, row in table.items()}
        assert {f for f, path in documented.items() if path} == set(registry), column
        for family, entry in registry.items():
            assert defining_file(entry) == documented[family], (column, family)
            assert (REPO / documented[family]).is_file()


def test_tiny_bundle_column_matches_the_factory():
    table = doc_table()
    assert {f for f, row in table.items() if row["tiny test bundle"] == "yes"} == set(TINY_BUNDLE_FAMILIES)
