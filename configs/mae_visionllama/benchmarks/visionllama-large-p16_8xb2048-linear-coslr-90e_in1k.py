# Linear probe of the MAE-pretrained VisionLLaMA-L on ImageNet-1k, 90 epochs: the B
# config with the L encoder (mmpretrain's ViT-L linear-probe recipe is the ViT-B one).
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = ['./visionllama-base-p16_8xb2048-linear-coslr-90e_in1k.py']

checkpoint = 'work_dirs/mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(arch='l-mae', frozen_stages=24, init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(input_features=1024),
    head=dict(in_channels=1024))
