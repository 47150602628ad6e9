"""The model library: a shipped model is never hidden or replaced, renamed installs, install leftovers."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.runtime.bundle import (
    BundleError,
    BundleNameClash,
    find_bundles,
    install_bundle,
    load_bundle,
    resolve_bundle,
    suggest_free_name,
)
from desktop.runtime.bundle import install as install_mod
from desktop.runtime.paths import user_models_dir


@pytest.fixture()
def shipped(tiny_bundles, tmp_path, monkeypatch) -> Path:
    """A shipped-models folder holding tiny-munit."""
    folder = tmp_path / "shipped"
    shutil.copytree(tiny_bundles["munit"], folder / "tiny-munit")
    monkeypatch.setattr("desktop.runtime.paths.shipped_models_dir", lambda: folder)
    return folder


def test_shipped_name_is_never_taken(shipped, tiny_archives):
    for overwrite in (False, True):
        with pytest.raises(BundleNameClash, match="ships with the app") as info:
            install_bundle(tiny_archives["munit"], overwrite=overwrite)
        assert info.value.name == "tiny-munit" and info.value.shipped is True
    assert not user_models_dir().exists() or not any(user_models_dir().iterdir())
    assert suggest_free_name("tiny-munit") == "tiny-munit-2"
    mine = install_bundle(tiny_archives["munit"], rename_to="tiny-munit-2")
    assert mine.name == "tiny-munit-2" and mine.path == user_models_dir() / "tiny-munit-2"
    assert json.loads((mine.path / "manifest.json").read_text(encoding="utf-8"))["name"] == "tiny-munit-2"
    assert load_bundle(mine.path, check_graphs=True).name == "tiny-munit-2"
    assert suggest_free_name("tiny-munit") == "tiny-munit-3"
    assert [b.name for b in find_bundles().bundles] == ["tiny-munit", "tiny-munit-2"]
    with pytest.raises(BundleNameClash) as info:
        install_bundle(tiny_archives["ugatit"], rename_to="tiny-munit")  # renaming onto a shipped name
    assert info.value.shipped is True


def test_user_name_clash_and_overwrite(tiny_archives):
    install_bundle(tiny_archives["ugatit"])
    with pytest.raises(BundleNameClash, match="already installed") as info:
        install_bundle(tiny_archives["ugatit"])
    assert info.value.name == "tiny-ugatit" and info.value.shipped is False
    assert install_bundle(tiny_archives["ugatit"], overwrite=True).name == "tiny-ugatit"
    assert sorted(p.name for p in user_models_dir().iterdir()) == ["tiny-ugatit"]  # no .old-* / .install-*


@pytest.mark.parametrize("name", [".", "..", ".hidden", "a/b", "-x", "con", "x."])
def test_unusable_install_names(tiny_archives, name):
    with pytest.raises(BundleError, match="name"):
        install_bundle(tiny_archives["ugatit"], rename_to=name)
    assert not user_models_dir().exists() or not any(user_models_dir().iterdir())


def test_older_same_named_user_bundle_stays_reachable(shipped, tiny_bundles):
    user = Path(shutil.copytree(tiny_bundles["munit"], user_models_dir() / "tiny-munit"))
    scan = find_bundles()
    assert [(b.name, b.path) for b in scan.bundles] == [("tiny-munit", shipped / "tiny-munit"),
                                                         ("tiny-munit@user", user)]
    assert resolve_bundle("tiny-munit").path == shipped / "tiny-munit"
    assert resolve_bundle("tiny-munit@user").path == user
    assert resolve_bundle(user).path == user


def test_leftovers_of_a_killed_install_are_cleaned(tiny_bundles, tiny_archives):
    models = user_models_dir()
    aside = models / f"{install_mod.OLD_PREFIX}dead"  # killed between moving the old copy aside and the swap
    shutil.copytree(tiny_bundles["tunit"], aside / "tiny-tunit")
    half = models / f"{install_mod.INSTALL_PREFIX}dead"
    half.mkdir()
    (half / "manifest.json").write_text("{}", encoding="utf-8")
    long_ago = time.time() - 2 * install_mod.LEFTOVER_GRACE_S
    os.utime(half, (long_ago, long_ago))
    install_bundle(tiny_archives["ugatit"])
    assert sorted(p.name for p in models.iterdir()) == ["tiny-tunit", "tiny-ugatit"]
    assert load_bundle(models / "tiny-tunit").name == "tiny-tunit"  # the user's model is back, not lost


def test_cli_install_clash_and_rename(shipped, tiny_archives, capsys):
    assert main(["models", "--install", str(tiny_archives["munit"])]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "ships with the app" in err and "--as tiny-munit-2" in err
    assert main(["models", "--install", str(tiny_archives["munit"]), "--as", "my-munit"]) == 0
    assert "installed my-munit" in capsys.readouterr().out
    assert main(["models", "--install", str(tiny_archives["munit"]), "--as", "my-munit"]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny-munit  [munit]" in out and "my-munit  [munit]" in out
