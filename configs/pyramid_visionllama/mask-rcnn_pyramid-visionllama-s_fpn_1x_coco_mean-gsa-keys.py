# Mask R-CNN, FPN, Pyramid VisionLLaMA-S, COCO 1x, corrected GSA keys.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = ['./mask-rcnn_pyramid-visionllama-s_fpn_1x_coco.py']

model = dict(
    backbone=dict(gsa_key_coords='mean', lsa_mask_padding=True, as2d_scale='per_axis'))
