# Fine-tuning of the MAE-pretrained VisionLLaMA-L on ImageNet-1k, 50 epochs: the B config
# with the L encoder and the release's L settings (mmpretrain's ViT-L recipe): lr 4e-3,
# 50 epochs (5 warmup), drop path 0.2, 8 x 64 images with 2 accumulation steps.
# Recipe notes: configs/mae_visionllama/README.md ("Configs").
_base_ = ['./visionllama-base-p16_8xb128-coslr-100e_in1k.py']

checkpoint = 'work_dirs/mae_visionllama-large-p16_8xb512-amp-coslr-800e_in1k/weights.pth'
model = dict(
    backbone=dict(arch='l-mae', drop_path_rate=0.2, init_cfg=dict(checkpoint=checkpoint)),
    head=dict(in_channels=1024))
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(accumulative_counts=2, optimizer=dict(lr=4e-3))
param_scheduler = _base_.param_scheduler
param_scheduler[1].update(T_max=45, end=50)
train_cfg = dict(max_epochs=50)
