# ViTDet Mask R-CNN + ViT-G/14, COCO, LSJ 1024.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = [
    '../mae_visionllama/vitdet/mask-rcnn_visionllama-l-mae_simplefpn_lsj-36e_coco.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'checkpoints/vit-g-p14_timm2mm.pth'
width = 1664
norm_cfg = dict(type='mmpretrain.LN2d', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ViTG',
        arch='G',
        img_size=224,
        patch_size=14,
        out_indices=(47, ),
        out_type='featmap',
        featmap_stride=16,
        final_norm=False,
        drop_path_rate=0.4,
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        backbone_channel=width,
        in_channels=[width // 4, width // 2, width, width],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg))

optim_wrapper = dict(
    dtype='bfloat16',
    loss_scale=1.0,
    paramwise_cfg=dict(layer_decay_rate=0.9, flat_decay_mult=0.0))
