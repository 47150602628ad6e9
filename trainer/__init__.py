"""The PyTorch trainer (``i2i-train``): configs, the family-neutral loop, the families, their data and models."""
