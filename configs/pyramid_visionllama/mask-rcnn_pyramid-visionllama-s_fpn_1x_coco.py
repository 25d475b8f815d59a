# Mask R-CNN, FPN, Pyramid VisionLLaMA-S, COCO 1x: mmdet's Swin-T recipe.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py',
    '../_base_/models/pyramid-visionllama.py', '../_base_/reliable_runtime.py',
    '../_base_/no_weight_decay.py'
]

checkpoint = 'visionllama://pyramid-visionllama-s_in1k'
model = dict(
    backbone=dict(
        _base_.pyramid_visionllama,
        _delete_=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))
# The base exempts names containing 'norm' from weight decay; our blocks call the
# release's norm1/norm2 ln1/ln2: exempt those as well.
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={**_base_.no_weight_decay.norms}))
