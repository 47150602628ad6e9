"""i2i-export: training checkpoints -> verified model bundles (docs/export.md). Needs the train extra."""
