# Mask R-CNN + FPN + Pyramid VisionLLaMA-L on COCO, ms-crop-3x: the S config (mmdet's
# recipe) with arch 'l'. Pretrained weights: see
# mask-rcnn_pyramid-visionllama-s_fpn_1x_coco.py.
_base_ = ['./mask-rcnn_pyramid-visionllama-s_fpn_ms-crop-3x_coco.py']

checkpoint = 'visionllama://pyramid-visionllama-l_in1k'
model = dict(
    backbone=dict(arch='l', init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(in_channels=[128, 256, 512, 1024]))
