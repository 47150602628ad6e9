"""``i2i models``: the bundles found (shipped and the user's), a full check of one, or installing one."""
from __future__ import annotations

import argparse

from desktop.runtime.bundle import (
    USER_ALIAS,
    Bundle,
    BundleError,
    BundleNameClash,
    find_bundles,
    install_bundle,
    load_bundle,
    model_dirs,
    suggest_free_name,
)
from desktop.runtime.preprocess import model_size
from desktop.runtime.selftest import case_names, read_self_test, run_outputs
from desktop.runtime.translators import Capabilities, capabilities_of, open_translator

HELP = "list the model bundles found, check one (--check PATH) or install one (--install PATH)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", metavar="PATH", help="validate a bundle folder or .i2i file: its graphs, a "
                       "translation in every direction and precision, and the self-test recorded at export")
    group.add_argument("--install", metavar="PATH", help="validate a bundle and copy it into your models folder")
    parser.add_argument("--overwrite", action="store_true",
                        help="with --install: replace a model you installed under the same name (never a shipped one)")
    parser.add_argument("--as", dest="install_as", metavar="NAME", help="with --install: install under this name")


def capability_summary(can: Capabilities) -> str:
    """What the model can do, in a few words: "styles (dim 8: random, reference, typical)", "no style"..."""
    kinds = [name for name, ok in (("random", can.random_styles), ("reference", can.reference_styles),
                                   ("typical", can.typical_style)) if ok]
    words = [f"styles (dim {can.style_dim}: {', '.join(kinds)})" if can.styles else "no style"]
    words += [text for text, ok in (("attention map", can.attention_map),
                                    ("domains are discovered clusters", can.clusters_as_domains)) if ok]
    return ", ".join(words)


def describe(bundle: Bundle) -> list[str]:
    """A few lines about a bundle for the terminal."""
    domains = ", ".join(f"{d.id}={d.name}" for d in bundle.domains)
    directions = ", ".join(f"{d.id} ({d.source}->{d.target})" for d in bundle.directions)
    prov = bundle.provenance
    trained = "UNTRAINED (random weights, placeholder)" if bundle.untrained else \
        f"trained on {prov.get('dataset', '?')} for {prov.get('iterations', '?')} iterations"
    style = capability_summary(capabilities_of(bundle))
    return [
        f"{bundle.name}  [{bundle.family}]  {bundle.title}",
        f"    {trained}",
        f"    domains: {domains}",
        f"    directions: {directions}",
        f"    image: train size {bundle.image.train_size}, sizes {bundle.image.sizes.kind}; {style}; "
        f"precisions: {', '.join(bundle.precisions())}",
        f"    from: {bundle.source}",
    ]


def check_translations(bundle: Bundle) -> list[str]:
    """Open the bundle as ``i2i translate`` does, once per precision, and translate in every direction:
    the recorded self-test when there is one, else the same input without expected values. One line per
    precision; a failure raises the translator's one-line error."""
    lines = []
    for precision in bundle.precisions():
        translator = open_translator(bundle, precision=precision)  # runs the self-test, if recorded
        status = translator.self_test
        if read_self_test(bundle) is None:
            train = bundle.image.train_size
            run_outputs(translator, 0, *model_size(bundle.image, train, train, "fit"))
            status += f"; translated every direction ({len(case_names(bundle))} cases)"
        lines.append(f"    {precision}: {status}")
    return lines


def run(args: argparse.Namespace) -> int:
    if args.check:
        bundle = load_bundle(args.check, check_graphs=True)
        print("\n".join(describe(bundle)))
        print("\n".join(check_translations(bundle)))
        print(f"ok: {args.check} is a valid bundle ({len(bundle.graphs)} graphs, {len(bundle.arrays)} arrays)")
        return 0
    if args.install:
        return install(args)
    if args.overwrite or args.install_as:
        raise BundleError("--overwrite and --as go with --install PATH")
    scan = find_bundles()
    print(f"searched: {', '.join(str(d) for d in model_dirs())}")
    if not scan.bundles:
        print("no usable model bundles found")
    shadowed = USER_ALIAS.format(name="")
    for bundle in scan.bundles:
        print("\n".join(describe(bundle)))
        if bundle.name.endswith(shadowed):
            print(f"    (a shipped model has the name {bundle.name[:-len(shadowed)]!r}: use this one as {bundle.name})")
    for message in scan.errors.values():
        print(f"broken: {message}")
    return 0


def install(args: argparse.Namespace) -> int:
    """``--install PATH [--as NAME] [--overwrite]``; a taken name is one line with what to do instead."""
    try:
        bundle = install_bundle(args.install, overwrite=args.overwrite, rename_to=args.install_as)
    except BundleNameClash as clash:
        hint = f"install it under another name with --as {suggest_free_name(clash.name)}"
        if not clash.shipped:
            hint += ", or replace yours with --overwrite"
        raise BundleError(f"{clash}; {hint}") from None
    print(f"installed {bundle.name} into {bundle.path}")
    return 0
