# AIM autoregressive pretraining of a tiny trunk on the bundled demo shapes
# (data/demo/imagenet, 32x32, 1800 training images; labels unused). On 2 CPU cores:
#   python tools/train.py configs/demo/aim-tiny-p4_pretrain_demo-shapes.py
# The full AIM-600M recipe (configs/aim/) is inherited: prefix-causal trunk with a
# prefix length uniform in [1, N - 1] per sample, residual-MLP pixel head predicting the
# next patch, per-patch normalised MSE on non-prefix targets, AdamW betas (0.9, 0.95),
# wd 0.05, warmup + cosine. Sizes (patch 4: 8x8 = 64 patches), data, learning rate,
# schedule and the fp32 OptimWrapper (AmpOptimWrapper refuses the CPU) are the demo's.
# Writes work_dirs/<config>/weights.pth (SaveWeightsHook).
_base_ = ['../aim/aim-600m-p14_8xb512-amp-cosine-800e_in1k.py']

img_size, patch_size = 32, 4
arch = dict(_delete_=True, embed_dims=64, num_layers=4, num_heads=4)
model = dict(
    backbone=dict(arch=arch, img_size=img_size, patch_size=patch_size),
    head=dict(in_channels=64, embed_dims=96, num_blocks=2, patch_size=patch_size),
    prefix_range=(1, (img_size // patch_size)**2 - 1))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.5, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root='data/demo/imagenet', split='train', pipeline=train_pipeline))

max_epochs, warmup_epochs = 6, 1
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(flat_decay_mult=0.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=warmup_epochs,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=1e-5,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=14),
    checkpoint=dict(type='CheckpointHook', interval=max_epochs, max_keep_ckpts=1))
resume = False
auto_scale_lr = dict(base_batch_size=64)
