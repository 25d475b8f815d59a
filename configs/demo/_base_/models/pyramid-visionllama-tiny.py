# The tiny Pyramid VisionLLaMA of the pyramid demos, trained from scratch: every stage
# has an LSA and a GSA block (a depth-1 stage would only have LSA); windows, sub-sampling
# and AS2DRoPE anchors for the 128 px demo images (32x32, 16x16, 8x8, 4x4 maps). The
# demos put it into the release's backbone (configs/pyramid_visionllama/):
#   backbone=dict(_base_.tiny_pyramid, arch=dict(_base_.tiny_pyramid_arch, _delete_=True))
tiny_pyramid_arch = dict(
    embed_dims=[16, 32, 64, 128],
    depths=[2, 2, 2, 2],
    num_heads=[1, 2, 4, 8],
    feedforward_channels=[64, 96, 192, 384])
tiny_pyramid = dict(
    window_sizes=[8, 8, 4, 4],
    sr_ratios=[8, 4, 2, 1],
    rope_anchor=[32, 16, 8, 4],
    layer_scale_init_value=0.1,
    drop_path_rate=0.0,
    init_cfg=None)
