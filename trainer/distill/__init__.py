"""Distillation: a small student of a family learns a trained teacher of the same family (docs/training.md,
"Distillation"). ``hook`` is what each family provides (``TrainingFamily.distill``), ``munit``/``ugatit``/``tunit``
the families' hooks, ``teacher`` reads and freezes the teacher, ``family`` is the generic training step."""
