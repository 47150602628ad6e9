"""Model bundles (docs/bundle.md): load, validate, extract ``.i2i`` archives, list and install.

Bundles are untrusted input. Everything here reads JSON, hashes files and reads ``.npy`` headers with
``allow_pickle=False``; nothing is unpickled or executed. Errors are :class:`BundleError` with a
one-line message that names the bundle and the problem.

The package's modules, one job each: ``model`` (the dataclasses and constants), ``manifest`` (parsing),
``text`` (sanitising what a bundle says), ``files`` (a folder's files, checksums and arrays), ``archive``
(``.i2i`` extraction) and ``cache`` (its bounded cache), ``session_io`` (graphs against the manifest),
``loader`` (loading by path), ``library`` (the model folders, listing, names) and ``install``.
"""
from __future__ import annotations

from .archive import MAX_ARCHIVE_BYTES
from .files import IGNORED_FILES, sha256_file
from .install import BundleNameClash, install_bundle, suggest_free_name
from .library import USER_ALIAS, BundleScan, find_bundles, model_dirs, resolve_bundle, student_for
from .loader import load_bundle
from .manifest import check_model_name, parse_manifest
from .model import (
    ARCHIVE_SUFFIX,
    MANIFEST,
    PRECISIONS,
    SCHEMA_VERSION,
    ArraySpec,
    Bundle,
    BundleError,
    Direction,
    Domain,
    GraphSpec,
    ImageSpec,
    SizeSpec,
    StyleSpec,
    TensorSpec,
)
from .session_io import check_session_io, verify_graphs

__all__ = [
    "ARCHIVE_SUFFIX", "IGNORED_FILES", "MANIFEST", "MAX_ARCHIVE_BYTES", "PRECISIONS", "SCHEMA_VERSION",
    "USER_ALIAS", "ArraySpec", "Bundle", "BundleError", "BundleNameClash", "BundleScan", "Direction", "Domain",
    "GraphSpec", "ImageSpec", "SizeSpec", "StyleSpec", "TensorSpec", "check_model_name", "check_session_io",
    "find_bundles", "install_bundle", "load_bundle", "model_dirs", "parse_manifest", "resolve_bundle",
    "sha256_file", "student_for", "suggest_free_name", "verify_graphs",
]
