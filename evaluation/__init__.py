"""Evaluation of exported bundles (``i2i-eval``): domain classifier, KID/FID, diversity, results grid."""
