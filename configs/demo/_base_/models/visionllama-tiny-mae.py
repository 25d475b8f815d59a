# The tiny plain VisionLLaMA of the MAE demo chain: mae_visionllama-tiny-p4_demo-shapes.py
# pretrains it on the 32 px demo shapes in patches of 4 (an 8x8 grid) and writes its
# weights; the fine-tuning, UperNet and Mask R-CNN demos load them into the release's
# downstream backbone (configs/mae_visionllama/):
#   backbone=dict(arch=dict(_base_.tiny_mae_arch, _delete_=True), patch_size=4,
#                 init_cfg=dict(checkpoint=_base_.tiny_mae_weights))
tiny_mae_arch = dict(
    embed_dims=64, num_layers=4, num_heads=4, feedforward_channels=192, ffn_bias=True)
tiny_mae_weights = 'work_dirs/mae_visionllama-tiny-p4_demo-shapes/weights.pth'
