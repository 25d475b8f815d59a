# UperNet + Pyramid VisionLLaMA-B, ADE20K 160k.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = ['./pyramid-visionllama-small_uperhead_8xb2-160k_ade20k-512x512.py']

checkpoint = 'visionllama://pyramid-visionllama-b_in1k'
model = dict(
    backbone=dict(arch='b', init_cfg=dict(checkpoint=checkpoint)),
    decode_head=dict(in_channels=[96, 192, 384, 768]),
    auxiliary_head=dict(in_channels=384))
