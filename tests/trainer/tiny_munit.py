"""The config overrides that make MUNIT tiny enough to train in a test (32 px, 8 channels, one thread)."""

TINY_MUNIT = ["model.dim=8", "model.n_res=1", "model.mlp_dim=16", "model.style_n_downsample=2", "model.dis_dim=8",
              "model.dis_n_layer=2", "model.dis_num_scales=2", "data.size=32", "data.load_size=36", "data.workers=0",
              "train.log_every=1", "train.sample_rows=2", "train.sample_styles=2"]
