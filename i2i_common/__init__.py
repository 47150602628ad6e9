"""Small pieces shared by the app, the trainer and the exporter; imports neither torch nor onnxruntime."""
