# UperNet + AIM-600M, ADE20K 512x512, 160k iterations.
# Recipe notes: configs/aim/README.md ("Configs").
_base_ = [
    'mmseg::mae/mae-base_upernet_8xb2-amp-160k_ade20k-512x512.py',
    '../_base_/reliable_runtime.py'
]
custom_imports = dict(imports=['visionllama_mm'], allow_failed_imports=False)

checkpoint = 'work_dirs/aim-600m-p14_8xb512-amp-cosine-800e_in1k/weights.pth'
width = 1536
model = dict(
    pretrained=None,  # the base names an MAE ViT file here; ours is in init_cfg
    backbone=dict(
        _delete_=True,
        type='AIM',
        arch='600m',
        img_size=512,
        patch_size=14,
        out_indices=[5, 11, 17, 23],
        out_type='featmap',
        final_norm=False,
        drop_path_rate=0.1,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(embed_dim=width, rescales=[4, 2, 1, 0.5]),
    decode_head=dict(in_channels=[width] * 4, channels=768),
    auxiliary_head=dict(in_channels=width))

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(_delete_=True, layer_decay_rate=0.65, flat_decay_mult=0.0))
