# UperNet + ViT-G/14, ADE20K 512x512, 160k iterations.
# Recipe notes: configs/vitg/README.md ("Configs").
_base_ = ['../_base_/models/upernet_plain-encoder.py', '../_base_/models/vit-g-p14.py']

width = 1664
model = dict(
    backbone=dict(
        _base_.vit_g,
        _delete_=True,
        out_indices=[11, 23, 35, 47],
        out_type='featmap',
        featmap_stride=16,
        final_norm=False,
        drop_path_rate=0.2,
        with_cp=True),
    neck=dict(embed_dim=width),
    decode_head=dict(in_channels=[width] * 4),
    auxiliary_head=dict(in_channels=width))
optim_wrapper = dict(
    dtype='bfloat16', loss_scale=1.0, paramwise_cfg=dict(layer_decay_rate=0.9))
