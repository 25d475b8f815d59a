# Mask R-CNN + FPN + Pyramid VisionLLaMA-B on COCO, ms-crop-3x: the S config (mmdet's
# recipe) with arch 'b'. Pretrained weights: see
# mask-rcnn_pyramid-visionllama-s_fpn_1x_coco.py.
_base_ = ['./mask-rcnn_pyramid-visionllama-s_fpn_ms-crop-3x_coco.py']

checkpoint = 'visionllama://pyramid-visionllama-b_in1k'
model = dict(
    backbone=dict(arch='b', init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[96, 192, 384, 768]))
