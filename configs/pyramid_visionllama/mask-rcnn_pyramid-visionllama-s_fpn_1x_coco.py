# Mask R-CNN, FPN, Pyramid VisionLLaMA-S, COCO 1x.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = [
    'mmdet::swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py', '../_base_/reliable_runtime.py',
    '../_base_/no_weight_decay.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'visionllama://pyramid-visionllama-s_in1k'
model = dict(
    backbone=dict(
        _delete_=True,  # the base's Swin dict has keys PyramidVisionLLaMA does not take
        type='PyramidVisionLLaMA',
        arch='s',
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        norm_after_stage=True,
        rope_type='as2d',  # AS2DRoPE anchored at the 14x14 pretraining grid
        gsa_key_coords='official',  # GSA keys / LSA padding as the released code
        lsa_mask_padding=False,
        as2d_scale='height',  # AS2DRoPE as released: x and y both by 14 / H
        drop_path_rate=0.2,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(in_channels=[64, 128, 256, 512]))

# The base exempts names containing 'norm' from weight decay; our blocks call the
# release's norm1/norm2 ln1/ln2: exempt those as well.
optim_wrapper = dict(
    optimizer=dict(lr=1e-4, weight_decay=0.05),
    paramwise_cfg=dict(custom_keys={**_base_.no_weight_decay.norms}))
