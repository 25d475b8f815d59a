# UperNet + ViT-G/14, ADE20K 512x512, 160k iterations.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = [
    'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py',
    '../_base_/reliable_runtime.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'checkpoints/vit-g-p14_timm2mm.pth'
width = 1664
model = dict(
    pretrained=None,  # the base names an MAE ViT file here; ours is in init_cfg
    backbone=dict(
        _delete_=True,
        type='ViTG',
        arch='G',
        img_size=224,
        patch_size=14,
        out_indices=[11, 23, 35, 47],
        out_type='featmap',
        featmap_stride=16,
        final_norm=False,
        drop_path_rate=0.2,
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(embed_dim=width, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(in_channels=[width] * 4, channels=768),
    auxiliary_head=dict(in_channels=width))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    dtype='bfloat16',
    loss_scale=1.0,
    constructor='LayerDecayOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(layer_decay_rate=0.9, flat_decay_mult=0.0))
