# AIM-600M autoregressive pretraining on ImageNet-1k, 800 epochs.
# Recipe notes: configs/aim/README.md ("Configs").
_base_ = [
    '../_base_/models/aim-600m-p14.py',
    'mmpretrain::_base_/datasets/imagenet_bs512_mae.py',
    'mmpretrain::_base_/default_runtime.py', '../_base_/reliable_runtime.py'
]

img_size, patch_size = 224, 14
model = dict(
    type='AIMPretrain',
    backbone=_base_.aim_600m,
    head=dict(
        type='AIMPixelHead',
        in_channels=1536,
        embed_dims=2048,
        num_blocks=12,
        mlp_ratio=4,
        patch_size=patch_size,
        norm_cfg=dict(type='LN', eps=1e-5),  # ml-l3m's head norms (LayerNormFP32)
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    prefix_range=(1, (img_size // patch_size)**2 - 1))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=img_size,
        crop_ratio_range=(0.4, 1.0),
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomApply',
        prob=0.8,
        transforms=[
            dict(
                type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1)
        ]),
    dict(type='PackInputs'),
]
# the base's collate_fn=dict(type='default_collate') breaks when inherited through
# `mmpretrain::` ("default_collate() got an unexpected keyword argument '_scope_'")
train_dataloader = dict(
    batch_size=512,
    drop_last=True,
    collate_fn=dict(_delete_=True, type='default_collate'),
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='bfloat16',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(flat_decay_mult=0.0))

max_epochs = 800
warmup_epochs = 20  # 2.5 %
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
        eta_min=0.0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
custom_hooks = [dict(type='SaveWeightsHook')]  # work_dir/weights.pth, weights only
randomness = dict(seed=0, diff_rank_seed=True)
resume = True
auto_scale_lr = dict(base_batch_size=4096)
