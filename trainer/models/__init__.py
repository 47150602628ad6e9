"""Model architectures, one module per family (plus shared blocks); no training code."""
