# UperNet + Pyramid VisionLLaMA-L, ADE20K 160k.
# Recipe notes: configs/pyramid_visionllama/README.md ("Configs").
_base_ = ['./pyramid-visionllama-small_uperhead_8xb2-160k_ade20k-512x512.py']

checkpoint = 'visionllama://pyramid-visionllama-l_in1k'
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.3, init_cfg=dict(checkpoint=checkpoint)),
    decode_head=dict(in_channels=[128, 256, 512, 1024]),
    auxiliary_head=dict(in_channels=512))
