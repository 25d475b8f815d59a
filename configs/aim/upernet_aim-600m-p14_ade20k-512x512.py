# UperNet + AIM-600M, ADE20K 512x512, 160k iterations.
# Recipe notes: configs/aim/README.md ("Configs").
_base_ = ['../_base_/models/upernet_plain-encoder.py', '../_base_/models/aim-600m-p14.py']

checkpoint = 'work_dirs/aim-600m-p14_8xb512-amp-cosine-800e_in1k/weights.pth'
width = 1536
model = dict(
    backbone=dict(
        _base_.aim_600m,
        _delete_=True,
        img_size=512,
        out_indices=[5, 11, 17, 23],
        out_type='featmap',
        final_norm=False,
        drop_path_rate=0.1,
        with_cp=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(embed_dim=width),
    decode_head=dict(in_channels=[width] * 4),
    auxiliary_head=dict(in_channels=width))
