# UperNet + Pyramid VisionLLaMA-B on ADE20K 512x512, 160k: the S config (the release
# recipe) with arch 'b', drop path 0.2
# (mmseg/configs/twins/twins_svt_lama_as-b_uperhead_8xb2-160k_ade20k-512x512.py).
# Pretrained weights: see the S config.
_base_ = ['./pyramid-visionllama-small_uperhead_8xb2-160k_ade20k-512x512.py']

checkpoint = 'work_dirs/pretrained/pyramid-visionllama-b_in1k.pth'
model = dict(
    backbone=dict(
        arch='b',
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
