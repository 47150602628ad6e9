"""Write an offscreen screenshot of each workspace of the desktop app to docs/screenshots/.

Uses the shipped default model when resources/models holds one; otherwise it builds the tiny untrained
test bundle (needs torch, like the tests) and the screenshots show it labelled "untrained placeholder".
Inputs are real images from ../shared/data. Nothing in the user's own data folder or settings is touched.
With ``--attention-model`` (a U-GAT-IT bundle) it also shows that model's attention map over selfies in File and
Live (``file-attention.png``, ``live-attention.png``). With ``--clusters-model`` (a TUNIT bundle) it shows the
Domains panel beside File, a cat photo rated against the model's clusters (``domains.png``); ``--cluster-names``
names clusters first, as a user would after looking at their exemplars.

    PYTHONPATH=. python scripts/screenshots.py [--data ../shared/data] [--out docs/screenshots]
        [--attention-model resources/models/selfie2anime-ugatit.i2i]
        [--clusters-model tiny-pets-tunit.i2i [--cluster-names c1=tabby,c3=dogs]]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def wait_until(app, condition, timeout_s: float = 60.0) -> None:
    """Process Qt events until `condition()` is true."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not reach the expected state in time")
        app.processEvents()
        time.sleep(0.01)


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def ensure_model(home: Path) -> None:
    """Install the tiny test bundle into the temporary user folder when no model is shipped."""
    from desktop.runtime.bundle import find_bundles
    from desktop.runtime.paths import user_models_dir

    if find_bundles().bundles:
        return
    from devkit.bundle_factory import build_bundle  # torch: only this developer script, never the app

    build_bundle("munit", user_models_dir() / "tiny-munit")


def make_video(frames_from: Path, path: Path, count: int = 45) -> Path:
    """A short clip panning across a real photo (stands in for a webcam)."""
    import cv2

    from i2i_common.images import read_image

    image = read_image(frames_from)[..., :3]
    h, w = image.shape[:2]
    size = (w * 3 // 4) // 4 * 4, (h * 3 // 4) // 4 * 4
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for i in range(count):
        x = (w - size[0]) * i // (count - 1)
        writer.write(cv2.cvtColor(image[:size[1], x:x + size[0]], cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def grab(window, tab, out: Path, name: str, app) -> Path:
    window.tabs.setCurrentWidget(tab)
    settle(app)
    path = out / f"{name}.png"
    window.grab().save(str(path), "PNG", 0)  # 0: smallest file (strongest zlib level)
    print(f"wrote {path}")
    return path


def install_unless_listed(bundle_path: Path) -> None:
    """Copy a bundle that is not shipped into the temporary user folder, so the model picker lists it."""
    from desktop.runtime.bundle import load_bundle
    from desktop.runtime.paths import user_models_dir
    from desktop.ui.session import list_models

    if any(e.name == load_bundle(bundle_path).name for e in list_models()):
        return
    user_models_dir().mkdir(parents=True, exist_ok=True)
    copy = shutil.copytree if bundle_path.is_dir() else shutil.copy
    copy(bundle_path, user_models_dir() / bundle_path.name)


def attention_screens(app, window, bundle_path: Path, data: Path, tmp: Path, out: Path) -> None:
    """File and Live with the attention map of ``bundle_path`` over the output (selfie -> anime)."""
    from desktop.runtime.bundle import load_bundle

    name = load_bundle(bundle_path).name
    selfies = sorted((data / "selfie2anime" / "testA").glob("*.jpg"))
    combo = window.bar.model_combo  # picked as a user picks it
    combo.setCurrentIndex(combo.findData(name))
    session = window.session
    wait_until(app, lambda: session.translator is not None and session.translator.bundle.name == name)
    file_tab = window.file
    file_tab.open_paths(selfies[:4])
    file_tab.files.setCurrentRow(file_tab.files.count() - 3)
    wait_until(app, lambda: file_tab.outputs and file_tab.outputs[0].heatmap is not None)
    file_tab.attention.show_map.setChecked(True)
    file_tab.attention.opacity.setValue(45)
    grab(window, file_tab, out, "file-attention", app)
    live = window.live
    window.tabs.setCurrentWidget(live)
    live.set_video(make_video(selfies[5], tmp / "selfie.mp4"))
    live.face_mode.setCurrentIndex(live.face_mode.findData("centre"))
    live.attention.show_map.setChecked(True)
    live.start()
    wait_until(app, lambda: live.frames_shown >= 10)
    grab(window, live, out, "live-attention", app)
    live.stop()


def domains_screen(app, window, bundle_path: Path, names: dict[str, str], data: Path, out: Path) -> None:
    """File with the Domains panel of ``bundle_path``: clusters named as given, the first named one the target,
    and a cat photo rated against every cluster."""
    from desktop.runtime.bundle import load_bundle

    name = load_bundle(bundle_path).name
    combo = window.bar.model_combo
    combo.setCurrentIndex(combo.findData(name))
    session, panel, file_tab = window.session, window.domains, window.file
    wait_until(app, lambda: session.translator is not None and session.translator.bundle.name == name)
    ids = [row.cluster.id for row in panel.rows]
    for domain, text in names.items():
        panel.rename(ids.index(domain), text)
    if names:
        panel.choose(ids.index(next(iter(names))))
    file_tab.open_paths(sorted((data / "cat2dog" / "testA").glob("*.jpg"))[:3])
    wait_until(app, lambda: panel.probabilities is not None and bool(file_tab.outputs))
    grab(window, file_tab, out, "domains", app)


def cluster_names(text: str) -> dict[str, str]:
    """"c1=tabby,c3=dogs" -> {"c1": "tabby", "c3": "dogs"}."""
    pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise argparse.ArgumentTypeError(f"expected ID=NAME,...: {text!r}")
    return {key.strip(): value.strip() for key, value in pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--attention-model", type=Path, help="a bundle with an attention map (U-GAT-IT)")
    parser.add_argument("--clusters-model", type=Path, help="a bundle whose domains are clusters (TUNIT)")
    parser.add_argument("--cluster-names", type=cluster_names, default={}, help="ID=NAME,... for --clusters-model")
    args = parser.parse_args(argv)
    cats = sorted((args.data / "cat2dog" / "testA").glob("*.jpg"))
    dogs = sorted((args.data / "cat2dog" / "testB").glob("*.jpg"))
    if not cats or not dogs:
        parser.error(f"no cat2dog test images under {args.data}")
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="i2i-screens-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ["I2I_STUDIO_HOME"] = str(tmp / "home")
        sys.path.insert(0, str(REPO))
        ensure_model(tmp / "home")
        for extra in (args.attention_model, args.clusters_model):
            if extra:
                install_unless_listed(extra)

        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from desktop.ui.main_window import MainWindow
        from desktop.ui.settings import Settings

        app = QApplication.instance() or QApplication([])
        window = MainWindow(Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)))
        window.resize(1280, 800)
        window.show()
        session = window.session  # the lambda must not hold the window: it is deleted below
        wait_until(app, lambda: session.translator is not None)

        # File, as a first run opens it: the shipped sample dogs, a grid of random cat styles, the second
        # one selected, split view (the default model opens in dog -> cat).
        file_tab = window.file
        wait_until(app, lambda: len(file_tab.thumbs) == file_tab.count.value())
        file_tab.select(1)
        grab(window, file_tab, args.out, "file", app)

        # Live: a clip made from a real dog photo, side by side, with the FPS overlay.
        live = window.live
        window.tabs.setCurrentWidget(live)
        live.set_video(make_video(dogs[3], tmp / "clip.mp4"))
        live.start()
        wait_until(app, lambda: live.frames_shown >= 10)
        grab(window, live, args.out, "live", app)
        live.stop()

        # Mix: typical style, two random draws and a reference cat, handle between them.
        mix = window.mix
        mix.set_image(dogs[0])
        mix.add_typical()
        mix.add_random(seed=1)
        mix.add_random(seed=2)
        mix.add_reference(cats[0])
        wait_until(app, lambda: mix.canvas is not None and len(mix.canvas.anchors) == 4)
        mix.move_handle(0.7, 0.35)
        wait_until(app, lambda: mix.previews_shown > 0 and not mix._preview_busy)
        grab(window, mix, args.out, "mix", app)

        # Batch: a folder of real photos with one corrupt file, paused part-way.
        batch = window.batch
        folder = tmp / "photos"
        folder.mkdir()
        for src in dogs[:40]:
            shutil.copy(src, folder / src.name)
        (folder / "damaged.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(64))
        batch.form.input_dir.setText(str(folder))
        batch.form.output_dir.setText(str(tmp / "translated"))
        job = batch.add_job(batch.form.spec())
        wait_until(app, lambda: batch.failures.rowCount() == 1 and batch.queue.job(job).finished >= 16)
        grab(window, batch, args.out, "batch", app)  # running: progress, speed and ETA shown
        batch.pause(job)
        wait_until(app, lambda: not batch.engine.busy)
        if args.attention_model:
            attention_screens(app, window, args.attention_model, args.data, tmp, args.out)
        if args.clusters_model:
            domains_screen(app, window, args.clusters_model, args.cluster_names, args.data, args.out)

        window.close()
        window.deleteLater()
        app.processEvents()
        del window
    return 0


if __name__ == "__main__":
    sys.exit(main())
