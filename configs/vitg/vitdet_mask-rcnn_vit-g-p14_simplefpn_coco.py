# ViTDet Mask R-CNN + ViT-G/14, COCO, LSJ 1024.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = [
    '../_base_/models/vitdet_mask-rcnn_plain-encoder.py', '../_base_/models/vit-g-p14.py'
]

width = 1664
model = dict(
    backbone=dict(
        _base_.vit_g,
        _delete_=True,
        out_indices=(47, ),
        out_type='featmap',
        featmap_stride=16,
        final_norm=False,
        drop_path_rate=0.4,
        with_cp=True),
    neck=dict(backbone_channel=width, in_channels=[width // 4, width // 2, width, width]))
optim_wrapper = dict(
    dtype='bfloat16', loss_scale=1.0, paramwise_cfg=dict(layer_decay_rate=0.9))
