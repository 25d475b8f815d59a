# UperNet + MAE-pretrained VisionLLaMA-L, ADE20K 512x512, 160k iterations.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = ['./visionllama-base-mae_upernet_8xb2-amp-160k_ade20k-512x512.py']

checkpoint = 'work_dirs/mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(
        arch='l-mae', out_indices=[7, 11, 15, 23], init_cfg=dict(checkpoint=checkpoint)),
    neck=dict(embed_dim=1024),
    decode_head=dict(in_channels=[1024, 1024, 1024, 1024], channels=1024),
    auxiliary_head=dict(in_channels=1024))
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(accumulative_counts=2)
